// Package putrecords writes records to a Kinesis stream with PutRecords: as
// few calls as the limits allow (500 records or 5 MiB a call), resending only
// the entries a call failed. The function's handler writes its prediction
// events and dead letters with it; the replay job writes ride events with it.
package putrecords

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// API is the one Kinesis call a Writer makes; *kinesis.Client implements it.
type API interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Limits of one PutRecords call.
const (
	MaxRecords = 500
	MaxBytes   = 5 << 20 // data plus partition keys
)

// Entry is one record to write. Index is the caller's: Result.Failed
// reports entries by it.
type Entry struct {
	Data  []byte
	Key   string // the partition key
	Index int
}

func (e Entry) size() int { return len(e.Data) + len(e.Key) }

// Result counts what Put did.
type Result struct {
	Failed  []int // Index of every entry that was not written
	Calls   int
	Resent  int   // entries sent again after a partial failure
	LastErr error // the last call error or entry error code seen
}

// Writer writes entries to a stream.
type Writer struct {
	Client API
	// Attempts bounds the PutRecords calls made for one entry when the call
	// succeeds but fails that entry (throttling, InternalFailure). 0 means 4.
	Attempts int
	// MaxBackoff caps the jittered wait between those calls. 0 means 1s.
	MaxBackoff time.Duration
}

// Put writes entries to stream in calls of at most 500 records / 5 MiB.
// PutRecords can succeed while failing some entries; only those are sent
// again, after a jittered backoff, up to w.Attempts calls per entry.
// A call that returns an error has already been retried by the SDK's
// retryer (transport errors, throttling), so its entries are given up on at
// once. The entries left over are returned in Result.Failed.
func (w *Writer) Put(ctx context.Context, stream string, entries []Entry) Result {
	var res Result
	pending := entries
	for attempt := 1; len(pending) > 0; attempt++ {
		if attempt > 1 {
			res.Resent += len(pending)
			if !sleep(ctx, w.backoff(attempt-1)) {
				break
			}
		}
		var retry []Entry
		for len(pending) > 0 {
			n := chunk(pending)
			batch := pending[:n]
			pending = pending[n:]
			res.Calls++
			out, err := w.Client.PutRecords(ctx, request(stream, batch))
			if err != nil {
				res.LastErr = err
				res.Failed = appendIndexes(res.Failed, batch)
				continue
			}
			for i, r := range out.Records {
				if r.ErrorCode != nil {
					res.LastErr = EntryError{Code: aws.ToString(r.ErrorCode), Message: aws.ToString(r.ErrorMessage)}
					retry = append(retry, batch[i])
				}
			}
		}
		pending = retry
		if attempt >= w.attempts() {
			break
		}
	}
	res.Failed = appendIndexes(res.Failed, pending)
	return res
}

// EntryError is a PutRecords entry's error code and message.
type EntryError struct{ Code, Message string }

func (e EntryError) Error() string { return e.Code + ": " + e.Message }

// chunk returns how many of the first entries fit in one PutRecords call.
func chunk(entries []Entry) int {
	size := 0
	for i, e := range entries {
		size += e.size()
		if i == MaxRecords || (i > 0 && size > MaxBytes) {
			return i
		}
	}
	return len(entries)
}

func request(stream string, batch []Entry) *kinesis.PutRecordsInput {
	recs := make([]types.PutRecordsRequestEntry, len(batch))
	for i, e := range batch {
		recs[i] = types.PutRecordsRequestEntry{Data: e.Data, PartitionKey: aws.String(e.Key)}
	}
	return &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: recs}
}

func appendIndexes(dst []int, entries []Entry) []int {
	for _, e := range entries {
		dst = append(dst, e.Index)
	}
	return dst
}

func (w *Writer) attempts() int {
	if w.Attempts > 0 {
		return w.Attempts
	}
	return 4
}

// backoff is "full jitter": a uniform wait in [0, min(cap, 50ms·2^retry)),
// so that concurrent writers throttled together do not retry together.
func (w *Writer) backoff(retry int) time.Duration {
	limit := w.MaxBackoff
	if limit <= 0 {
		limit = time.Second
	}
	d := min(limit, 50*time.Millisecond<<min(retry, 20))
	return rand.N(d) + 1
}

// sleep waits d, or less if ctx ends first (the function's deadline): then it
// reports false and the remaining entries are reported failed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// NewClient returns a Kinesis client configured the standard way (region,
// credentials and endpoint from the environment: AWS_ENDPOINT_URL_KINESIS or
// AWS_ENDPOINT_URL point it at a local Kinesis with no code change).
// Transport errors and throttled calls are retried by the SDK's standard
// retryer: bounded attempts, exponential backoff with jitter.
func NewClient(ctx context.Context) (*kinesis.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.MaxBackoff = 2 * time.Second
		})
	}))
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return kinesis.NewFromConfig(cfg), nil
}
