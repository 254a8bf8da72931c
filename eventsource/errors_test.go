package eventsource

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/faultproxy"
	"github.com/rideduration/rideduration/internal/testenv"
)

// faulty passes calls to moto, but fails the GetRecords and
// GetShardIterator calls fail says, before they reach moto: moto never
// expires an iterator, nor fails a read, so these faults are fakes. It
// records the iterators asked for, with the mapping's checkpoint then.
type faulty struct {
	KinesisAPI
	m    *Mapping
	fail func(op string, call int) error

	mu        sync.Mutex
	calls     map[string]int
	iterators []iteratorAsked
}

type iteratorAsked struct {
	in         kinesis.GetShardIteratorInput
	checkpoint string
}

func (f *faulty) inject(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
	return f.fail(op, f.calls[op])
}

func (f *faulty) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, o ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	if err := f.inject("GetRecords"); err != nil {
		return nil, err
	}
	return f.KinesisAPI.GetRecords(ctx, in, o...)
}

func (f *faulty) GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, o ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	if err := f.inject("GetShardIterator"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.iterators = append(f.iterators, iteratorAsked{*in, f.m.Checkpoints()[aws.ToString(in.ShardId)]})
	f.mu.Unlock()
	return f.KinesisAPI.GetShardIterator(ctx, in, o...)
}

var (
	errExpired  = &types.ExpiredIteratorException{Message: aws.String("Iterator expired (injected)")}
	errThrottle = &types.ProvisionedThroughputExceededException{Message: aws.String("Rate exceeded (injected)")}
	errServer   = &smithy.GenericAPIError{Code: "InternalFailure", Message: "injected", Fault: smithy.FaultServer}
	errDenied   = &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized (injected)", Fault: smithy.FaultClient}
)

func TestReadErrors(t *testing.T) {
	endpoint := testenv.Moto(t)
	c, q := testenv.Kinesis(t, endpoint), testenv.SQS(t, endpoint)

	t.Run("an expired iterator or a failed read: a new iterator from the checkpoint", func(t *testing.T) {
		testenv.CreateStream(t, c, "flaky", 2)
		data := numbered("record", 60)
		put(t, c, "flaky", byIndex, data...)
		faults := map[string]map[int]error{
			"GetRecords":       {1: errExpired, 4: errServer, 5: errServer, 7: errThrottle, 9: errExpired, 12: errServer},
			"GetShardIterator": {4: errServer},
		}
		fk := &faulty{KinesisAPI: c, fail: func(op string, call int) error { return faults[op][call] }}
		f := &function{}
		m := mapping(t, fk, "flaky", f)
		fk.m, m.BatchSize = m, 7
		runUntil(t, m, func() bool { return len(f.doneData()) >= 60 })

		assert.ElementsMatch(t, data, f.doneData(), "each once")
		last := map[string]string{}
		for _, d := range f.done {
			assert.True(t, last[d.shard] == "" || less(last[d.shard], d.seq), "shard %s in order", d.shard)
			last[d.shard] = d.seq
		}
		assert.Len(t, last, 2)
		require.Len(t, fk.iterators, 2+6, "the first iterator of each shard, and a new one after each failed read")
		fromCheckpoint := 0
		for _, it := range fk.iterators {
			if it.checkpoint == "" {
				assert.Equal(t, types.ShardIteratorTypeTrimHorizon, it.in.ShardIteratorType, "no checkpoint: the start position")
				continue
			}
			fromCheckpoint++
			assert.Equal(t, types.ShardIteratorTypeAfterSequenceNumber, it.in.ShardIteratorType)
			assert.Equal(t, it.checkpoint, aws.ToString(it.in.StartingSequenceNumber), "after the last record done")
		}
		assert.Positive(t, fromCheckpoint)
	})

	// A shard read from LATEST that fails a read before its first record is
	// done reads again from where the mapping started, not from a new
	// LATEST: the records put in between are delivered. moto never fails a
	// read; the proxy answers GetRecords HTTP 500 until told otherwise.
	t.Run("LATEST: a read error before the first record keeps the start", func(t *testing.T) {
		testenv.CreateStream(t, c, "latest-flaky", 1)
		put(t, c, "latest-flaky", byIndex, numbered("old", 3)...)
		proxy := faultproxy.Start(t, endpoint, 1)
		proxy.Set("GetRecords", faultproxy.Faults{ServerError: 1})
		through := testenv.Kinesis(t, proxy.URL) // writes too: the proxy keeps moto's reads and writes apart
		f := &function{}
		m := mapping(t, through, "latest-flaky", f)
		m.Start = types.ShardIteratorTypeLatest
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- m.Run(ctx) }()
		waitFor(t, errc, func() bool { return proxy.Stats()["GetRecords"].ServerErrors > 0 }) // the LATEST iterator exists
		put(t, through, "latest-flaky", byIndex, numbered("new", 3)...)
		iterators := proxy.Stats()["GetShardIterator"].Calls
		waitFor(t, errc, func() bool { return proxy.Stats()["GetShardIterator"].Calls > iterators }) // read again after a failure
		proxy.Set("GetRecords", faultproxy.Faults{})
		put(t, through, "latest-flaky", byIndex, "last")
		waitFor(t, errc, func() bool { return slices.Contains(f.doneData(), "last") })
		cancel()
		require.NoError(t, <-errc)
		assert.Equal(t, append(numbered("new", 3), "last"), f.doneData(), "each record put since the start, once, in order")
	})

	// stopped runs m until it stops by itself, and returns its error.
	stopped := func(t *testing.T, m *Mapping) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a bound, not a timing assertion
		defer cancel()
		err := m.Run(ctx)
		require.NoError(t, ctx.Err(), "the mapping did not stop by itself")
		return err
	}

	t.Run("a missing stream is fatal", func(t *testing.T) {
		err := stopped(t, mapping(t, c, "nope", &function{}))
		assert.ErrorContains(t, err, "stream nope")
		assert.ErrorContains(t, err, "ResourceNotFoundException")
	})

	t.Run("access denied is fatal", func(t *testing.T) {
		testenv.CreateStream(t, c, "denied", 1)
		fk := &faulty{KinesisAPI: c, fail: func(op string, _ int) error {
			if op == "GetRecords" {
				return errDenied
			}
			return nil
		}}
		m := mapping(t, fk, "denied", &function{})
		fk.m = m
		assert.ErrorContains(t, stopped(t, m), "AccessDeniedException")
	})

	t.Run("a deleted stream is fatal", func(t *testing.T) {
		testenv.CreateStream(t, c, "deleted", 2)
		put(t, c, "deleted", byIndex, numbered("record", 4)...)
		f := &function{}
		m := mapping(t, c, "deleted", f)
		errc := make(chan error, 1)
		go func() { errc <- m.Run(context.Background()) }()
		waitFor(t, errc, func() bool { return len(f.doneData()) == 4 })
		_, err := c.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String("deleted")})
		require.NoError(t, err)
		select {
		case err := <-errc:
			assert.ErrorContains(t, err, "ResourceNotFoundException")
		case <-time.After(time.Minute): // a bound, not a timing assertion
			t.Fatal("the mapping went on without its stream")
		}
	})

	t.Run("a deleted on-failure queue is fatal", func(t *testing.T) {
		testenv.CreateStream(t, c, "noqueue", 1)
		url, arn := testenv.CreateQueue(t, q, "gone")
		f := &function{answer: func(context.Context, int, []delivery) ([]events.KinesisBatchItemFailure, error) {
			return nil, errFunction
		}}
		m := mapping(t, c, "noqueue", f)
		dest, err := NewSQSDestination(context.Background(), q, arn)
		require.NoError(t, err)
		m.OnFailure, m.MaximumRetryAttempts = dest, 0
		_, err = q.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
		require.NoError(t, err)
		put(t, c, "noqueue", byIndex, "poison")
		assert.ErrorContains(t, stopped(t, m), "on-failure destination")
		assert.Empty(t, m.Checkpoints(), "the batch is not skipped unrecorded")
	})
}
