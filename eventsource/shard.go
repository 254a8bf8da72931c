package eventsource

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/google/uuid"

	"github.com/rideduration/rideduration/internal/backoff"
)

// shard is the polling loop of one shard. It reads a batch, then invokes
// the handler until every record of it is done: delivered, or given up on
// (recorded on the on-failure destination).
type shard struct {
	m      *Mapping
	id     string
	start  types.ShardIteratorType
	closed atomic.Bool // the last listing shows the shard closed (split or merged)
	// finished tells the mapping, once, that the shard is read to its end:
	// its children may start.
	finished func()

	iter       *string // where to read next; nil: get one from the checkpoint
	end        bool    // GetRecords said the shard has no more records
	atEnd      bool    // read to the tip after it was closed
	warned     bool    // about records after atEnd
	readErrors int     // consecutive failed reads
	atTip      bool    // the last read reached the newest record
	// startedAt is when the shard first asked for a LATEST iterator: until a
	// record is done, a new iterator starts there (AT_TIMESTAMP), so that a
	// failed read loses none of the records put since.
	startedAt time.Time

	// pending holds the records read and not done yet, in order; batches
	// holds the sizes of the batches they form: one batch as read, or the
	// halves of bisected batches, invoked in order.
	pending []types.Record
	batches []int
	// attempts counts the failed invocations of the first batch (bisecting
	// does not count); last is the response of the latest of them.
	attempts    int
	last        *ResponseContext
	lastRequest string // its request id
}

func (s *shard) run(ctx context.Context) error {
	for ctx.Err() == nil {
		if len(s.pending) > 0 {
			if err := s.process(ctx); err != nil {
				return err
			}
			if len(s.pending) == 0 {
				s.m.tip(s.id, s.atTip)
			}
			continue
		}
		ended, err := s.read(ctx)
		if err != nil || ended {
			return err
		}
	}
	return ctx.Err()
}

// read reads the next batch into pending, and reports the shard's end:
// GetRecords gives no next iterator, as Kinesis does once a closed shard is
// read. A read at the tip of a shard that was closed before the read is
// its end too (no record can come after it), which the shard's children
// are told, but the shard is still polled: moto (5.2) gives no end and
// keeps putting records in closed shards, and they are delivered.
func (s *shard) read(ctx context.Context) (ended bool, err error) {
	if s.end {
		s.finished()
		return true, nil
	}
	if s.iter == nil {
		if s.iter, err = s.iterator(ctx); err != nil {
			return false, s.readFailed(ctx, err)
		}
	}
	closed := s.closed.Load()
	out, err := s.m.Client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: s.iter, Limit: aws.Int32(s.m.BatchSize)})
	if err != nil {
		s.iter = nil
		return false, s.readFailed(ctx, err)
	}
	s.readErrors = 0
	s.m.progress(s.id, len(out.Records), time.Duration(aws.ToInt64(out.MillisBehindLatest))*time.Millisecond)
	s.iter = out.NextShardIterator
	s.end = s.iter == nil
	// Kinesis gives 0 only at the newest record; moto counts whole
	// milliseconds between records, so a full batch may say 0 with more
	// records after it.
	s.atTip = aws.ToInt64(out.MillisBehindLatest) == 0 && len(out.Records) < int(s.m.BatchSize)
	if len(out.Records) > 0 {
		if s.atEnd && !s.warned {
			s.warned = true
			s.m.Logger.Warn("records after the end of a closed shard (moto puts records in closed shards; Kinesis does not): delivering them",
				"shard", s.id, "records", len(out.Records))
		}
		s.pending, s.batches = out.Records, []int{len(out.Records)}
		return false, nil
	}
	s.m.tip(s.id, s.atTip)
	if s.end {
		s.finished()
		return true, nil
	}
	if closed && aws.ToInt64(out.MillisBehindLatest) == 0 {
		s.atEnd = true
		s.finished()
	}
	return false, backoff.Sleep(ctx, s.m.Poll)
}

// readFailed handles a failed GetShardIterator or GetRecords: a fatal error
// stops the mapping; after any other (an expired iterator, throttling, a
// server error) the shard waits and reads again with a new iterator from
// its checkpoint.
func (s *shard) readFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	err = fmt.Errorf("read %s/%s: %w", s.m.Stream, s.id, err)
	if fatal(err) {
		return err
	}
	s.iter = nil
	s.readErrors++
	s.m.Logger.Warn("read failed; reading again from the checkpoint", "shard", s.id,
		"checkpoint", s.m.Checkpoints()[s.id], "retry", s.readErrors, "error", err.Error())
	return backoff.Sleep(ctx, retryWait(s.m.RetryWait, s.readErrors))
}

// iterator returns an iterator after the last record done, or at the
// shard's start position when none is. The start LATEST is where the shard
// was when first asked: asked again, LATEST would skip the records put
// since, so later iterators are AT_TIMESTAMP that moment (the clock read
// just before the first request, ahead of the records it must not miss).
func (s *shard) iterator(ctx context.Context) (*string, error) {
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(s.m.Stream), ShardId: aws.String(s.id), ShardIteratorType: s.start}
	switch seq := s.m.Checkpoints()[s.id]; {
	case seq != "":
		in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(seq)
	case s.start == types.ShardIteratorTypeLatest && !s.startedAt.IsZero():
		in.ShardIteratorType, in.Timestamp = types.ShardIteratorTypeAtTimestamp, aws.Time(s.startedAt)
	case s.start == types.ShardIteratorTypeLatest:
		s.startedAt = time.Now()
	}
	out, err := s.m.Client.GetShardIterator(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("iterator: %w", err)
	}
	return out.ShardIterator, nil
}

// process invokes the handler once on the first pending batch and acts on
// the outcome: done; bisected; or retried, unless its retries are spent.
func (s *shard) process(ctx context.Context) error {
	batch := s.pending[:s.batches[0]]
	if n := s.expired(batch); n > 0 {
		return s.discard(ctx, n, ConditionRecordAge)
	}
	o := s.invoke(ctx, batch)
	switch {
	case o.err == nil && o.first < 0:
		s.advance(len(batch))
		return nil
	case o.err != nil && s.m.BisectBatchOnFunctionError && len(batch) > 1:
		half := (len(batch) + 1) / 2
		s.batches = slices.Insert(s.batches, 1, len(batch)-half)
		s.batches[0], s.attempts, s.last, s.lastRequest = half, 0, nil, "" // splitting uses no retry
		s.m.Logger.Warn("function error; bisecting the batch", "shard", s.id, "records", len(batch),
			"halves", []int{half, len(batch) - half}, "error", o.err.Error())
		return nil
	}
	// Retry the whole batch (a function error), or the rest of it from the
	// lowest batch item failure on (the records before it are done).
	s.advance(o.first)
	s.attempts++
	s.last, s.lastRequest = &o.response, o.requestID
	if limit := s.m.MaximumRetryAttempts; limit >= 0 && s.attempts > limit {
		return s.discard(ctx, s.batches[0], ConditionRetries)
	}
	reason := "batch item failures"
	if o.err != nil {
		reason = o.err.Error()
	}
	s.m.Logger.Warn("retrying", "shard", s.id, "from_sequence_number", aws.ToString(s.pending[0].SequenceNumber),
		"records", s.batches[0], "retry", s.attempts, "reason", reason)
	return backoff.Sleep(ctx, retryWait(s.m.RetryWait, s.attempts))
}

// advance marks the first n pending records done: they are checkpointed
// and leave the first batch.
func (s *shard) advance(n int) {
	if n == 0 {
		return
	}
	s.m.checkpoint(s.id, aws.ToString(s.pending[n-1].SequenceNumber))
	s.pending = s.pending[n:]
	if s.batches[0] -= n; s.batches[0] == 0 {
		s.batches, s.attempts, s.last, s.lastRequest = s.batches[1:], 0, nil, ""
	}
}

// expired counts the records at the head of batch older than the maximum
// record age (records arrive in order, so the old ones come first).
func (s *shard) expired(batch []types.Record) int {
	if s.m.MaximumRecordAge < 0 {
		return 0
	}
	n := 0
	for ; n < len(batch); n++ {
		at := aws.ToTime(batch[n].ApproximateArrivalTimestamp)
		if at.IsZero() || time.Since(at) <= s.m.MaximumRecordAge {
			break
		}
	}
	return n
}

// discard gives up on the first n pending records: their range goes to the
// on-failure destination (or the log), and the shard goes on after them.
func (s *shard) discard(ctx context.Context, n int, condition string) error {
	rec := s.m.failureRecord(s.id, s.pending[:n], condition, s.attempts, s.lastRequest, s.last)
	s.m.Logger.Error("batch given up on", "shard", s.id, "condition", condition,
		"start_sequence_number", rec.KinesisBatchInfo.StartSequenceNumber,
		"end_sequence_number", rec.KinesisBatchInfo.EndSequenceNumber, "records", n,
		"approximate_invoke_count", s.attempts, "on_failure", s.m.OnFailure != nil)
	if s.m.OnFailure != nil {
		for try := 1; ; try++ {
			err := s.m.OnFailure.Send(ctx, rec)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if fatal(err) {
				return fmt.Errorf("on-failure destination: %w", err)
			}
			s.m.Logger.Warn("sending to the on-failure destination failed; trying again", "shard", s.id, "error", err.Error())
			if err := backoff.Sleep(ctx, retryWait(s.m.RetryWait, try)); err != nil {
				return err
			}
		}
	}
	s.advance(n)
	return nil
}

// outcome is what one invocation came to.
type outcome struct {
	err       error // a function error: returned, panicked or timed out
	first     int   // the first record to invoke again; -1: the batch is done
	response  ResponseContext
	requestID string
}

// invoke runs the handler on batch, bounded by the function's timeout. A
// response that comes after the timeout is discarded, as Lambda does. At
// the invocation's end (its return, or its timeout) its fence closes (see
// Fence): invoke returns once the writes in flight through it have
// returned and, after a timeout, once the handler has returned or the
// mapping's grace period is over.
func (s *shard) invoke(ctx context.Context, batch []types.Record) outcome {
	ev := s.event(batch)
	// Ctrl-C must not cut a batch in half: the handler finishes it.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.m.FunctionTimeout)
	requestID := uuid.NewString()
	hctx = lambdacontext.NewContext(hctx, &lambdacontext.LambdaContext{AwsRequestID: requestID, InvokedFunctionArn: s.m.FunctionARN})
	inv := &invocation{requestID: requestID}
	hctx = context.WithValue(hctx, invocationKey{}, inv)
	inv.ctx = hctx
	type result struct {
		failures []events.KinesisBatchItemFailure
		err      error
		late     bool // returned after the timeout
	}
	done, returned := make(chan result, 1), make(chan struct{})
	go func() {
		defer close(returned)
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("panic: %v", p), late: hctx.Err() != nil}
			}
		}()
		f, err := s.m.Handler(hctx, ev)
		done <- result{f, err, hctx.Err() != nil}
	}()
	var r result
	select {
	case r = <-done:
	case <-hctx.Done():
		r.late = true
	}
	inv.end(cancel)
	if r.late {
		r.err = fmt.Errorf("task timed out after %.2f seconds", s.m.FunctionTimeout.Seconds())
		// Past the grace period the invocation is abandoned: it may run
		// on, but its fence refuses its writes.
		grace := time.NewTimer(s.m.Grace)
		defer grace.Stop()
		select {
		case <-returned:
		case <-grace.C:
			s.m.Logger.Warn("timed-out invocation abandoned: the handler did not return within the grace period; going on without it (its writes are refused)",
				"shard", s.id, "request_id", requestID, "grace", s.m.Grace.String())
		}
	}
	if r.err != nil {
		return outcome{err: r.err, first: 0, requestID: requestID,
			response: ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: "Unhandled"}}
	}
	o := outcome{first: -1, requestID: requestID, response: ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST"}}
	if len(r.failures) > 0 && !s.m.ReportBatchItemFailures {
		s.m.Logger.Warn("batch item failures ignored: ReportBatchItemFailures is off", "shard", s.id, "failures", len(r.failures))
		return o
	}
	for _, f := range r.failures {
		i := slices.IndexFunc(batch, func(rec types.Record) bool { return aws.ToString(rec.SequenceNumber) == f.ItemIdentifier })
		if i < 0 {
			// An empty or unknown itemIdentifier fails the whole batch (Lambda's rule).
			s.m.Logger.Warn("batch item failure names no record of the batch", "shard", s.id, "item_identifier", f.ItemIdentifier)
			o.first = 0
			break
		}
		if o.first < 0 || i < o.first {
			o.first = i
		}
	}
	return o
}

// event builds the Kinesis event Lambda would deliver for these records.
func (s *shard) event(recs []types.Record) events.KinesisEvent {
	ev := events.KinesisEvent{Records: make([]events.KinesisEventRecord, len(recs))}
	for i, r := range recs {
		seq := aws.ToString(r.SequenceNumber)
		ev.Records[i] = events.KinesisEventRecord{
			AwsRegion:      s.m.Region,
			EventID:        s.id + ":" + seq,
			EventName:      "aws:kinesis:record",
			EventSource:    "aws:kinesis",
			EventSourceArn: s.m.streamARN,
			EventVersion:   "1.0",
			Kinesis: events.KinesisRecord{
				ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: aws.ToTime(r.ApproximateArrivalTimestamp)},
				Data:                        r.Data,
				EncryptionType:              string(r.EncryptionType),
				PartitionKey:                aws.ToString(r.PartitionKey),
				SequenceNumber:              seq,
				KinesisSchemaVersion:        "1.0",
			},
		}
	}
	return ev
}

// retryWait is the wait before the nth retry: first, doubling to 10 s.
func retryWait(first time.Duration, n int) time.Duration {
	return backoff.Exponential(first, 10*time.Second, n-1)
}
