package lambda

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// PutRecordsAPI is the one Kinesis call the handler makes; *kinesis.Client
// implements it.
type PutRecordsAPI interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Limits of one PutRecords call.
const (
	maxPutRecords = 500
	maxPutBytes   = 5 << 20 // data plus partition keys
)

// entry is one record to write, and the index of the event record it came from.
type entry struct {
	data  []byte
	key   string
	index int
}

func (e entry) size() int { return len(e.data) + len(e.key) }

// putResult counts what put did, for the batch log line.
type putResult struct {
	failed  []int // indexes of entries that were not written
	calls   int
	resent  int   // entries sent again after a partial failure
	lastErr error // the last call error or entry error code seen
}

// put writes entries to stream in calls of at most 500 records / 5 MiB.
// PutRecords can succeed while failing some entries; only those are sent
// again, after a jittered backoff, up to cfg.Attempts calls per entry.
// A call that returns an error has already been retried by the SDK's
// retryer (transport errors, throttling), so its entries are given up on at
// once. The entries left over are returned: the caller reports them as batch
// item failures, so Lambda re-delivers them.
func (h *Handler) put(ctx context.Context, stream string, entries []entry) putResult {
	var res putResult
	pending := entries
	for attempt := 1; len(pending) > 0; attempt++ {
		if attempt > 1 {
			res.resent += len(pending)
			if !sleep(ctx, h.backoff(attempt-1)) {
				break
			}
		}
		var retry []entry
		for len(pending) > 0 {
			n := chunk(pending)
			batch := pending[:n]
			pending = pending[n:]
			res.calls++
			out, err := h.client.PutRecords(ctx, request(stream, batch))
			if err != nil {
				res.lastErr = err
				res.failed = appendIndexes(res.failed, batch)
				continue
			}
			for i, r := range out.Records {
				if r.ErrorCode != nil {
					res.lastErr = entryError{code: aws.ToString(r.ErrorCode), msg: aws.ToString(r.ErrorMessage)}
					retry = append(retry, batch[i])
				}
			}
		}
		pending = retry
		if attempt >= h.attempts() {
			break
		}
	}
	res.failed = appendIndexes(res.failed, pending)
	return res
}

// entryError is a PutRecords entry's error code and message.
type entryError struct{ code, msg string }

func (e entryError) Error() string { return e.code + ": " + e.msg }

// chunk returns how many of the first entries fit in one PutRecords call.
func chunk(entries []entry) int {
	size := 0
	for i, e := range entries {
		size += e.size()
		if i == maxPutRecords || (i > 0 && size > maxPutBytes) {
			return i
		}
	}
	return len(entries)
}

func request(stream string, batch []entry) *kinesis.PutRecordsInput {
	recs := make([]types.PutRecordsRequestEntry, len(batch))
	for i, e := range batch {
		recs[i] = types.PutRecordsRequestEntry{Data: e.data, PartitionKey: aws.String(e.key)}
	}
	return &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: recs}
}

func appendIndexes(dst []int, entries []entry) []int {
	for _, e := range entries {
		dst = append(dst, e.index)
	}
	return dst
}

func (h *Handler) attempts() int {
	if h.cfg.Attempts > 0 {
		return h.cfg.Attempts
	}
	return 4
}

// backoff is "full jitter": a uniform wait in [0, min(cap, 50ms·2^retry)),
// so that concurrent functions throttled together do not retry together.
func (h *Handler) backoff(retry int) time.Duration {
	limit := h.cfg.MaxBackoff
	if limit <= 0 {
		limit = time.Second
	}
	d := min(limit, 50*time.Millisecond<<min(retry, 20))
	return rand.N(d) + 1
}

// sleep waits d, or less if ctx ends first (the function's deadline): then it
// reports false and the remaining entries become batch item failures.
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
