// Package putrecords writes records to a Kinesis stream with PutRecords: as
// few calls as the limits allow (500 records or 5 MiB a call), resending only
// the entries a call failed. The function's handler writes its prediction
// events and dead letters with it; the replay job writes ride events with it.
package putrecords

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/rideduration/rideduration/internal/backoff"
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
	Failed []int // Index of every entry that was not written
	Calls  int
	Resent int // entries sent again after a failure
	// LastErr is the last call error or entry error code seen; an
	// *UnreachableError when Put gave up because nothing answered.
	LastErr error
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
	// an unbounded Put waits out any outage of a stream that answers (see
	// Unreachable).
	Attempts int
	// MaxBackoff caps the jittered wait between rounds of resends. 0 means
	// 1s: Kinesis throttles a shard per second.
	MaxBackoff time.Duration
	// Unreachable: Put gives up on the entries left when for this long no
	// call has been answered (connection refused, no such host, ...):
	// Result.LastErr is then an *UnreachableError. A stream that throttles
	// is worth waiting for; an endpoint where no Kinesis listens (a local
	// one that is down, AWS_ENDPOINT_URL unset or wrong) is not. 0 means
	// DefaultUnreachable; < 0, no bound.
	Unreachable time.Duration
}

// DefaultUnreachable is how long Put goes on sending when no call is
// answered, when Writer.Unreachable is 0: long enough for a local Kinesis
// (moto_server) that is starting or restarting, short enough that a wrong
// or missing endpoint is reported while the user waits.
const DefaultUnreachable = 10 * time.Second

// Put writes entries to stream in calls of at most 500 records / 5 MiB.
// PutRecords can succeed while failing some entries (throttling,
// InternalFailure); only those are sent again, in rounds separated by a
// jittered backoff (see Writer.backoff), for as long as Put's time allows
// (see Writer.Margin, Writer.Attempts and Writer.Unreachable). An entry is
// written only when the response says so: one without a result (a response
// shorter than the request) is sent again, and so is one without a
// sequence number when FailedRecordCount disagrees with the results.
//
// Each call is one attempt: the SDK's own retries would resend a chunk,
// with seconds of backoff, before the next chunk is sent at all, so that
// under throttling the later chunks of a large batch could be given up
// without ever being sent. Put's rounds do the resending instead: every
// chunk is sent once before any is sent again, and every wait is inside
// Put's time. A call that fails as a whole with an error the SDK classifies
// as retryable (throttling, 5xx, transport), or KMSThrottlingException, has
// its entries in the next round; any other error (no such stream, access
// denied, validation) gives them up at once.
func (w *Writer) Put(ctx context.Context, stream string, entries []Entry) Result {
	ctx, cancel := w.budget(ctx)
	defer cancel()
	var res Result
	pending := entries
	stalls := 0          // rounds that wrote nothing
	var silent time.Time // since when no call has been answered; zero once one is
	var lastSilent error // the last unanswered call's error
	for round := 1; len(pending) > 0; round++ {
		if round > 1 {
			if w.Attempts > 0 && round > w.Attempts {
				break
			}
			if limit := w.unreachable(); !silent.IsZero() && limit > 0 && time.Since(silent) >= limit {
				res.LastErr = newUnreachableError(lastSilent, time.Since(silent))
				break
			}
			if backoff.Sleep(ctx, w.backoff(stalls)) != nil { // Put's time is up: the remaining entries are reported failed
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
			out, err := w.Client.PutRecords(ctx, request(stream, batch), oneAttempt)
			switch {
			case !unanswered(err):
				silent = time.Time{}
			case ctx.Err() == nil: // not a call cut at the deadline
				if silent.IsZero() {
					silent = time.Now()
				}
				lastSilent = err
			}
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
				if unanswered(err) { // e.g. no such host
					res.LastErr = newUnreachableError(err, 0)
				}
				res.Failed = appendIndexes(res.Failed, batch)
			default:
				var failed []Entry
				if failed, err = unwritten(out, batch); err != nil {
					res.LastErr = err
				}
				again = append(again, failed...)
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

// oneAttempt makes a PutRecords call a single attempt: Put resends (see
// Put).
func oneAttempt(o *kinesis.Options) { o.RetryMaxAttempts = 1 }

// unwritten returns the entries of batch that out does not show written,
// and the error that says why (an entry's error code), or that says the
// response does not account for every entry. Results are in
// request order, one per entry, and FailedRecordCount counts those with an
// error code; a response that says otherwise is trusted only for the
// entries it gives a sequence number.
func unwritten(out *kinesis.PutRecordsOutput, batch []Entry) (again []Entry, err error) {
	codes := 0
	for _, r := range out.Records {
		if r.ErrorCode != nil {
			codes++
		}
	}
	var inconsistent error
	switch failed := int(aws.ToInt32(out.FailedRecordCount)); {
	case len(out.Records) != len(batch):
		inconsistent = fmt.Errorf("PutRecords response has %d results for %d records", len(out.Records), len(batch))
	case failed != codes:
		inconsistent = fmt.Errorf("PutRecords response counts %d failed records, but %d results have an error code", failed, codes)
	}
	for i, e := range batch {
		switch {
		case i >= len(out.Records):
			again = append(again, e)
		case out.Records[i].ErrorCode != nil:
			r := out.Records[i]
			err = EntryError{Code: aws.ToString(r.ErrorCode), Message: aws.ToString(r.ErrorMessage)}
			again = append(again, e)
		case inconsistent != nil && out.Records[i].SequenceNumber == nil:
			again = append(again, e)
		}
	}
	if inconsistent != nil {
		err = inconsistent
	}
	return again, err
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

func (w *Writer) unreachable() time.Duration {
	if w.Unreachable == 0 {
		return DefaultUnreachable
	}
	return w.Unreachable
}

// retryables are the errors a call is worth resending after: the SDK's
// standard retryer's (throttling, 5xx, transport), and the throttling of
// the KMS key the stream is encrypted with, which the SDK does not list.
var retryables = retry.IsErrorRetryables(append(slices.Clone(retry.DefaultRetryables),
	retry.RetryableErrorCode{Codes: map[string]struct{}{"KMSThrottlingException": {}}}))

// retryable reports whether err is one of retryables: its cause can pass,
// and Put tries again in its next round.
func retryable(err error) bool {
	return retryables.IsErrorRetryable(err) == aws.TrueTernary
}

// unanswered reports whether a call failed without an answer from the
// endpoint: connection refused, no such host, a connection reset.
func unanswered(err error) bool {
	var se *smithyhttp.RequestSendError
	return errors.As(err, &se)
}

// UnreachableError is Result.LastErr when Put gave up because no call was
// answered (see Writer.Unreachable), or at once because the endpoint's host
// does not exist.
type UnreachableError struct {
	Endpoint string        // scheme://host the calls went to, "" if unknown
	For      time.Duration // how long no call was answered; 0 if given up at once
	Err      error         // the last call's error
}

func newUnreachableError(err error, d time.Duration) *UnreachableError {
	e := &UnreachableError{For: d.Round(100 * time.Millisecond), Err: err}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			e.Endpoint = u.Scheme + "://" + u.Host
		}
	}
	return e
}

func (e *UnreachableError) Error() string {
	cause := e.Err
	var ue *url.Error
	if errors.As(cause, &ue) {
		cause = ue.Err // the URL is the endpoint, said once
	}
	msg := fmt.Sprintf("no Kinesis at %s: %v", cmp.Or(e.Endpoint, "the endpoint"), cause)
	if e.For > 0 {
		msg += fmt.Sprintf(" (no answer for %v)", e.For)
	}
	return msg
}

func (e *UnreachableError) Unwrap() error { return e.Err }

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
	return rand.N(backoff.Exponential(50*time.Millisecond, limit, stalls)) + 1
}

// NewClient returns a Kinesis client configured the standard way (region,
// credentials and endpoint from the environment: AWS_ENDPOINT_URL_KINESIS or
// AWS_ENDPOINT_URL point it at a local Kinesis with no code change).
// KINESIS_ENDPOINT_URL, the variable the course's docker-compose file sets,
// does too: it wins over the SDK's global AWS_ENDPOINT_URL, and the SDK's
// own AWS_ENDPOINT_URL_KINESIS wins over it.
// Transport errors and throttled calls are retried by the SDK's standard
// retryer: bounded attempts, exponential backoff with jitter; a Writer's
// PutRecords calls are not (it resends itself, see Put).
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
