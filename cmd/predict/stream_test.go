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

	// A batch the function cannot write (its predictions stream is
	// missing): the handler reports every record, the mapping retries, then
	// records the batch on the -on-failure queue and goes on; Ctrl-C: 0.
	t.Run("a batch given up on goes to the -on-failure queue", func(t *testing.T) {
		testenv.CreateStream(t, c, "ride_events", 1)
		t.Setenv("PREDICTIONS_STREAM_NAME", "nowhere")
		var seqs []string
		for range 3 {
			out, err := c.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String("ride_events"),
				PartitionKey: aws.String("123"), Data: []byte(testRide)})
			require.NoError(t, err)
			seqs = append(seqs, aws.ToString(out.SequenceNumber))
		}
		url, arn := testenv.CreateQueue(t, q, "ride-events-on-failure")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		code, _, stderr := startStream(ctx, "stream", "-poll", "50ms", "-on-failure", arn, "-maximum-retry-attempts", "1", "ride_events")
		bodies := testenv.ReceiveMessages(t, q, url, func(b []string) bool { return len(b) >= 1 })
		cancel()
		assert.Equal(t, 0, exitStatus(t, code), stderr.String())
		require.Len(t, bodies, 1)
		t.Logf("on-failure message: %s", bodies[0])
		var r eventsource.FailureRecord
		require.NoError(t, json.Unmarshal([]byte(bodies[0]), &r))
		assert.Equal(t, eventsource.ConditionRetries, r.RequestContext.Condition)
		assert.Equal(t, 2, r.RequestContext.ApproximateInvokeCount, "1 invocation + 1 retry")
		assert.Equal(t, []string{seqs[0], seqs[2]}, []string{r.KinesisBatchInfo.StartSequenceNumber, r.KinesisBatchInfo.EndSequenceNumber})
		assert.Equal(t, 3, r.KinesisBatchInfo.BatchSize)
		assert.Equal(t, "arn:aws:kinesis:us-east-1:123456789012:stream/ride_events", r.KinesisBatchInfo.StreamARN)
		assert.Equal(t, &eventsource.ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST"}, r.ResponseContext,
			"the handler reports failed records; it does not fail")
		assert.Contains(t, stderr.String(), `"msg":"batch given up on"`)
	})
}
