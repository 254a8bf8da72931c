// Package eventsource is a local Kinesis event-source mapping: it polls
// every shard of a stream and hands the records to a Lambda handler as
// events.KinesisEvent batches, with the error handling that
// lambda/template.yaml configures for the deployed trigger
// (ReportBatchItemFailures, BisectBatchOnFunctionError,
// MaximumRetryAttempts, MaximumRecordAgeInSeconds, an OnFailure
// destination), so that the function can be rehearsed against a local
// Kinesis (moto) without AWS.
//
// What it does, as Lambda documents it (Lambda developer guide, "Using
// Lambda with Kinesis", sections "Error handling" and "Reporting batch item
// failures"; awsdocs/aws-lambda-developer-guide doc_source/with-kinesis.md):
//
//   - batchItemFailures: the records before the lowest reported sequence
//     number are done; the rest of the batch is invoked again. A failure
//     naming no record of the batch fails the whole batch.
//   - A function error (the Handler returns an error or panics) or a timeout
//     (it runs past the function's timeout: its response is discarded, and
//     the invocation is ended: see Fence) splits the batch in two when BisectBatchOnFunctionError is on, each
//     half then invoked on its own. "Splitting a batch does not count
//     towards the retry quota": only a batch that cannot be split (one
//     record), a failing batch when bisecting is off, or a partial failure
//     is retried, up to MaximumRetryAttempts times (-1: no limit).
//   - Records older than MaximumRecordAgeInSeconds are not sent (-1: no
//     limit), on the first delivery as on retries.
//   - A batch given up on is recorded on the OnFailure destination (its
//     shard and sequence number range, not its records) and the shard goes
//     on after it.
//   - Shards are re-listed every 10 polls and whenever one ends; a child
//     shard (of a split or a merge) is read, from its start, once its
//     parents have been read to their end. (moto 5.2 never ends a closed
//     shard and keeps putting records in it: such a shard counts as ended
//     once read to its tip, but is still polled, so nothing is lost.)
//   - Read errors (an expired iterator, throttling, a server error) get a
//     new iterator from the checkpoint, with a backoff; only a fatal error
//     (the stream is gone, access is denied) stops the mapping. A shard
//     started at LATEST with no checkpoint yet reads again from the moment
//     it started (AT_TIMESTAMP), not from a new LATEST.
//   - The first time every shard being read is at its newest record
//     (MillisBehindLatest 0) with every record read done, the mapping logs
//     "caught up", once.
//
// One batch per shard is in flight at a time (ParallelizationFactor 1, the
// template's default) and each GetRecords result is one batch
// (MaximumBatchingWindowInSeconds 0).
package eventsource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
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
// by sequence number. An error (or a panic) is a function error: the whole
// batch failed.
type Handler func(ctx context.Context, ev events.KinesisEvent) ([]events.KinesisBatchItemFailure, error)

// Config is what lambda/template.yaml configures for the Kinesis trigger
// (the RideEventsMapping resource) and the function's timeout.
type Config struct {
	BatchSize                  int32 // records per invocation, at most (1-10000)
	ReportBatchItemFailures    bool  // FunctionResponseTypes: [ReportBatchItemFailures]
	BisectBatchOnFunctionError bool
	MaximumRetryAttempts       int           // -1: retry until the records are too old
	MaximumRecordAge           time.Duration // MaximumRecordAgeInSeconds; negative: no limit
	FunctionTimeout            time.Duration // the function's Timeout (Globals)
}

// Template is lambda/template.yaml's configuration (its parameters'
// defaults where the trigger takes a parameter); TestTemplate parses the
// template and keeps the two equal.
var Template = Config{
	BatchSize:                  100,
	ReportBatchItemFailures:    true,
	BisectBatchOnFunctionError: true,
	MaximumRetryAttempts:       5,
	MaximumRecordAge:           3600 * time.Second,
	FunctionTimeout:            30 * time.Second,
}

// Mapping is one event-source mapping: a stream, where to start, a handler,
// and what to do when the handler fails. New returns one with the
// template's configuration.
type Mapping struct {
	Client  KinesisAPI
	Stream  string
	Handler Handler
	Config

	// OnFailure receives the record of each batch given up on; nil: the
	// record is logged, and the batch dropped, as Lambda does without a
	// destination.
	OnFailure Destination
	// FunctionARN names the function in the on-failure records and the
	// handler's lambdacontext; default: a function "predict-stream" in the
	// stream's account and region.
	FunctionARN string

	// Start is where the shards open when Run starts are first read:
	// TRIM_HORIZON or LATEST (the moment each shard first asks: read again
	// after an error, it starts there). Shards found later (children of a
	// split or a merge) are read from their start.
	Start types.ShardIteratorType
	// Poll is the wait after an empty read of a shard; shards are re-listed
	// every 10 polls.
	Poll time.Duration
	// RetryWait is the first wait before a failed batch or a failed read is
	// tried again; it doubles at each failure, up to 10 s.
	RetryWait time.Duration
	// Grace is how long, after an invocation timed out, the mapping waits
	// for the handler to return before it goes on with the batch without it
	// (its writes are refused all the same: see Fence).
	Grace  time.Duration
	Region string // awsRegion of the records
	Logger *slog.Logger

	streamARN   string
	mu          sync.Mutex
	checkpoints map[string]string        // shard id → last sequence number done
	atTip       map[string]bool          // shard being read → its records read and done up to the newest
	behind      map[string]time.Duration // shard being read → MillisBehindLatest of its latest read
	read        int64                    // records read
	caughtUp    bool                     // said once
}

// New returns a mapping of stream to h with the template's configuration,
// read from TRIM_HORIZON, polling every second, waiting up to 5 s for a
// timed-out handler to return.
func New(client KinesisAPI, stream string, h Handler) *Mapping {
	return &Mapping{
		Client: client, Stream: stream, Handler: h, Config: Template,
		Start: types.ShardIteratorTypeTrimHorizon, Poll: time.Second, RetryWait: 100 * time.Millisecond,
		Grace: 5 * time.Second, Logger: slog.Default(),
	}
}

// Validate checks the configuration against the ranges Lambda accepts
// (except MaximumRecordAge, which Lambda wants -1 or ≥ 60 s and which tests
// set shorter).
func (c Config) Validate() error {
	switch {
	case c.BatchSize < 1 || c.BatchSize > 10000:
		return fmt.Errorf("batch size %d: want 1 to 10000", c.BatchSize)
	case c.MaximumRetryAttempts < -1 || c.MaximumRetryAttempts > 10000:
		return fmt.Errorf("maximum retry attempts %d: want -1 (no limit) to 10000", c.MaximumRetryAttempts)
	case c.MaximumRecordAge == 0 || c.MaximumRecordAge > 7*24*time.Hour:
		return fmt.Errorf("maximum record age %v: want -1 (no limit) or up to 7 days", c.MaximumRecordAge)
	case c.FunctionTimeout <= 0:
		return fmt.Errorf("function timeout %v: want more than 0", c.FunctionTimeout)
	}
	return nil
}

// Checkpoints returns, per shard, the sequence number of the last record
// done (delivered, or given up on): in memory only, as asked of a local
// mapping.
func (m *Mapping) Checkpoints() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.checkpoints))
	for k, v := range m.checkpoints {
		out[k] = v
	}
	return out
}

// Run polls every shard of the stream until ctx ends, and the shards that
// splits and merges create. A batch in flight is finished first: the
// handler gets a context that Ctrl-C does not cancel, bounded by the
// function's timeout. Run returns nil when stopped by ctx, or the fatal
// error that stopped it (the stream is missing or deleted, access is
// denied, the on-failure destination is gone). When every shard is closed
// it keeps waiting for new ones, as Lambda's mapping does: closed shards
// without children only happen while the stream is being deleted, which
// then ends Run with an error.
func (m *Mapping) Run(ctx context.Context) error {
	if err := m.Config.Validate(); err != nil {
		return err
	}
	if m.Start != types.ShardIteratorTypeTrimHorizon && m.Start != types.ShardIteratorTypeLatest {
		return fmt.Errorf("start %q: want TRIM_HORIZON or LATEST", m.Start)
	}
	if m.Poll <= 0 || m.RetryWait <= 0 {
		return errors.New("poll and retry wait must be more than 0")
	}
	if m.Grace < 0 {
		return fmt.Errorf("grace %v: want 0 or more", m.Grace)
	}
	if m.Logger == nil {
		m.Logger = slog.Default()
	}
	m.mu.Lock()
	m.checkpoints, m.atTip, m.behind, m.read, m.caughtUp = map[string]string{}, map[string]bool{}, map[string]time.Duration{}, 0, false
	m.mu.Unlock()
	sum, err := m.Client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(m.Stream)})
	if err != nil {
		return fmt.Errorf("stream %s: %w", m.Stream, err)
	}
	m.streamARN = aws.ToString(sum.StreamDescriptionSummary.StreamARN)
	if m.FunctionARN == "" {
		m.FunctionARN = functionARN(m.streamARN, "predict-stream")
	}
	m.Logger.Info("polling", "stream", m.Stream, "start", string(m.Start), "batch_size", m.BatchSize,
		"bisect", m.BisectBatchOnFunctionError, "maximum_retry_attempts", m.MaximumRetryAttempts,
		"maximum_record_age", m.MaximumRecordAge.String(), "function_timeout", m.FunctionTimeout.String(),
		"on_failure", m.OnFailure != nil)

	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r := &reader{m: m, ctx: runCtx, stop: stop, started: map[string]bool{}, done: map[string]bool{},
		ended: make(chan string)}
	r.discover()
	tick := time.NewTicker(10 * m.Poll)
	defer tick.Stop()
	for runCtx.Err() == nil {
		select {
		case id := <-r.ended:
			r.done[id] = true
			m.Logger.Info("shard read to its end", "shard", id)
			r.discover() // its children may start now
		case <-tick.C:
			r.discover()
		case <-runCtx.Done():
		}
	}
	r.wg.Wait()
	if ctx.Err() != nil {
		return nil // stopped by the caller
	}
	return context.Cause(runCtx)
}

// reader starts a goroutine per shard, each once its parents are done.
type reader struct {
	m       *Mapping
	ctx     context.Context
	stop    context.CancelCauseFunc
	wg      sync.WaitGroup
	initial map[string]bool // the shards of the first listing
	started map[string]bool
	shards  map[string]*shard
	done    map[string]bool // read to their end
	ended   chan string
}

// discover lists the shards, tells the running ones whether they are
// closed, and starts the shards whose parents are done.
func (r *reader) discover() {
	list, err := r.m.listShards(r.ctx)
	if err != nil {
		if r.ctx.Err() == nil && fatal(err) {
			r.stop(fmt.Errorf("shards of %s: %w", r.m.Stream, err))
		} else if r.ctx.Err() == nil {
			r.m.Logger.Warn("listing shards failed; trying again", "stream", r.m.Stream, "error", err.Error())
		}
		return
	}
	listed := map[string]bool{}
	for _, sh := range list {
		listed[aws.ToString(sh.ShardId)] = true
	}
	if r.initial == nil {
		r.initial = listed
		r.shards = map[string]*shard{}
	}
	for _, sh := range list {
		id := aws.ToString(sh.ShardId)
		closed := sh.SequenceNumberRange != nil && sh.SequenceNumberRange.EndingSequenceNumber != nil
		if s := r.shards[id]; s != nil {
			s.closed.Store(closed)
			continue
		}
		if r.started[id] || !r.parentDone(sh.ParentShardId, listed) || !r.parentDone(sh.AdjacentParentShardId, listed) {
			continue
		}
		start := types.ShardIteratorTypeTrimHorizon // a shard created since Run started is new
		if r.initial[id] {
			start = r.m.Start
		}
		s := &shard{m: r.m, id: id, start: start}
		s.closed.Store(closed)
		s.finished = sync.OnceFunc(func() {
			select {
			case r.ended <- id:
			case <-r.ctx.Done():
			}
		})
		r.started[id], r.shards[id] = true, s
		r.m.Logger.Info("reading shard", "shard", id, "start", string(start),
			"parent", aws.ToString(sh.ParentShardId), "adjacent_parent", aws.ToString(sh.AdjacentParentShardId))
		r.m.tip(id, false)
		r.wg.Go(func() {
			defer r.m.untip(id)
			if err := s.run(r.ctx); err != nil && r.ctx.Err() == nil {
				r.stop(err) // a fatal error stops the mapping
			}
		})
	}
	for id := range r.shards {
		if r.done[id] {
			delete(r.shards, id)
		}
	}
}

// parentDone tells whether a parent shard is read to its end, or needs no
// reading: none, or no longer listed (its records expired).
func (r *reader) parentDone(parent *string, listed map[string]bool) bool {
	id := aws.ToString(parent)
	return id == "" || r.done[id] || !listed[id]
}

func (m *Mapping) listShards(ctx context.Context) ([]types.Shard, error) {
	var shards []types.Shard
	for in := (&kinesis.ListShardsInput{StreamName: aws.String(m.Stream)}); ; {
		out, err := m.Client.ListShards(ctx, in)
		if err != nil {
			return nil, err
		}
		shards = append(shards, out.Shards...)
		if out.NextToken == nil {
			return shards, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

func (m *Mapping) checkpoint(shard, seq string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checkpoints[shard] = seq
}

// tip records whether a shard being read is at its tip: read to its newest
// record (MillisBehindLatest 0), and every record read done. The first time
// every such shard is, the mapping logs "caught up", once.
func (m *Mapping) tip(shard string, at bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.atTip[shard] = at
	if m.caughtUp || !at {
		return
	}
	for _, at := range m.atTip {
		if !at {
			return
		}
	}
	m.caughtUp = true
	m.Logger.Info("caught up", "stream", m.Stream, "shards", len(m.atTip), "checkpoints", m.checkpoints)
}

// untip forgets a shard no longer read.
func (m *Mapping) untip(shard string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.atTip, shard)
	delete(m.behind, shard)
}

// Progress is how far a running mapping is: what `predict stream` shows
// in its status line.
type Progress struct {
	// Records counts the records read since Run started (a record read
	// again after a failed read counts again; a batch retried does not).
	Records int64
	// Behind holds, for each shard being read, how far its latest read was
	// behind the shard's newest record (GetRecords' MillisBehindLatest).
	Behind map[string]time.Duration
}

// Progress returns how far the mapping is. It is safe to call while Run
// runs.
func (m *Mapping) Progress() Progress {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := Progress{Records: m.read, Behind: make(map[string]time.Duration, len(m.behind))}
	for k, v := range m.behind {
		p.Behind[k] = v
	}
	return p
}

// progress records a read of a shard.
func (m *Mapping) progress(shard string, records int, behind time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.read += int64(records)
	m.behind[shard] = behind
}

// fatal tells whether an AWS error cannot go away by trying again: the
// stream or the queue is missing, access is denied, the request is
// invalid. Anything else (throttling, server errors, an expired iterator,
// the network) is worth another try.
func fatal(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch code := ae.ErrorCode(); code {
	case "ResourceNotFoundException", "AccessDeniedException", "InvalidArgumentException", "ValidationException",
		"UnrecognizedClientException", "InvalidSignatureException", "IncompleteSignature", "MissingAuthenticationToken",
		"InvalidClientTokenId", "ExpiredTokenException",
		"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "InvalidAddress", "InvalidSecurity":
		return true
	default:
		return strings.HasPrefix(code, "KMS") && code != "KMSThrottlingException"
	}
}

// functionARN is the ARN of function name in the partition, region and
// account of another ARN.
func functionARN(arn, name string) string {
	p := strings.SplitN(arn, ":", 6)
	if len(p) < 5 {
		return "arn:aws:lambda:::function:" + name
	}
	return fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", p[1], p[3], p[4], name)
}
