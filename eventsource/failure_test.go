package eventsource

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// A function that fails in the middle of a batch, against moto as Kinesis
// and SQS: the batch is bisected down to the poison record, which is
// retried, then given up on with an on-failure message naming exactly its
// range; every other record is delivered once, in order.
func TestFunctionErrors(t *testing.T) {
	e := newMotoEnv(t)
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		crash   func(ctx context.Context) ([]events.KinesisBatchItemFailure, error)
	}{
		{"returns an error", 0, func(context.Context) ([]events.KinesisBatchItemFailure, error) { return nil, errFunction }},
		{"panics", 0, func(context.Context) ([]events.KinesisBatchItemFailure, error) { panic("poison") }},
		{"times out", 200 * time.Millisecond, func(ctx context.Context) ([]events.KinesisBatchItemFailure, error) {
			<-ctx.Done()
			return nil, nil // a success, but after the timeout: discarded
		}},
	} {
		t.Run("the function "+tc.name+" on a poison record", func(t *testing.T) {
			testBisectedToPoison(t, e, strings.ReplaceAll(tc.name, " ", "-"), tc.timeout, tc.crash)
		})
	}
	for _, tc := range []struct {
		name string
		test func(t *testing.T, e *motoEnv)
	}{
		{"partial failures until the retries run out give up on the rest of the batch", testPartialFailuresExhausted},
		{"without bisecting the whole batch is retried, then given up on, and the shard goes on", testWithoutBisecting},
		{"records older than the maximum record age are given up on", testMaximumRecordAge},
		{"without a destination a batch given up on is logged and dropped", testWithoutDestination},
		{"a missing queue is an error before anything is read", testMissingQueue},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, e) })
	}
}

const shard0 = "shardId-000000000000"

// setup creates a stream and a queue, puts 20 rides with a poison one at
// index 13, and returns the mapping (the template's configuration) with
// its on-failure destination.
func (e *motoEnv) setup(t *testing.T, name string, f *function) (m *Mapping, seqs []string, queueURL string) {
	t.Helper()
	testenv.CreateStream(t, e.c, name, 1)
	data := numbered("ride", 20)
	data[13] = "poison"
	seqs = put(t, e.c, name, byIndex, data...)
	url, arn := testenv.CreateQueue(t, e.q, name+"-on-failure")
	dest, err := NewSQSDestination(context.Background(), e.q, arn)
	require.NoError(t, err)
	require.Equal(t, url, dest.QueueURL)
	m = mapping(t, e.c, name, f)
	m.OnFailure = dest
	return m, seqs, url
}

// failures reads the on-failure messages of queue url once cond holds of
// their bodies.
func (e *motoEnv) failures(t *testing.T, url string, cond func(bodies []string) bool) []FailureRecord {
	t.Helper()
	return failureRecords(t, testenv.ReceiveMessages(t, e.q, url, cond))
}

// poisoned reports whether a batch holds the poison record.
func poisoned(recs []delivery) bool {
	return strings.Contains(fmt.Sprint(recs), "poison")
}

// onPoison is a function's answer: crash on a batch that holds the poison
// record, success on any other.
func onPoison(crash func(ctx context.Context) ([]events.KinesisBatchItemFailure, error)) func(context.Context, int, []delivery) ([]events.KinesisBatchItemFailure, error) {
	return func(ctx context.Context, _ int, recs []delivery) ([]events.KinesisBatchItemFailure, error) {
		if poisoned(recs) {
			return crash(ctx)
		}
		return nil, nil
	}
}

func failWithError(context.Context) ([]events.KinesisBatchItemFailure, error) {
	return nil, errFunction
}

// healthy are the 20 rides but the poison one.
func healthy() []string { return append(numbered("ride", 20)[:13:13], numbered("ride", 20)[14:]...) }

// testBisectedToPoison: a function that crashes (an error, a panic, a
// timeout) on any batch with the poison record.
func testBisectedToPoison(t *testing.T, e *motoEnv, name string, timeout time.Duration, crash func(ctx context.Context) ([]events.KinesisBatchItemFailure, error)) {
	f := &function{answer: onPoison(crash)}
	m, seqs, url := e.setup(t, name, f)
	if timeout > 0 {
		m.FunctionTimeout = timeout
	}
	runUntil(t, m, func() bool { return m.Checkpoints()[shard0] == seqs[19] })

	// 20 → 10 (done) + 10 → 5 + 5 → 3 (done) + 2 → 1 + 1 (done), then
	// the poison alone: 1 invocation and 5 retries; then the last 5.
	assert.Equal(t, []int{20, 10, 10, 5, 3, 2, 1, 1, 1, 1, 1, 1, 1, 5}, f.sizes())
	assert.Equal(t, healthy(), f.doneData(), "every other record once, in order")

	bodies := testenv.ReceiveMessages(t, e.q, url, func(b []string) bool { return len(b) >= 1 })
	require.Len(t, bodies, 1)
	t.Logf("on-failure message: %s", bodies[0])
	assertLambdaShape(t, bodies[0])
	r := failureRecords(t, bodies)[0]
	assert.Equal(t, KinesisBatchInfo{
		ShardID: shard0, StartSequenceNumber: seqs[13], EndSequenceNumber: seqs[13],
		ApproximateArrivalOfFirstRecord: r.KinesisBatchInfo.ApproximateArrivalOfFirstRecord,
		ApproximateArrivalOfLastRecord:  r.KinesisBatchInfo.ApproximateArrivalOfFirstRecord,
		BatchSize:                       1, StreamARN: "arn:aws:kinesis:us-east-1:123456789012:stream/" + name,
	}, r.KinesisBatchInfo, "exactly the poison record")
	assert.Equal(t, ConditionRetries, r.RequestContext.Condition)
	assert.Equal(t, 6, r.RequestContext.ApproximateInvokeCount, "1 invocation + MaximumRetryAttempts 5")
	assert.Equal(t, "arn:aws:lambda:us-east-1:123456789012:function:predict-stream", r.RequestContext.FunctionARN)
	assert.NoError(t, uuid.Validate(r.RequestContext.RequestID))
	assert.Equal(t, f.ids[11], r.RequestContext.RequestID, "the last invocation's request id")
	assert.Equal(t, &ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: "Unhandled"}, r.ResponseContext)
	assert.Equal(t, "1.0", r.Version)
	for _, ts := range []string{r.Timestamp, r.KinesisBatchInfo.ApproximateArrivalOfFirstRecord} {
		_, err := time.Parse(timeFormat, ts)
		assert.NoError(t, err)
	}
}

// testPartialFailuresExhausted: a function that reports the poison record
// as a batch item failure, as the handler reports a record it could not
// write, until the retries run out.
func testPartialFailuresExhausted(t *testing.T, e *motoEnv) {
	var seqs []string
	f := &function{answer: onPoison(func(context.Context) ([]events.KinesisBatchItemFailure, error) {
		return []events.KinesisBatchItemFailure{{ItemIdentifier: seqs[13]}}, nil
	})}
	m, s, url := e.setup(t, "partial-exhausted", f)
	seqs = s
	runUntil(t, m, func() bool { return m.Checkpoints()[shard0] == seqs[19] })
	// A partial failure is not bisected: the batch is cut at the
	// failure, and what is left is retried as one batch.
	assert.Equal(t, []int{20, 7, 7, 7, 7, 7}, f.sizes())
	assert.Equal(t, numbered("ride", 13), f.doneData())
	r := e.failures(t, url, func(b []string) bool { return len(b) >= 1 })
	require.Len(t, r, 1)
	assert.Equal(t, []string{seqs[13], seqs[19]}, []string{r[0].KinesisBatchInfo.StartSequenceNumber, r[0].KinesisBatchInfo.EndSequenceNumber})
	assert.Equal(t, 7, r[0].KinesisBatchInfo.BatchSize)
	assert.Equal(t, 6, r[0].RequestContext.ApproximateInvokeCount)
	assert.Equal(t, &ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST"}, r[0].ResponseContext, "no function error")
}

// testWithoutBisecting: BisectBatchOnFunctionError false, 2 retries.
func testWithoutBisecting(t *testing.T, e *motoEnv) {
	f := &function{answer: onPoison(failWithError)}
	m, seqs, url := e.setup(t, "nobisect", f)
	m.BisectBatchOnFunctionError, m.MaximumRetryAttempts = false, 2
	errc, stop := start(t, m)
	waitFor(t, errc, func() bool { return m.Checkpoints()[shard0] == seqs[19] })
	put(t, e.c, "nobisect", byIndex, "after")
	waitFor(t, errc, func() bool { return len(f.doneData()) == 1 })
	stop()
	assert.Equal(t, []int{20, 20, 20, 1}, f.sizes())
	assert.Equal(t, []string{"after"}, f.doneData())
	r := e.failures(t, url, func(b []string) bool { return len(b) >= 1 })
	require.Len(t, r, 1)
	assert.Equal(t, []string{seqs[0], seqs[19]}, []string{r[0].KinesisBatchInfo.StartSequenceNumber, r[0].KinesisBatchInfo.EndSequenceNumber})
	assert.Equal(t, 20, r[0].KinesisBatchInfo.BatchSize)
	assert.Equal(t, 3, r[0].RequestContext.ApproximateInvokeCount, "1 invocation + MaximumRetryAttempts 2")
}

// testMaximumRecordAge: a function that always fails, retried without
// limit, until the records are older than MaximumRecordAge.
func testMaximumRecordAge(t *testing.T, e *motoEnv) {
	f := &function{answer: func(context.Context, int, []delivery) ([]events.KinesisBatchItemFailure, error) {
		return nil, errFunction
	}}
	m, seqs, url := e.setup(t, "too-old", f)
	// Retried without limit until too old; 300 ms is below Lambda's
	// 60 s minimum, to keep the test short.
	m.BisectBatchOnFunctionError, m.MaximumRetryAttempts, m.MaximumRecordAge = false, -1, 300*time.Millisecond
	runUntil(t, m, func() bool { return m.Checkpoints()[shard0] == seqs[19] })
	failures := e.failures(t, url, func(b []string) bool {
		n := 0
		for _, r := range failureRecords(t, b) {
			n += r.KinesisBatchInfo.BatchSize
		}
		return n == 20
	})
	next := seqs[0]
	for _, r := range failures {
		assert.Equal(t, ConditionRecordAge, r.RequestContext.Condition)
		assert.Equal(t, next, r.KinesisBatchInfo.StartSequenceNumber, "the ranges follow each other")
		next = seqs[min(19, indexOf(seqs, r.KinesisBatchInfo.EndSequenceNumber)+1)]
	}
	assert.Empty(t, f.doneData())
}

// testWithoutDestination: no on-failure destination, no retries.
func testWithoutDestination(t *testing.T, e *motoEnv) {
	f := &function{answer: onPoison(failWithError)}
	m, seqs, _ := e.setup(t, "nodestination", f)
	m.OnFailure, m.MaximumRetryAttempts = nil, 0
	runUntil(t, m, func() bool { return m.Checkpoints()[shard0] == seqs[19] })
	assert.Equal(t, healthy(), f.doneData())
}

// testMissingQueue: NewSQSDestination checks the queue, by ARN or URL.
func testMissingQueue(t *testing.T, e *motoEnv) {
	_, err := NewSQSDestination(context.Background(), e.q, "arn:aws:sqs:us-east-1:123456789012:nope")
	assert.ErrorContains(t, err, "nope")
	_, err = NewSQSDestination(context.Background(), e.q, e.endpoint+"/123456789012/nope")
	assert.ErrorContains(t, err, "nope")
	_, err = NewSQSDestination(context.Background(), e.q, "nope")
	assert.ErrorContains(t, err, "want a queue URL or ARN")
}

func indexOf(seqs []string, seq string) int {
	for i, s := range seqs {
		if s == seq {
			return i
		}
	}
	return -1
}

// assertLambdaShape checks that an on-failure message has the keys of
// Lambda's documented example, in its order, with the same JSON types.
func assertLambdaShape(t *testing.T, body string) {
	t.Helper()
	example, err := os.ReadFile("testdata/kinesis-on-failure-record.json")
	require.NoError(t, err)
	assert.Equal(t, shape(t, string(example)), shape(t, body))
}

// shape lists a JSON object's keys, depth first in document order, each
// with its value's JSON type.
func shape(t *testing.T, doc string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var out []string
	var walk func(prefix string)
	walk = func(prefix string) {
		tok, err := dec.Token()
		require.NoError(t, err)
		if tok != json.Delim('{') {
			out = append(out, fmt.Sprintf("%s %T", prefix, tok))
			return
		}
		for dec.More() {
			key, err := dec.Token()
			require.NoError(t, err)
			walk(prefix + "." + key.(string))
		}
		_, err = dec.Token() // '}'
		require.NoError(t, err)
	}
	walk("")
	return out
}
