// Package putrecords writes records to a Kinesis stream with PutRecords: as
// few calls as the limits allow (500 records or 5 MiB a call), resending only
// the entries a call failed. The function's handler writes its prediction
// events and dead letters with it; the replay job writes ride events with it.
package putrecords

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
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
	Resent  int   // entries sent again after a failure
	LastErr error // the last call error or entry error code seen
	// OutOfTime reports that Put stopped with entries left because its time
	// was up: the deadline less the margin, or ctx ended.
	OutOfTime bool
}

// DefaultMargin is how long before its context's deadline Put stops when
// Writer.Margin is 0. What must fit in it once Put has returned: the
// handler's response (a few milliseconds even at a 128 MB Lambda's fraction
// of a vCPU) and its trip to the runtime API; the call in flight is
// cancelled at the margin, not waited for.
const DefaultMargin = 500 * time.Millisecond

// Writer writes entries to a stream.
type Writer struct {
	Client API
	// Margin: when ctx has a deadline (a Lambda invocation's, or the local
	// mapping's timeout), Put stops this long before it and reports what is
	// left, so that the function answers in time: Lambda discards a late
	// response and retries the whole batch. 0 means DefaultMargin. It is
	// never more than half the time left when Put starts, so that a short
	// timeout still leaves time to write.
	Margin time.Duration
	// Attempts bounds the PutRecords calls made for one entry; 0 means no
	// bound: Put resends until every entry is written, its time is up or
	// ctx is cancelled. Without a deadline (a job, not a Lambda invocation)
	// an unbounded Put waits out any outage of the stream.
	Attempts int
	// MaxBackoff caps the jittered wait between rounds of resends. 0 means
	// 1s: Kinesis throttles a shard per second.
	MaxBackoff time.Duration
}

// Put writes entries to stream in calls of at most 500 records / 5 MiB.
// PutRecords can succeed while failing some entries (throttling,
// InternalFailure); only those are sent again, in rounds separated by a
// jittered backoff (see Writer.backoff), for as long as Put's time allows
// (see Writer.Margin and Writer.Attempts). A call that returns an error has
// already been retried by the SDK's retryer; if the error is one the SDK
// classifies as retryable (throttling, 5xx, transport), its entries go into
// the next round too, otherwise (no such stream, access denied, validation)
// they are given up at once. The entries left are returned in
// Result.Failed.
func (w *Writer) Put(ctx context.Context, stream string, entries []Entry) Result {
	ctx, cancel := w.budget(ctx)
	defer cancel()
	var res Result
	pending := entries
	stalls := 0 // rounds that wrote nothing
	for round := 1; len(pending) > 0; round++ {
		if round > 1 {
			if w.Attempts > 0 && round > w.Attempts {
				break
			}
			if !sleep(ctx, w.backoff(stalls)) {
				break
			}
			res.Resent += len(pending)
		}
		var again []Entry
		sent := len(pending)
		for len(pending) > 0 && ctx.Err() == nil {
			n := chunk(pending)
			batch := pending[:n]
			pending = pending[n:]
			res.Calls++
			out, err := w.Client.PutRecords(ctx, request(stream, batch))
			switch {
			case err != nil && (retryable(err) || ctx.Err() != nil):
				// A call cut at the deadline says only that time ran out
				// (OutOfTime says so); the error before it says why the
				// entries were not written.
				if ctx.Err() == nil || res.LastErr == nil {
					res.LastErr = err
				}
				again = append(again, batch...)
			case err != nil:
				res.LastErr = err
				res.Failed = appendIndexes(res.Failed, batch)
			default:
				for i, r := range out.Records {
					if r.ErrorCode != nil {
						res.LastErr = EntryError{Code: aws.ToString(r.ErrorCode), Message: aws.ToString(r.ErrorMessage)}
						again = append(again, batch[i])
					}
				}
			}
		}
		if len(again) == sent {
			stalls++
		}
		pending = append(again, pending...) // pending is not empty only if time is up
	}
	res.OutOfTime = len(pending) > 0 && ctx.Err() != nil
	res.Failed = appendIndexes(res.Failed, pending)
	return res
}

// budget returns ctx bounded by its deadline less the margin (none without
// a deadline).
func (w *Writer) budget(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := w.Margin
	if margin <= 0 {
		margin = DefaultMargin
	}
	margin = min(margin, time.Until(deadline)/2)
	return context.WithDeadline(ctx, deadline.Add(-margin))
}

// retryable reports whether the SDK's standard retryer would retry err:
// throttling, 5xx, transport errors. Its own attempts are spent, but the
// cause can pass: Put tries again in its next round.
func retryable(err error) bool {
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
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

// backoff is the wait before a round of resends, "full jitter": uniform in
// [0, min(MaxBackoff, 50ms·2^stalls)), where stalls counts the rounds so far
// that wrote nothing. While rounds make progress (an entry failed here and
// there among many written) the wait stays under 50 ms; each round the
// stream refuses outright (a saturated shard: Kinesis limits a shard per
// second, so every entry of a quick resend fails) doubles it, to the 1 s
// scale of that limit by the fifth. The jitter keeps concurrent writers
// throttled together from retrying together.
func (w *Writer) backoff(stalls int) time.Duration {
	limit := w.MaxBackoff
	if limit <= 0 {
		limit = time.Second
	}
	d := min(limit, 50*time.Millisecond<<min(stalls, 20))
	return rand.N(d) + 1
}

// sleep waits d, or less if ctx ends first (Put's time is up): then it
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
// KINESIS_ENDPOINT_URL, the variable the course's docker-compose file sets,
// does too: it wins over the SDK's global AWS_ENDPOINT_URL, and the SDK's
// own AWS_ENDPOINT_URL_KINESIS wins over it.
// Transport errors and throttled calls are retried by the SDK's standard
// retryer: bounded attempts, exponential backoff with jitter.
func NewClient(ctx context.Context) (*kinesis.Client, error) {
	endpoint, err := courseEndpoint()
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.MaxBackoff = 2 * time.Second
		})
	}))
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// courseEndpoint is KINESIS_ENDPOINT_URL, checked, unless the SDK's
// AWS_ENDPOINT_URL_KINESIS is set.
func courseEndpoint() (string, error) {
	v := os.Getenv("KINESIS_ENDPOINT_URL")
	if v == "" || os.Getenv("AWS_ENDPOINT_URL_KINESIS") != "" {
		return "", nil
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("KINESIS_ENDPOINT_URL=%q: want an http:// or https:// URL, e.g. http://localhost:4566", v)
	}
	return v, nil
}
