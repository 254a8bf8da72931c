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
	endpoint := testenv.Moto(t)
	c, q := testenv.Kinesis(t, endpoint), testenv.SQS(t, endpoint)
	const shard0 = "shardId-000000000000"

	// setup creates a stream and a queue, puts 20 rides with a poison one
	// at index 13, and returns the mapping (the template's configuration)
	// with its on-failure destination.
	setup := func(t *testing.T, name string, f *function) (m *Mapping, seqs []string, queueURL string) {
		testenv.CreateStream(t, c, name, 1)
		data := numbered("ride", 20)
		data[13] = "poison"
		seqs = put(t, c, name, byIndex, data...)
		url, arn := testenv.CreateQueue(t, q, name+"-on-failure")
		dest, err := NewSQSDestination(context.Background(), q, arn)
		require.NoError(t, err)
		require.Equal(t, url, dest.QueueURL)
		m = mapping(t, c, name, f)
		m.OnFailure = dest
		return m, seqs, url
	}
	poisoned := func(recs []delivery) bool {
		return strings.Contains(fmt.Sprint(recs), "poison")
	}
	healthy := append(numbered("ride", 20)[:13:13], numbered("ride", 20)[14:]...)

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
			f := &function{answer: func(ctx context.Context, _ int, recs []delivery) ([]events.KinesisBatchItemFailure, error) {
				if poisoned(recs) {
					return tc.crash(ctx)
				}
				return nil, nil
			}}
			name := strings.ReplaceAll(tc.name, " ", "-")
			m, seqs, url := setup(t, name, f)
			if tc.timeout > 0 {
				m.FunctionTimeout = tc.timeout
			}
			runUntil(t, m, func() bool { return m.Checkpoints()[shard0] == seqs[19] })

			// 20 → 10 (done) + 10 → 5 + 5 → 3 (done) + 2 → 1 + 1 (done), then
			// the poison alone: 1 invocation and 5 retries; then the last 5.
			assert.Equal(t, []int{20, 10, 10, 5, 3, 2, 1, 1, 1, 1, 1, 1, 1, 5}, f.sizes())
			assert.Equal(t, healthy, f.doneData(), "every other record once, in order")

			bodies := testenv.ReceiveMessages(t, q, url, func(b []string) bool { return len(b) >= 1 })
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
		})
	}

	t.Run("partial failures until the retries run out give up on the rest of the batch", func(t *testing.T) {
		var seqs []string
		f := &function{answer: func(_ context.Context, _ int, recs []delivery) ([]events.KinesisBatchItemFailure, error) {
			if poisoned(recs) { // as the handler reports a record it could not write
				return []events.KinesisBatchItemFailure{{ItemIdentifier: seqs[13]}}, nil
			}
			return nil, nil
		}}
		m, s, url := setup(t, "partial-exhausted", f)
		seqs = s
		runUntil(t, m, func() bool { return m.Checkpoints()[shard0] == seqs[19] })
		// A partial failure is not bisected: the batch is cut at the
		// failure, and what is left is retried as one batch.
		assert.Equal(t, []int{20, 7, 7, 7, 7, 7}, f.sizes())
		assert.Equal(t, numbered("ride", 13), f.doneData())
		r := failureRecords(t, testenv.ReceiveMessages(t, q, url, func(b []string) bool { return len(b) >= 1 }))
		require.Len(t, r, 1)
		assert.Equal(t, []string{seqs[13], seqs[19]}, []string{r[0].KinesisBatchInfo.StartSequenceNumber, r[0].KinesisBatchInfo.EndSequenceNumber})
		assert.Equal(t, 7, r[0].KinesisBatchInfo.BatchSize)
		assert.Equal(t, 6, r[0].RequestContext.ApproximateInvokeCount)
		assert.Equal(t, &ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST"}, r[0].ResponseContext, "no function error")
	})

	t.Run("without bisecting the whole batch is retried, then given up on, and the shard goes on", func(t *testing.T) {
		f := &function{answer: func(_ context.Context, _ int, recs []delivery) ([]events.KinesisBatchItemFailure, error) {
			if poisoned(recs) {
				return nil, errFunction
			}
			return nil, nil
		}}
		m, seqs, url := setup(t, "nobisect", f)
		m.BisectBatchOnFunctionError, m.MaximumRetryAttempts = false, 2
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- m.Run(ctx) }()
		waitFor(t, errc, func() bool { return m.Checkpoints()[shard0] == seqs[19] })
		put(t, c, "nobisect", byIndex, "after")
		waitFor(t, errc, func() bool { return len(f.doneData()) == 1 })
		cancel()
		require.NoError(t, <-errc)
		assert.Equal(t, []int{20, 20, 20, 1}, f.sizes())
		assert.Equal(t, []string{"after"}, f.doneData())
		r := failureRecords(t, testenv.ReceiveMessages(t, q, url, func(b []string) bool { return len(b) >= 1 }))
		require.Len(t, r, 1)
		assert.Equal(t, []string{seqs[0], seqs[19]}, []string{r[0].KinesisBatchInfo.StartSequenceNumber, r[0].KinesisBatchInfo.EndSequenceNumber})
		assert.Equal(t, 20, r[0].KinesisBatchInfo.BatchSize)
		assert.Equal(t, 3, r[0].RequestContext.ApproximateInvokeCount, "1 invocation + MaximumRetryAttempts 2")
	})

	t.Run("records older than the maximum record age are given up on", func(t *testing.T) {
		f := &function{answer: func(context.Context, int, []delivery) ([]events.KinesisBatchItemFailure, error) {
			return nil, errFunction
		}}
		m, seqs, url := setup(t, "too-old", f)
		// Retried without limit until too old; 300 ms is below Lambda's
		// 60 s minimum, to keep the test short.
		m.BisectBatchOnFunctionError, m.MaximumRetryAttempts, m.MaximumRecordAge = false, -1, 300*time.Millisecond
		runUntil(t, m, func() bool { return m.Checkpoints()[shard0] == seqs[19] })
		bodies := testenv.ReceiveMessages(t, q, url, func(b []string) bool {
			n := 0
			for _, r := range failureRecords(t, b) {
				n += r.KinesisBatchInfo.BatchSize
			}
			return n == 20
		})
		next := seqs[0]
		for _, r := range failureRecords(t, bodies) {
			assert.Equal(t, ConditionRecordAge, r.RequestContext.Condition)
			assert.Equal(t, next, r.KinesisBatchInfo.StartSequenceNumber, "the ranges follow each other")
			next = seqs[min(19, indexOf(seqs, r.KinesisBatchInfo.EndSequenceNumber)+1)]
		}
		assert.Empty(t, f.doneData())
	})

	t.Run("without a destination a batch given up on is logged and dropped", func(t *testing.T) {
		f := &function{answer: func(_ context.Context, _ int, recs []delivery) ([]events.KinesisBatchItemFailure, error) {
			if poisoned(recs) {
				return nil, errFunction
			}
			return nil, nil
		}}
		m, seqs, _ := setup(t, "nodestination", f)
		m.OnFailure, m.MaximumRetryAttempts = nil, 0
		runUntil(t, m, func() bool { return m.Checkpoints()[shard0] == seqs[19] })
		assert.Equal(t, healthy, f.doneData())
	})

	t.Run("a missing queue is an error before anything is read", func(t *testing.T) {
		_, err := NewSQSDestination(context.Background(), q, "arn:aws:sqs:us-east-1:123456789012:nope")
		assert.ErrorContains(t, err, "nope")
		_, err = NewSQSDestination(context.Background(), q, endpoint+"/123456789012/nope")
		assert.ErrorContains(t, err, "nope")
		_, err = NewSQSDestination(context.Background(), q, "nope")
		assert.ErrorContains(t, err, "want a queue URL or ARN")
	})
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
