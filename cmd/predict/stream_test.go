package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/eventsource"
	"github.com/rideduration/rideduration/internal/faultproxy"
	"github.com/rideduration/rideduration/internal/testenv"
)

const testRide = `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`

// streamEnv points the SDK at endpoint and gives the function its default
// configuration, predictions going to predictions.
func streamEnv(t *testing.T, endpoint, predictions string) {
	for _, kv := range testenv.AWSEnv(endpoint) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("PREDICTIONS_STREAM_NAME", predictions)
	t.Setenv("RUN_ID", "")
	t.Setenv("TEST_RUN", "")
	t.Setenv("DEAD_LETTER_STREAM_NAME", "")
}

// lockedBuffer is a buffer the running command writes while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startStream runs `predict ARGS` in process until ctx ends or it stops by
// itself; the exit status comes on the channel.
func startStream(ctx context.Context, args ...string) (code chan int, stdout, stderr *lockedBuffer) {
	code, stdout, stderr = make(chan int, 1), &lockedBuffer{}, &lockedBuffer{}
	go func() { code <- run(ctx, args, strings.NewReader(""), stdout, stderr) }()
	return code, stdout, stderr
}

// exitStatus waits for the command to stop by itself (a generous bound
// against a hang, not a timing assertion).
func exitStatus(t *testing.T, code chan int) int {
	t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(2 * time.Minute):
		t.Fatal("predict stream did not stop")
		return -1
	}
}

// The exit status of `predict stream`: 0 after Ctrl-C, 1 on a fatal error
// (the stream or the on-failure queue missing, the stream deleted while it
// runs), 2 for a configuration Lambda would refuse. It does not stop when
// every shard is closed: closed shards have children, and closed shards
// without children only happen while the stream is being deleted.
func TestStreamExitStatus(t *testing.T) {
	endpoint := testenv.Moto(t)
	c, q := testenv.Kinesis(t, endpoint), testenv.SQS(t, endpoint)
	testenv.CreateStream(t, c, "ride_prediction", 1)
	streamEnv(t, endpoint, "ride_prediction")

	t.Run("a stream deleted under it: 1", func(t *testing.T) {
		testenv.CreateStream(t, c, "doomed", 1)
		_, err := c.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String("doomed"),
			PartitionKey: aws.String("123"), Data: []byte(testRide)})
		require.NoError(t, err)
		code, stdout, stderr := startStream(context.Background(), "stream", "-poll", "50ms", "doomed")
		waitFor(t, func() bool { return strings.Contains(stdout.String(), `"ride_id":123`) })
		_, err = c.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String("doomed")})
		require.NoError(t, err)
		assert.Equal(t, 1, exitStatus(t, code), stderr.String())
		assert.Contains(t, stderr.String(), "ResourceNotFoundException")
	})

	t.Run("a missing stream: 1", func(t *testing.T) {
		code, _, stderr := startStream(context.Background(), "stream", "nope")
		assert.Equal(t, 1, exitStatus(t, code))
		assert.Contains(t, stderr.String(), "predict: stream nope: ")
	})

	t.Run("a missing on-failure queue: 1", func(t *testing.T) {
		testenv.CreateStream(t, c, "noqueue", 1)
		code, _, stderr := startStream(context.Background(), "stream", "-on-failure", "arn:aws:sqs:us-east-1:123456789012:nope", "noqueue")
		assert.Equal(t, 1, exitStatus(t, code))
		assert.Contains(t, stderr.String(), "on-failure queue arn:aws:sqs:us-east-1:123456789012:nope")
	})

	// The streams the function writes are checked before anything is read:
	// a wrong name would fail every ride, retried and given up on.
	t.Run("a missing predictions stream: 1", func(t *testing.T) {
		testenv.CreateStream(t, c, "rides", 1)
		t.Setenv("PREDICTIONS_STREAM_NAME", "nowhere")
		code, stdout, stderr := startStream(context.Background(), "stream", "rides")
		assert.Equal(t, 1, exitStatus(t, code))
		assert.Contains(t, stderr.String(), `predict: PREDICTIONS_STREAM_NAME=nowhere: no stream "nowhere" at `+endpoint+`: `+
			"create it, or set PREDICTIONS_STREAM_NAME to the stream the predictions go to (TEST_RUN=True writes none)")
		assert.Empty(t, stdout.String())
	})

	t.Run("PREDICTIONS_STREAM_NAME unset and no ride_prediction: 1", func(t *testing.T) {
		other := testenv.Moto(t) // no stream at all
		streamEnv(t, other, "")
		testenv.CreateStream(t, testenv.Kinesis(t, other), "rides", 1)
		code, _, stderr := startStream(context.Background(), "stream", "rides")
		assert.Equal(t, 1, exitStatus(t, code))
		assert.Contains(t, stderr.String(), `predict: PREDICTIONS_STREAM_NAME is unset: no stream "ride_prediction" (its default) at `+other)
	})

	t.Run("a missing dead-letter stream: 1", func(t *testing.T) {
		t.Setenv("DEAD_LETTER_STREAM_NAME", "nodead")
		code, _, stderr := startStream(context.Background(), "stream", "rides")
		assert.Equal(t, 1, exitStatus(t, code))
		assert.Contains(t, stderr.String(), `predict: DEAD_LETTER_STREAM_NAME=nodead: no stream "nodead" at `+endpoint+`: `+
			"create it, or set DEAD_LETTER_STREAM_NAME to the stream bad records go to (unset: they are only logged)")
	})

	t.Run("a configuration Lambda refuses: 2", func(t *testing.T) {
		for _, args := range [][]string{
			{"-maximum-record-age-in-seconds", "59"}, {"-maximum-record-age-in-seconds", "604801"},
			{"-maximum-retry-attempts", "-2"}, {"-maximum-retry-attempts", "10001"},
			{"-batch-size", "10001"}, {"-function-timeout", "0s"},
		} {
			code, _, stderr := startStream(context.Background(), append(append([]string{"stream"}, args...), "ride_events")...)
			assert.Equal(t, 2, exitStatus(t, code), "%v", args)
			assert.Contains(t, stderr.String(), "predict: ", "%v", args)
		}
	})

	// A batch the function cannot write (its predictions stream deleted
	// after the start): the handler reports every record, the mapping
	// retries, then records the batch on the -on-failure queue and goes on;
	// nothing is printed, as nothing was written; Ctrl-C: 0.
	t.Run("a batch given up on goes to the -on-failure queue", func(t *testing.T) {
		testenv.CreateStream(t, c, "ride_events", 1)
		testenv.CreateStream(t, c, "doomed_predictions", 1)
		t.Setenv("PREDICTIONS_STREAM_NAME", "doomed_predictions")
		url, arn := testenv.CreateQueue(t, q, "ride-events-on-failure")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		code, stdout, stderr := startStream(ctx, "stream", "-poll", "50ms", "-on-failure", arn, "-maximum-retry-attempts", "1", "ride_events")
		waitFor(t, func() bool { return strings.Contains(stderr.String(), `"msg":"reading shard"`) })
		_, err := c.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String("doomed_predictions")})
		require.NoError(t, err)
		var seqs []string
		for range 3 {
			out, err := c.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String("ride_events"),
				PartitionKey: aws.String("123"), Data: []byte(testRide)})
			require.NoError(t, err)
			seqs = append(seqs, aws.ToString(out.SequenceNumber))
		}
		// The rides arrive while the mapping polls: one batch or more.
		var records []eventsource.FailureRecord
		testenv.ReceiveMessages(t, q, url, func(bodies []string) bool {
			records = records[:0]
			n := 0
			for _, b := range bodies {
				var r eventsource.FailureRecord
				require.NoError(t, json.Unmarshal([]byte(b), &r))
				records = append(records, r)
				n += r.KinesisBatchInfo.BatchSize
			}
			return n >= len(seqs)
		})
		cancel()
		assert.Equal(t, 0, exitStatus(t, code), stderr.String())
		assert.Empty(t, stdout.String(), "no prediction event was written")
		t.Logf("on-failure records: %+v", records)
		next := 0
		for _, r := range records {
			assert.Equal(t, eventsource.ConditionRetries, r.RequestContext.Condition)
			assert.Equal(t, 2, r.RequestContext.ApproximateInvokeCount, "1 invocation + 1 retry")
			assert.Equal(t, seqs[next], r.KinesisBatchInfo.StartSequenceNumber, "the batches follow each other")
			next += r.KinesisBatchInfo.BatchSize
			assert.Equal(t, seqs[next-1], r.KinesisBatchInfo.EndSequenceNumber)
			assert.Equal(t, "arn:aws:kinesis:us-east-1:123456789012:stream/ride_events", r.KinesisBatchInfo.StreamARN)
			assert.Equal(t, &eventsource.ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST"}, r.ResponseContext,
				"the handler reports failed records; it does not fail")
		}
		assert.Equal(t, len(seqs), next, "every ride given up on once")
		assert.Contains(t, stderr.String(), `"msg":"batch given up on"`)
	})
}

// What `predict stream` prints on stdout: each prediction event the
// predictions stream acknowledged, once per write; with TEST_RUN=True, which
// writes nothing (and needs no stream), the function's predictions.
func TestStreamOutput(t *testing.T) {
	endpoint := testenv.Moto(t)
	c := testenv.Kinesis(t, endpoint)

	t.Run("TEST_RUN=True: the function's predictions, no stream written", func(t *testing.T) {
		streamEnv(t, endpoint, "nowhere")
		t.Setenv("TEST_RUN", "True")
		testenv.CreateStream(t, c, "testrun_rides", 1)
		put(t, c, "testrun_rides", testRide)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		code, stdout, stderr := startStream(ctx, "stream", "-poll", "50ms", "testrun_rides")
		waitFor(t, func() bool { return strings.Contains(stdout.String(), "\n") })
		cancel()
		assert.Equal(t, 0, exitStatus(t, code), stderr.String())
		assert.Equal(t, 1, strings.Count(stdout.String(), `"ride_id":123`), stdout.String())
	})

	// Every PutRecords entry fails until the mapping has retried the batch
	// once; then writes succeed. The proxy fails the entries: moto never
	// does.
	t.Run("only what was written, once per write", func(t *testing.T) {
		proxy := faultproxy.Start(t, endpoint, 1)
		streamEnv(t, proxy.URL, "written_predictions")
		testenv.CreateStream(t, c, "written_rides", 1)
		testenv.CreateStream(t, c, "written_predictions", 1)
		rides := []string{
			`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 1}`,
			`{"ride": {"PULocationID": 43, "DOLocationID": 238, "trip_distance": 1.16}, "ride_id": 2}`,
			`{"ride": {"PULocationID": 74, "DOLocationID": 75, "trip_distance": 0.8}, "ride_id": 3}`,
		}
		put(t, c, "written_rides", rides...)
		proxy.Set("PutRecords", faultproxy.Faults{EntryFailure: 1})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		code, stdout, stderr := startStream(ctx, "stream", "-poll", "50ms", "-function-timeout", "2s", "written_rides")
		waitFor(t, func() bool { return strings.Contains(stderr.String(), `"msg":"retrying"`) })
		proxy.Set("PutRecords", faultproxy.Faults{})
		waitFor(t, func() bool { return len(testenv.ReadStream(t, c, "written_predictions")) >= len(rides) })
		cancel()
		assert.Equal(t, 0, exitStatus(t, code), stderr.String())

		written := map[string]int{}
		for _, r := range testenv.ReadStream(t, c, "written_predictions") {
			written[string(r.Data)]++
		}
		printed := map[string]int{}
		for _, line := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
			printed[line]++
		}
		require.Len(t, written, len(rides), "each ride's prediction written")
		for event, n := range printed {
			assert.LessOrEqual(t, n, written[event], "printed %d times, written %d times: %s", n, written[event], event)
		}
		for event := range written {
			assert.Positive(t, printed[event], "written, not printed: %s", event)
		}
	})
}

// `predict stream` says once, in its JSON log, when it has caught up: every
// shard read to its newest record, and every record read done.
func TestStreamCaughtUp(t *testing.T) {
	endpoint := testenv.Moto(t)
	c := testenv.Kinesis(t, endpoint)
	testenv.CreateStream(t, c, "ride_prediction", 1)
	testenv.CreateStream(t, c, "caughtup_rides", 2)
	streamEnv(t, endpoint, "ride_prediction")
	for range 5 {
		put(t, c, "caughtup_rides", testRide)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code, stdout, stderr := startStream(ctx, "stream", "-poll", "50ms", "caughtup_rides")
	waitFor(t, func() bool { return strings.Contains(stderr.String(), `"msg":"caught up"`) })
	assert.Equal(t, 5, strings.Count(stdout.String(), "\n"), "every ride done before")
	put(t, c, "caughtup_rides", testRide)
	waitFor(t, func() bool { return strings.Count(stdout.String(), "\n") == 6 })
	cancel()
	assert.Equal(t, 0, exitStatus(t, code), stderr.String())
	assert.Equal(t, 1, strings.Count(stderr.String(), `"msg":"caught up"`), stderr.String())
	assert.Regexp(t, `"msg":"caught up","stream":"caughtup_rides","shards":2,`, stderr.String())
}

// put puts each ride on stream, one call at a time (moto gives concurrent
// writes one sequence number).
func put(t *testing.T, c *kinesis.Client, stream string, rides ...string) {
	t.Helper()
	for _, r := range rides {
		_, err := c.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String(stream),
			PartitionKey: aws.String("1"), Data: []byte(r)})
		require.NoError(t, err)
	}
}
