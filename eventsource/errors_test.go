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

// Read errors against moto as Kinesis and SQS: what the mapping recovers
// from (a new iterator from its checkpoint) and what stops it.
func TestReadErrors(t *testing.T) {
	e := newMotoEnv(t)
	for _, tc := range []struct {
		name string
		test func(t *testing.T, e *motoEnv)
	}{
		{"an expired iterator or a failed read: a new iterator from the checkpoint", testNewIteratorFromCheckpoint},
		{"LATEST: a read error before the first record keeps the start", testLatestReadError},
		{"a missing stream is fatal", testMissingStream},
		{"access denied is fatal", testAccessDenied},
		{"a deleted stream is fatal", testDeletedStream},
		{"a deleted on-failure queue is fatal", testDeletedQueue},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, e) })
	}
}

// testNewIteratorFromCheckpoint: injected expired iterators and failed
// reads on two shards; each failure is followed by a new iterator after
// the shard's checkpoint, and every record is done once, in order.
func testNewIteratorFromCheckpoint(t *testing.T, e *motoEnv) {
	testenv.CreateStream(t, e.c, "flaky", 2)
	data := numbered("record", 60)
	put(t, e.c, "flaky", byIndex, data...)
	faults := map[string]map[int]error{
		"GetRecords":       {1: errExpired, 4: errServer, 5: errServer, 7: errThrottle, 9: errExpired, 12: errServer},
		"GetShardIterator": {4: errServer},
	}
	fk := &faulty{KinesisAPI: e.c, fail: func(op string, call int) error { return faults[op][call] }}
	f := &function{}
	m := mapping(t, fk, "flaky", f)
	fk.m, m.BatchSize = m, 7
	runUntil(t, m, func() bool { return len(f.doneData()) >= 60 })

	assert.ElementsMatch(t, data, f.doneData(), "each once")
	assert.Len(t, lastInOrder(t, f), 2)
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
}

// testLatestReadError: a shard read from LATEST that fails a read before
// its first record is done reads again from where the mapping started, not
// from a new LATEST: the records put in between are delivered. moto never
// fails a read; the proxy answers GetRecords HTTP 500 until told otherwise.
func testLatestReadError(t *testing.T, e *motoEnv) {
	testenv.CreateStream(t, e.c, "latest-flaky", 1)
	put(t, e.c, "latest-flaky", byIndex, numbered("old", 3)...)
	proxy := faultproxy.Start(t, e.endpoint, 1)
	proxy.Set("GetRecords", faultproxy.Faults{ServerError: 1})
	through := testenv.Kinesis(t, proxy.URL) // writes too: the proxy keeps moto's reads and writes apart
	f := &function{}
	m := mapping(t, through, "latest-flaky", f)
	m.Start = types.ShardIteratorTypeLatest
	errc, stop := start(t, m)
	waitFor(t, errc, func() bool { return proxy.Stats()["GetRecords"].ServerErrors > 0 }) // the LATEST iterator exists
	put(t, through, "latest-flaky", byIndex, numbered("new", 3)...)
	iterators := proxy.Stats()["GetShardIterator"].Calls
	waitFor(t, errc, func() bool { return proxy.Stats()["GetShardIterator"].Calls > iterators }) // read again after a failure
	proxy.Set("GetRecords", faultproxy.Faults{})
	put(t, through, "latest-flaky", byIndex, "last")
	waitFor(t, errc, func() bool { return slices.Contains(f.doneData(), "last") })
	stop()
	assert.Equal(t, append(numbered("new", 3), "last"), f.doneData(), "each record put since the start, once, in order")
}

// stopped runs m until it stops by itself, and returns its error.
func stopped(t *testing.T, m *Mapping) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a bound, not a timing assertion
	defer cancel()
	err := m.Run(ctx)
	require.NoError(t, ctx.Err(), "the mapping did not stop by itself")
	return err
}

func testMissingStream(t *testing.T, e *motoEnv) {
	err := stopped(t, mapping(t, e.c, "nope", &function{}))
	assert.ErrorContains(t, err, "stream nope")
	assert.ErrorContains(t, err, "ResourceNotFoundException")
}

func testAccessDenied(t *testing.T, e *motoEnv) {
	testenv.CreateStream(t, e.c, "denied", 1)
	fk := &faulty{KinesisAPI: e.c, fail: func(op string, _ int) error {
		if op == "GetRecords" {
			return errDenied
		}
		return nil
	}}
	m := mapping(t, fk, "denied", &function{})
	fk.m = m
	assert.ErrorContains(t, stopped(t, m), "AccessDeniedException")
}

// testDeletedStream: the stream is deleted while the mapping reads it.
func testDeletedStream(t *testing.T, e *motoEnv) {
	testenv.CreateStream(t, e.c, "deleted", 2)
	put(t, e.c, "deleted", byIndex, numbered("record", 4)...)
	f := &function{}
	m := mapping(t, e.c, "deleted", f)
	errc := make(chan error, 1)
	go func() { errc <- m.Run(context.Background()) }()
	waitFor(t, errc, func() bool { return len(f.doneData()) == 4 })
	_, err := e.c.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String("deleted")})
	require.NoError(t, err)
	select {
	case err := <-errc:
		assert.ErrorContains(t, err, "ResourceNotFoundException")
	case <-time.After(time.Minute): // a bound, not a timing assertion
		t.Fatal("the mapping went on without its stream")
	}
}

// testDeletedQueue: the on-failure queue is deleted before a batch is
// given up on; the batch is not skipped unrecorded.
func testDeletedQueue(t *testing.T, e *motoEnv) {
	testenv.CreateStream(t, e.c, "noqueue", 1)
	url, arn := testenv.CreateQueue(t, e.q, "gone")
	f := &function{answer: func(context.Context, int, []delivery) ([]events.KinesisBatchItemFailure, error) {
		return nil, errFunction
	}}
	m := mapping(t, e.c, "noqueue", f)
	dest, err := NewSQSDestination(context.Background(), e.q, arn)
	require.NoError(t, err)
	m.OnFailure, m.MaximumRetryAttempts = dest, 0
	_, err = e.q.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
	require.NoError(t, err)
	put(t, e.c, "noqueue", byIndex, "poison")
	assert.ErrorContains(t, stopped(t, m), "on-failure destination")
	assert.Empty(t, m.Checkpoints(), "the batch is not skipped unrecorded")
}
