package eventsource

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// shard is the polling loop of one shard.
type shard struct {
	m       *Mapping
	id, arn string
	retries int // consecutive re-deliveries of the same batch
}

func (s *shard) run(ctx context.Context) error {
	iter, err := s.iterator(ctx, s.m.Start, "")
	for err == nil {
		iter, err = s.step(ctx, iter)
	}
	if errors.Is(err, errShardClosed) {
		s.m.Logger.Info("shard closed", "shard", s.id)
		return nil
	}
	return err
}

// step reads one batch at iter, invokes the handler and returns where to
// read next: after the batch, or from the lowest failed record again.
func (s *shard) step(ctx context.Context, iter *string) (*string, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	out, err := s.m.Client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(s.m.BatchSize)})
	if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", s.m.Stream, s.id, err)
	}
	if len(out.Records) == 0 {
		if out.NextShardIterator == nil {
			return nil, errShardClosed
		}
		return out.NextShardIterator, wait(ctx, s.m.Poll)
	}

	ev := s.event(out.Records)
	redeliver, reason := s.invoke(ctx, ev)
	if redeliver < 0 {
		s.retries = 0
		s.m.checkpoint(s.id, aws.ToString(out.Records[len(out.Records)-1].SequenceNumber))
		if out.NextShardIterator == nil {
			return nil, errShardClosed
		}
		return out.NextShardIterator, nil
	}
	// Records before the first one to re-deliver are done.
	if redeliver > 0 {
		s.m.checkpoint(s.id, aws.ToString(out.Records[redeliver-1].SequenceNumber))
	}
	s.retries++
	from := aws.ToString(out.Records[redeliver].SequenceNumber)
	s.m.Logger.Warn("re-delivering", "shard", s.id, "from_sequence_number", from,
		"records", len(out.Records)-redeliver, "retry", s.retries, "reason", reason)
	if err := wait(ctx, backoff(s.retries)); err != nil {
		return nil, err
	}
	return s.iterator(ctx, types.ShardIteratorTypeAtSequenceNumber, from)
}

// invoke runs the handler on ev and returns the index of the first record
// to re-deliver, or -1 when the batch is done. A handler error, or a failure
// naming no record of the batch, re-delivers the whole batch (Lambda's rule).
func (s *shard) invoke(ctx context.Context, ev events.KinesisEvent) (int, string) {
	// Ctrl-C must not cut a batch in half: the handler finishes it.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.m.Timeout)
	defer cancel()
	failures, err := s.m.Handler(hctx, ev)
	if err != nil {
		return 0, "handler error: " + err.Error()
	}
	if len(failures) == 0 {
		return -1, ""
	}
	first := -1
	for _, f := range failures {
		i := index(ev, f.ItemIdentifier)
		if i < 0 {
			return 0, fmt.Sprintf("batch item failure %q names no record of the batch", f.ItemIdentifier)
		}
		if first < 0 || i < first {
			first = i
		}
	}
	return first, fmt.Sprintf("%d batch item failures", len(failures))
}

func index(ev events.KinesisEvent, seq string) int {
	for i, r := range ev.Records {
		if r.Kinesis.SequenceNumber == seq {
			return i
		}
	}
	return -1
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
			EventSourceArn: s.arn,
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

func (s *shard) iterator(ctx context.Context, typ types.ShardIteratorType, seq string) (*string, error) {
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(s.m.Stream), ShardId: aws.String(s.id), ShardIteratorType: typ}
	if seq != "" {
		in.StartingSequenceNumber = aws.String(seq)
	}
	out, err := s.m.Client.GetShardIterator(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("iterator of %s/%s: %w", s.m.Stream, s.id, err)
	}
	return out.ShardIterator, nil
}

// backoff between re-deliveries of a failing batch: 100ms doubling to 10s.
func backoff(retry int) time.Duration {
	return min(10*time.Second, 100*time.Millisecond<<min(retry-1, 10))
}

// wait sleeps d unless ctx ends first.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
