package handler

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flakyKinesis is a fake, used ONLY for the faults moto cannot produce:
// PutRecords succeeding while failing some entries
// (ProvisionedThroughputExceededException, InternalFailure), as real Kinesis
// does under load. Every write path that works is tested against moto.
type flakyKinesis struct {
	mu sync.Mutex
	// fail returns the error code for an entry of the call-th call, or "".
	fail  func(call int, data string) string
	calls [][]string // each call's entries' data
}

func (f *flakyKinesis) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &kinesis.PutRecordsOutput{}
	var sent []string
	for _, e := range in.Records {
		sent = append(sent, string(e.Data))
		r := types.PutRecordsResultEntry{SequenceNumber: aws.String("1"), ShardId: aws.String("shardId-000000000000")}
		if code := f.fail(len(f.calls), string(e.Data)); code != "" {
			r = types.PutRecordsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String("Rate exceeded for shard shardId-000000000000")}
			out.FailedRecordCount = aws.Int32(aws.ToInt32(out.FailedRecordCount) + 1)
		}
		out.Records = append(out.Records, r)
	}
	f.calls = append(f.calls, sent)
	return out, nil
}

// ride reports whether a prediction event's data is ride id.
func ride(data, id string) bool { return strings.Contains(data, `"ride_id":`+id+"}") }

func TestPartialFailures(t *testing.T) {
	const throttled = "ProvisionedThroughputExceededException"
	ctx := context.Background()
	cfg := func(logs *logLines) Config {
		return Config{PredictionsStream: "p", DeadLetterStream: "dead", Attempts: 3,
			MaxBackoff: time.Millisecond, Logger: logs.logger()}
	}

	t.Run("only the failed entries are resent", func(t *testing.T) {
		f := &flakyKinesis{fail: func(call int, data string) string {
			if call == 0 && (ride(data, "1001") || ride(data, "1003")) {
				return throttled
			}
			return ""
		}}
		var logs logLines
		ev := rides(5)
		resp, err := New(cfg(&logs), tiny("v"), f).Handle(ctx, ev)
		require.NoError(t, err)
		assert.Empty(t, resp.BatchItemFailures)
		require.Len(t, f.calls, 2)
		assert.Len(t, f.calls[0], 5)
		require.Len(t, f.calls[1], 2)
		assert.True(t, ride(f.calls[1][0], "1001") && ride(f.calls[1][1], "1003"), "resent %v", f.calls[1])
		batch := logs.withMsg(t, "batch")[0]
		assert.Equal(t, map[string]any{"written": 5.0, "failed": 0.0, "calls": 2.0, "resent": 2.0, "level": "INFO"},
			pick(batch, "written", "failed", "calls", "resent", "level"))
	})

	t.Run("what still fails is a batch item failure", func(t *testing.T) {
		f := &flakyKinesis{fail: func(call int, data string) string {
			switch {
			case ride(data, "1004"):
				return throttled
			case ride(data, "1002"):
				return "InternalFailure"
			}
			return ""
		}}
		var logs logLines
		ev := rides(6)
		resp, err := New(cfg(&logs), tiny("v"), f).Handle(ctx, ev)
		require.NoError(t, err)
		assert.Len(t, resp.Predictions, 6)
		assert.Equal(t, failures(ev, 2, 4), resp.BatchItemFailures, "sorted: Lambda resumes from the lowest")
		assert.Len(t, f.calls, 3, "bounded: cfg.Attempts calls")
		batch := logs.withMsg(t, "batch")[0]
		assert.Equal(t, "ERROR", batch["level"])
		assert.Equal(t, 2.0, batch["failed"])
		assert.Contains(t, batch["error"], "Rate exceeded")
	})

	t.Run("the function's deadline stops the resends", func(t *testing.T) {
		f := &flakyKinesis{fail: func(int, string) string { return throttled }}
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		var logs logLines
		c := cfg(&logs)
		c.Attempts = 0 // no bound but the deadline
		ev := rides(2)
		resp, err := New(c, tiny("v"), f).Handle(ctx, ev)
		require.NoError(t, err)
		assert.Equal(t, failures(ev, 0, 1), resp.BatchItemFailures)
		assert.Greater(t, len(f.calls), 1)
		assert.Equal(t, true, logs.withMsg(t, "batch")[0]["out_of_time"])
	})

	t.Run("a cancelled invocation writes nothing and reports every record", func(t *testing.T) {
		f := &flakyKinesis{fail: func(int, string) string { return "" }}
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		var logs logLines
		ev := rides(2)
		resp, err := New(cfg(&logs), tiny("v"), f).Handle(ctx, ev)
		require.NoError(t, err)
		assert.Equal(t, failures(ev, 0, 1), resp.BatchItemFailures)
		assert.Empty(t, f.calls)
	})

	t.Run("a dead letter not written is a batch item failure", func(t *testing.T) {
		f := &flakyKinesis{fail: func(_ int, data string) string {
			if strings.Contains(data, `"reason"`) {
				return throttled
			}
			return ""
		}}
		var logs logLines
		ev := kinesisEvent(rideRecord(0), []byte("not json"), rideRecord(2))
		resp, err := New(cfg(&logs), tiny("v"), f).Handle(ctx, ev)
		require.NoError(t, err)
		assert.Equal(t, failures(ev, 1), resp.BatchItemFailures)
		batch := logs.withMsg(t, "batch")[0]
		assert.Equal(t, map[string]any{"written": 2.0, "dead_lettered": 0.0, "dead_letter_failed": 1.0, "level": "ERROR"},
			pick(batch, "written", "dead_lettered", "dead_letter_failed", "level"))
	})
}
