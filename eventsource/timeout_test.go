package eventsource

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/stretchr/testify/assert"

	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/putrecords"
)

// serialWriter makes one PutRecords call at a time: moto gives concurrent
// writes to a shard the same sequence number, and these tests count the
// records written.
type serialWriter struct {
	mu sync.Mutex
	putrecords.API
}

func (w *serialWriter) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, o ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.API.PutRecords(ctx, in, o...)
}

// writeOne writes data to stream through w, as the function writes its
// predictions.
func writeOne(ctx context.Context, w putrecords.API, stream, data string) error {
	out, err := w.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream),
		Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String("1"), Data: []byte(data)}}})
	if err == nil && aws.ToInt32(out.FailedRecordCount) > 0 {
		err = errors.New(aws.ToString(out.Records[0].ErrorMessage))
	}
	return err
}

// An invocation that runs past the function's timeout is ended there, as
// Lambda ends it: its context is cancelled, and nothing it writes from then
// on reaches the stream, whether or not it heeds its context; the batch is
// retried once it has returned (or its grace period is over).
func TestTimedOutInvocation(t *testing.T) {
	endpoint := testenv.Moto(t)
	c := testenv.Kinesis(t, endpoint)
	const shard0 = "shardId-000000000000"

	t.Run("a handler that ignores its context writes nothing after the timeout", func(t *testing.T) {
		testenv.CreateStream(t, c, "ignores", 1)
		testenv.CreateStream(t, c, "ignores-out", 1)
		seqs := put(t, c, "ignores", byIndex, "ride 0")
		w := Fenced(&serialWriter{API: c})
		retried := make(chan struct{})
		late := make(chan error, 1)
		f := &function{answer: func(ctx context.Context, call int, _ []delivery) ([]events.KinesisBatchItemFailure, error) {
			if call > 0 {
				defer close(retried)
				return nil, writeOne(ctx, w, "ignores-out", "retry")
			}
			// Past the timeout, and past the retry's write, without
			// looking at its context, it writes with a context that
			// cannot be cancelled.
			<-retried
			late <- writeOne(context.WithoutCancel(ctx), w, "ignores-out", "abandoned")
			return nil, nil
		}}
		m := mapping(t, c, "ignores", f)
		m.FunctionTimeout, m.Grace = 200*time.Millisecond, 50*time.Millisecond
		runUntil(t, m, func() bool { return m.Checkpoints()[shard0] == seqs[0] })
		var err error
		select {
		case err = <-late:
		case <-time.After(60 * time.Second): // catches a hang only
			t.Fatal("the abandoned invocation never wrote")
		}
		assert.ErrorIs(t, err, ErrInvocationEnded)
		assert.Equal(t, []int{1, 1}, f.sizes())
		assert.Equal(t, []string{"retry"}, testenv.ReadStreamData(t, c, "ignores-out"), "the retry's write only")
	})

	t.Run("a handler that honours its context is cancelled at the timeout, and retried once it returned", func(t *testing.T) {
		testenv.CreateStream(t, c, "honours", 1)
		testenv.CreateStream(t, c, "honours-out", 1)
		seqs := put(t, c, "honours", byIndex, "ride 0")
		w := Fenced(&serialWriter{API: c})
		var returned atomic.Bool
		cancelled := make(chan error, 1)
		retriedAfterReturn := make(chan bool, 1)
		f := &function{answer: func(ctx context.Context, call int, _ []delivery) ([]events.KinesisBatchItemFailure, error) {
			if call > 0 {
				retriedAfterReturn <- returned.Load()
				return nil, writeOne(ctx, w, "honours-out", "retry")
			}
			<-ctx.Done()
			cancelled <- ctx.Err()
			// It winds down, as a handler does once cancelled: its
			// write fails on the cancelled context.
			time.Sleep(100 * time.Millisecond)
			err := writeOne(ctx, w, "honours-out", "abandoned")
			returned.Store(true)
			return nil, err
		}}
		m := mapping(t, c, "honours", f)
		m.FunctionTimeout, m.Grace = 200*time.Millisecond, time.Minute
		runUntil(t, m, func() bool { return m.Checkpoints()[shard0] == seqs[0] })
		err := <-cancelled
		assert.True(t, errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled), "%v", err)
		assert.True(t, <-retriedAfterReturn, "the retry came after the timed-out invocation returned")
		assert.Equal(t, []int{1, 1}, f.sizes())
		assert.Equal(t, []string{"retry"}, testenv.ReadStreamData(t, c, "honours-out"))
	})

	t.Run("a write outside any invocation is refused", func(t *testing.T) {
		testenv.CreateStream(t, c, "outside-out", 1)
		w := Fenced(&serialWriter{API: c})
		assert.ErrorIs(t, writeOne(context.Background(), w, "outside-out", "stray"), ErrNoInvocation)
		assert.Empty(t, testenv.ReadStreamData(t, c, "outside-out"))
	})
}
