// Package eventsource is a local Kinesis event-source mapping: it polls
// every shard of a stream, hands the records to a Lambda handler as
// events.KinesisEvent batches, and honours the handler's batchItemFailures
// (ReportBatchItemFailures) as Lambda does, so that the function can run
// against a local Kinesis (moto) without AWS.
package eventsource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// KinesisAPI is the part of the Kinesis client a mapping reads with;
// *kinesis.Client implements it.
type KinesisAPI interface {
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

// Handler is the function under test: it returns the records to re-deliver,
// by sequence number. An error fails the whole batch, as in Lambda.
type Handler func(ctx context.Context, ev events.KinesisEvent) ([]events.KinesisBatchItemFailure, error)

// Mapping is one event-source mapping: a stream, where to start, a handler.
type Mapping struct {
	Client  KinesisAPI
	Stream  string
	Handler Handler

	// Start is where a shard is first read: TRIM_HORIZON (the default) or LATEST.
	Start types.ShardIteratorType
	// BatchSize is the most records per event (default 100, Lambda's).
	BatchSize int32
	// Poll is the wait after an empty read (default 1s, Lambda's per-shard rate).
	Poll time.Duration
	// Timeout bounds one invocation, as the function's timeout (default 60s).
	Timeout time.Duration
	Region  string // awsRegion of the records
	Logger  *slog.Logger

	mu          sync.Mutex
	checkpoints map[string]string // shard id → last sequence number done
}

// Checkpoints returns, per shard, the sequence number of the last record
// processed: in memory only, as asked of a local mapping.
func (m *Mapping) Checkpoints() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.checkpoints))
	for k, v := range m.checkpoints {
		out[k] = v
	}
	return out
}

// Run polls every shard of the stream (those open when it starts) until ctx
// ends. A batch in flight is finished first: the handler gets a context
// that Ctrl-C does not cancel, bounded by Timeout. Run returns nil when
// stopped by ctx, or the first read error.
func (m *Mapping) Run(ctx context.Context) error {
	m.defaults()
	sum, err := m.Client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(m.Stream)})
	if err != nil {
		return fmt.Errorf("stream %s: %w", m.Stream, err)
	}
	arn := aws.ToString(sum.StreamDescriptionSummary.StreamARN)
	var shards []types.Shard
	for in := (&kinesis.ListShardsInput{StreamName: aws.String(m.Stream)}); ; {
		out, err := m.Client.ListShards(ctx, in)
		if err != nil {
			return fmt.Errorf("shards of %s: %w", m.Stream, err)
		}
		shards = append(shards, out.Shards...)
		if out.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
	m.Logger.Info("polling", "stream", m.Stream, "shards", len(shards), "start", string(m.Start), "batch_size", m.BatchSize)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(shards))
	var wg sync.WaitGroup
	for _, sh := range shards {
		wg.Go(func() {
			s := shard{m: m, id: aws.ToString(sh.ShardId), arn: arn}
			if err := s.run(ctx); err != nil && ctx.Err() == nil {
				errs <- err
				cancel() // one shard failing to read stops the mapping
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when stopped by ctx
}

func (m *Mapping) defaults() {
	if m.Start == "" {
		m.Start = types.ShardIteratorTypeTrimHorizon
	}
	if m.BatchSize <= 0 {
		m.BatchSize = 100
	}
	if m.Poll <= 0 {
		m.Poll = time.Second
	}
	if m.Timeout <= 0 {
		m.Timeout = time.Minute
	}
	if m.Logger == nil {
		m.Logger = slog.Default()
	}
	m.checkpoints = map[string]string{}
}

func (m *Mapping) checkpoint(shard, seq string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checkpoints[shard] = seq
}

// errShardClosed ends a shard's loop: it was split or merged, and holds no
// more records.
var errShardClosed = errors.New("shard closed")
