package eventsource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// The mapping against moto as Kinesis: each case a stream of its own on
// one moto.
func TestMapping(t *testing.T) {
	c := testenv.Kinesis(t, testenv.Moto(t))
	for _, tc := range []struct {
		name string
		test func(t *testing.T, c *kinesis.Client)
	}{
		{"every shard, in batches, in order", testEveryShardInOrder},
		{"re-delivers from the lowest batch item failure", testRedeliversFromLowestFailure},
		{"a failure naming no record fails the whole batch", testFailureNamingNoRecord},
		{"without ReportBatchItemFailures a reported failure is ignored", testFailuresNotReported},
		{"LATEST skips what was there", testLatest},
		{"says once when every shard is caught up", testCaughtUp},
		{"progress", testProgress},
		{"a configuration Lambda refuses is an error", testRefusedConfiguration},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, c) })
	}
}

// testEveryShardInOrder: 250 records on two shards, in batches of at most
// 40, each batch an event as Lambda's, with a Lambda context; each record
// done once, each shard in order, the checkpoints at each shard's last.
func testEveryShardInOrder(t *testing.T, c *kinesis.Client) {
	testenv.CreateStream(t, c, "all", 2)
	put(t, c, "all", byIndex, numbered("record", 250)...)
	f := &function{}
	var evs []events.KinesisEvent
	var mu sync.Mutex
	m := mapping(t, c, "all", f)
	m.BatchSize = 40
	m.Handler = func(ctx context.Context, ev events.KinesisEvent) ([]events.KinesisBatchItemFailure, error) {
		lc, ok := lambdacontext.FromContext(ctx)
		assert.True(t, ok && lc.AwsRequestID != "" && lc.InvokedFunctionArn == "arn:aws:lambda:us-east-1:123456789012:function:predict-stream", "%+v", lc)
		mu.Lock()
		evs = append(evs, ev)
		mu.Unlock()
		return f.handle(ctx, ev)
	}
	runUntil(t, m, func() bool { return len(f.doneData()) >= 250 })

	for _, ev := range evs {
		require.LessOrEqual(t, len(ev.Records), 40)
		for _, rec := range ev.Records {
			assert.Equal(t, "aws:kinesis", rec.EventSource)
			assert.Equal(t, "arn:aws:kinesis:us-east-1:123456789012:stream/all", rec.EventSourceArn)
			assert.Equal(t, "us-east-1", rec.AwsRegion)
		}
	}
	last := lastInOrder(t, f)
	assert.Len(t, last, 2, "both shards polled")
	assert.ElementsMatch(t, numbered("record", 250), f.doneData(), "each once")
	assert.Equal(t, last, m.Checkpoints())
}

// lastInOrder checks that f did each shard's records in sequence order,
// and returns the last sequence number done of each shard.
func lastInOrder(t *testing.T, f *function) map[string]string {
	t.Helper()
	last := map[string]string{}
	for _, d := range f.done {
		if prev, ok := last[d.shard]; ok {
			assert.True(t, less(prev, d.seq), "shard %s out of order", d.shard)
		}
		last[d.shard] = d.seq
	}
	return last
}

// testRedeliversFromLowestFailure: records 3 and 7 of 10 fail once; the
// batch is delivered again from record 3.
func testRedeliversFromLowestFailure(t *testing.T, c *kinesis.Client) {
	testenv.CreateStream(t, c, "partial", 1)
	seqs := put(t, c, "partial", byIndex, numbered("record", 10)...)
	f := &function{answer: func(_ context.Context, call int, _ []delivery) ([]events.KinesisBatchItemFailure, error) {
		if call == 0 { // records 3 and 7 fail once
			return []events.KinesisBatchItemFailure{{ItemIdentifier: seqs[7]}, {ItemIdentifier: seqs[3]}}, nil
		}
		return nil, nil
	}}
	m := mapping(t, c, "partial", f)
	runUntil(t, m, func() bool { return len(f.doneData()) >= 10 })
	assert.Equal(t, []int{10, 7}, f.sizes(), "from the lowest failure on")
	assert.Equal(t, seqs[3], f.calls[1][0].seq)
	assert.Equal(t, numbered("record", 10), f.doneData(), "each once, in order")
	assert.Equal(t, map[string]string{"shardId-000000000000": seqs[9]}, m.Checkpoints())
}

// testFailureNamingNoRecord: a batch item failure with an empty id fails
// the whole batch, which is delivered again whole.
func testFailureNamingNoRecord(t *testing.T, c *kinesis.Client) {
	testenv.CreateStream(t, c, "unknown", 1)
	put(t, c, "unknown", byIndex, numbered("record", 4)...)
	f := &function{answer: func(_ context.Context, call int, _ []delivery) ([]events.KinesisBatchItemFailure, error) {
		if call == 0 {
			return []events.KinesisBatchItemFailure{{ItemIdentifier: ""}}, nil
		}
		return nil, nil
	}}
	m := mapping(t, c, "unknown", f)
	runUntil(t, m, func() bool { return len(f.sizes()) >= 2 })
	assert.Equal(t, []int{4, 4}, f.sizes())
	assert.Equal(t, numbered("record", 4), f.doneData())
}

// testFailuresNotReported: without ReportBatchItemFailures, a batch whose
// answer names a failure is a success, checkpointed, as Lambda does.
func testFailuresNotReported(t *testing.T, c *kinesis.Client) {
	testenv.CreateStream(t, c, "noreport", 1)
	seqs := put(t, c, "noreport", byIndex, numbered("record", 4)...)
	f := &function{answer: func(context.Context, int, []delivery) ([]events.KinesisBatchItemFailure, error) {
		return []events.KinesisBatchItemFailure{{ItemIdentifier: seqs[1]}}, nil
	}}
	m := mapping(t, c, "noreport", f)
	m.ReportBatchItemFailures = false
	runUntil(t, m, func() bool { return m.Checkpoints()["shardId-000000000000"] == seqs[3] })
	assert.Equal(t, []int{4}, f.sizes(), "checkpointed as a success, as Lambda does")
}

// testLatest: from LATEST, only the records put after the mapping's
// iterator exists are delivered.
func testLatest(t *testing.T, c *kinesis.Client) {
	testenv.CreateStream(t, c, "latest", 1)
	put(t, c, "latest", byIndex, numbered("old", 5)...)
	f := &function{}
	reading := &signalReads{KinesisAPI: c, first: make(chan struct{})}
	m := mapping(t, reading, "latest", f)
	m.Start = types.ShardIteratorTypeLatest
	go func() {
		<-reading.first // the LATEST iterator exists: put after it
		for i := range 3 {
			_, err := c.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String("latest"),
				PartitionKey: aws.String("k"), Data: fmt.Appendf(nil, "new %d", i)})
			assert.NoError(t, err)
		}
	}()
	runUntil(t, m, func() bool { return len(f.doneData()) >= 3 })
	assert.Equal(t, numbered("new", 3), f.doneData())
}

// testCaughtUp: "caught up" is logged once, when every shard has been read
// to its newest record and every record read is done; not again when later
// records come and are read.
func testCaughtUp(t *testing.T, c *kinesis.Client) {
	testenv.CreateStream(t, c, "caughtup", 2)
	put(t, c, "caughtup", byIndex, numbered("record", 250)...)
	f := &function{}
	reads := &countReads{KinesisAPI: c}
	m := mapping(t, reads, "caughtup", f)
	m.BatchSize = 40
	var mu sync.Mutex
	var doneThen []int // records done when each "caught up" was logged
	m.Logger = slog.New(slog.NewJSONHandler(lineFunc(func(line string) {
		if strings.Contains(line, `"msg":"caught up"`) {
			mu.Lock()
			doneThen = append(doneThen, len(f.doneData()))
			mu.Unlock()
			assert.Contains(t, line, `"stream":"caughtup","shards":2`)
		}
	}), nil))
	caughtUp := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(doneThen)
	}
	errc, stop := start(t, m)
	waitFor(t, errc, func() bool { return caughtUp() > 0 })
	put(t, c, "caughtup", byIndex, numbered("later", 10)...)
	waitFor(t, errc, func() bool { return len(f.doneData()) == 260 })
	// Both shards are read at their tip again: two more reads each.
	n := reads.n.Load()
	waitFor(t, errc, func() bool { return reads.n.Load() >= n+4 })
	stop()
	assert.Equal(t, []int{250}, doneThen, "once, with every record done")
}

// testProgress: while it runs, the records read, and how far behind the
// newest record each shard being read is (0 at its tip); shards no longer
// read once it stops.
func testProgress(t *testing.T, c *kinesis.Client) {
	testenv.CreateStream(t, c, "progress", 2)
	put(t, c, "progress", byIndex, numbered("record", 30)...)
	f := &function{}
	m := mapping(t, c, "progress", f)
	m.BatchSize = 7
	assert.Equal(t, Progress{Behind: map[string]time.Duration{}}, m.Progress(), "before Run")
	errc, stop := start(t, m)
	atTip := map[string]time.Duration{"shardId-000000000000": 0, "shardId-000000000001": 0}
	waitFor(t, errc, func() bool { return len(f.doneData()) == 30 && maps.Equal(atTip, m.Progress().Behind) })
	assert.Equal(t, int64(30), m.Progress().Records)
	put(t, c, "progress", byIndex, numbered("later", 5)...)
	waitFor(t, errc, func() bool { return m.Progress().Records == 35 })
	stop()
	assert.Equal(t, Progress{Records: 35, Behind: map[string]time.Duration{}}, m.Progress(), "stopped")
}

// testRefusedConfiguration: a configuration Lambda refuses is Run's error.
func testRefusedConfiguration(t *testing.T, c *kinesis.Client) {
	for _, change := range []func(*Mapping){
		func(m *Mapping) { m.BatchSize = 0 },
		func(m *Mapping) { m.BatchSize = 10001 },
		func(m *Mapping) { m.MaximumRetryAttempts = -2 },
		func(m *Mapping) { m.MaximumRecordAge = 0 },
		func(m *Mapping) { m.FunctionTimeout = 0 },
		func(m *Mapping) { m.Start = types.ShardIteratorTypeAtTimestamp },
	} {
		m := mapping(t, c, "all", &function{})
		change(m)
		assert.Error(t, m.Run(context.Background()))
	}
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

var errFunction = errors.New("function error")

// countReads passes calls to the real client and counts the GetRecords
// calls.
type countReads struct {
	KinesisAPI
	n atomic.Int64
}

func (c *countReads) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, o ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	c.n.Add(1)
	return c.KinesisAPI.GetRecords(ctx, in, o...)
}

// lineFunc is a writer that hands each write (a log line) to a function.
type lineFunc func(line string)

func (f lineFunc) Write(p []byte) (int, error) {
	f(string(p))
	return len(p), nil
}
