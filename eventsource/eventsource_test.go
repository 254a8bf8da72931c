package eventsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// recorder is a handler that records what it was given and fails as told.
type recorder struct {
	mu      sync.Mutex
	batches []events.KinesisEvent
	seen    map[string]int // data → deliveries
	fail    func(ev events.KinesisEvent, call int) ([]events.KinesisBatchItemFailure, error)
	done    chan struct{}
	want    int // distinct records after which done is closed
}

func newRecorder(want int) *recorder {
	return &recorder{seen: map[string]int{}, done: make(chan struct{}), want: want}
}

func (r *recorder) handle(_ context.Context, ev events.KinesisEvent) ([]events.KinesisBatchItemFailure, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, ev)
	if r.fail != nil {
		if f, err := r.fail(ev, len(r.batches)-1); f != nil || err != nil {
			return f, err
		}
	}
	for _, rec := range ev.Records {
		r.seen[string(rec.Kinesis.Data)]++
	}
	if len(r.seen) == r.want {
		close(r.done)
	}
	return nil, nil
}

// mapping runs m until the recorder has seen every record, then stops it
// as Ctrl-C would, and checks that it stopped cleanly.
func runUntilDone(t *testing.T, m *Mapping, r *recorder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx) }()
	select {
	case <-r.done:
	case err := <-errc:
		t.Fatalf("mapping stopped early: %v", err)
	case <-time.After(60 * time.Second): // a bound, not a timed assertion
		t.Fatal("records not delivered")
	}
	cancel()
	require.NoError(t, <-errc)
}

func put(t *testing.T, c *kinesis.Client, stream string, n int) []string {
	t.Helper()
	var seqs []string
	for i := range n {
		out, err := c.PutRecord(context.Background(), &kinesis.PutRecordInput{
			StreamName: aws.String(stream), PartitionKey: aws.String(fmt.Sprint(i)), Data: fmt.Appendf(nil, "record %d", i)})
		require.NoError(t, err)
		seqs = append(seqs, aws.ToString(out.SequenceNumber))
	}
	return seqs
}

func quiet() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

func TestMapping(t *testing.T) {
	c := testenv.Kinesis(t, testenv.Moto(t))

	t.Run("every shard, in batches, in order", func(t *testing.T) {
		testenv.CreateStream(t, c, "all", 2)
		put(t, c, "all", 250)
		r := newRecorder(250)
		m := &Mapping{Client: c, Stream: "all", Handler: r.handle, BatchSize: 40, Poll: 10 * time.Millisecond, Region: "us-east-1", Logger: quiet()}
		runUntilDone(t, m, r)

		last := map[string]string{}
		for _, ev := range r.batches {
			require.LessOrEqual(t, len(ev.Records), 40)
			for _, rec := range ev.Records {
				shard := rec.EventID[:len(rec.EventID)-len(rec.Kinesis.SequenceNumber)-1]
				assert.Equal(t, shard+":"+rec.Kinesis.SequenceNumber, rec.EventID)
				assert.Equal(t, "aws:kinesis", rec.EventSource)
				assert.Contains(t, rec.EventSourceArn, ":stream/all")
				assert.Equal(t, "us-east-1", rec.AwsRegion)
				if prev, ok := last[shard]; ok {
					assert.True(t, less(prev, rec.Kinesis.SequenceNumber), "shard %s out of order", shard)
				}
				last[shard] = rec.Kinesis.SequenceNumber
			}
		}
		assert.Len(t, last, 2, "both shards polled")
		for _, n := range r.seen {
			assert.Equal(t, 1, n, "delivered once")
		}
		assert.Equal(t, last, m.Checkpoints())
	})

	t.Run("re-delivers from the lowest batch item failure", func(t *testing.T) {
		testenv.CreateStream(t, c, "partial", 1)
		seqs := put(t, c, "partial", 10)
		r := newRecorder(7) // counts the records of successful invocations: 3 to 9
		r.fail = func(ev events.KinesisEvent, call int) ([]events.KinesisBatchItemFailure, error) {
			if call == 0 { // records 3 and 7 fail once
				return []events.KinesisBatchItemFailure{{ItemIdentifier: seqs[7]}, {ItemIdentifier: seqs[3]}}, nil
			}
			if call == 1 {
				return nil, errors.New("function error") // the whole batch again
			}
			return nil, nil
		}
		m := &Mapping{Client: c, Stream: "partial", Handler: r.handle, Poll: 10 * time.Millisecond, Logger: quiet()}
		runUntilDone(t, m, r)
		require.GreaterOrEqual(t, len(r.batches), 3)
		assert.Len(t, r.batches[0].Records, 10)
		assert.Equal(t, seqs[3:], sequenceNumbers(r.batches[1]), "from the lowest failure on")
		assert.Equal(t, seqs[3:], sequenceNumbers(r.batches[2]), "a function error re-delivers the batch")
		assert.Equal(t, map[string]string{"shardId-000000000000": seqs[9]}, m.Checkpoints())
	})

	t.Run("LATEST skips what was there", func(t *testing.T) {
		testenv.CreateStream(t, c, "latest", 1)
		put(t, c, "latest", 5)
		r := newRecorder(3)
		reading := &signalReads{KinesisAPI: c, first: make(chan struct{})}
		m := &Mapping{Client: reading, Stream: "latest", Start: types.ShardIteratorTypeLatest, Handler: r.handle,
			Poll: 10 * time.Millisecond, Logger: quiet()}
		go func() {
			<-reading.first // the LATEST iterator exists: put after it
			for i := range 3 {
				_, err := c.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String("latest"),
					PartitionKey: aws.String("k"), Data: fmt.Appendf(nil, "new %d", i)})
				assert.NoError(t, err)
			}
		}()
		runUntilDone(t, m, r)
		assert.Equal(t, map[string]int{"new 0": 1, "new 1": 1, "new 2": 1}, r.seen)
	})

	t.Run("a missing stream is an error", func(t *testing.T) {
		m := &Mapping{Client: c, Stream: "nope", Handler: newRecorder(0).handle, Logger: quiet()}
		assert.ErrorContains(t, m.Run(context.Background()), "stream nope")
	})
}

// signalReads passes calls to the real client and closes first at the first
// GetRecords, by when every iterator of a one-shard stream exists.
type signalReads struct {
	KinesisAPI
	once  sync.Once
	first chan struct{}
}

func (s *signalReads) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, o ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	s.once.Do(func() { close(s.first) })
	return s.KinesisAPI.GetRecords(ctx, in, o...)
}

func sequenceNumbers(ev events.KinesisEvent) []string {
	var out []string
	for _, r := range ev.Records {
		out = append(out, r.Kinesis.SequenceNumber)
	}
	return out
}

// less compares decimal sequence numbers.
func less(a, b string) bool { return len(a) < len(b) || (len(a) == len(b) && a < b) }
