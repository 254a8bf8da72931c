// Package replay puts the trips of TLC trip files on a Kinesis stream as the
// original's ride events, through the function's own writer (putrecords):
// real rides for a local pipeline, and a load generator for a deployed one.
//
// Ride ids are the trips' row numbers, from 0, counting on across files, and
// each ride's partition key is its ride id, so a ride's prediction leads back
// to its trip. A trip that is not a valid ride (a null id or distance, a
// negative distance, ...) is skipped and counted by reason; its row number
// is not given to another ride.
package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"golang.org/x/time/rate"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/putrecords"
	"github.com/rideduration/rideduration/tlc"
	"github.com/rideduration/rideduration/wire"
)

// Replay puts trips on a stream.
type Replay struct {
	Writer *putrecords.Writer
	Stream string
	// Rate, when > 0, is the most rides put per second; 0 means as fast as
	// the stream takes them (the writer backs off when it is throttled).
	Rate float64
	// Limit, when > 0, is the number of rides to put.
	Limit int
	// Progress, when set, is called with the rides put and the rides to put
	// (the limit, or the trips in the files): once before the first call,
	// then after each.
	Progress func(put, total int64)
}

// Summary counts what a run did.
type Summary struct {
	Rides   int            // rides written to the stream
	Failed  int            // rides the writer gave up on
	Resent  int            // entries sent again after PutRecords failed them
	Calls   int            // PutRecords calls
	Skipped map[string]int // trips that are not valid rides, by reason (FieldError.Class)
}

// Run puts the rides of files on the stream, in file order, until the
// files end, the limit is reached, ctx is cancelled or a call fails: the
// writer has then retried it (the SDK retries a failed call; putrecords
// resends failed entries), so the stream is not taking rides and Run
// stops with the writer's last error.
func (r *Replay) Run(ctx context.Context, paths ...string) (Summary, error) {
	sum := Summary{Skipped: map[string]int{}}
	files, err := tlc.OpenAll(paths)
	if err != nil {
		return sum, err
	}
	defer files.Close()
	total := files.NumRows()
	if r.Limit > 0 {
		total = min(total, int64(r.Limit))
	}
	b := newBatcher(r)
	r.progress(0, total)
	put := func() error {
		if len(b.entries) == 0 {
			return nil
		}
		if b.limiter != nil {
			if err := b.limiter.WaitN(ctx, len(b.entries)); err != nil {
				return err
			}
		}
		res := r.Writer.Put(ctx, r.Stream, b.entries)
		sum.Calls += res.Calls
		sum.Resent += res.Resent
		sum.Failed += len(res.Failed)
		sum.Rides += len(b.entries) - len(res.Failed)
		b.reset()
		r.progress(int64(sum.Rides), total)
		if len(res.Failed) > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fmt.Errorf("%s: %d rides not written: %w", r.Stream, len(res.Failed), res.LastErr)
		}
		return ctx.Err()
	}
	queued := 0
	err = eachRide(files, b.size, sum.Skipped, func(x feature.Features, id int64) error {
		if r.Limit > 0 && queued == r.Limit {
			return errLimit
		}
		b.add(x, id)
		queued++
		if len(b.entries) == b.size {
			return put()
		}
		return nil
	})
	if errors.Is(err, errLimit) {
		err = nil
	}
	if err == nil {
		err = put()
	}
	return sum, err
}

var errLimit = errors.New("limit reached")

// eachRide calls fn with each valid ride of the files and its ride id, the
// row number across the files, reading n trips at a time. It counts the
// trips that are not valid rides in skipped, by reason, and stops at the
// first error.
func eachRide(files tlc.Files, n int, skipped map[string]int, fn func(x feature.Features, id int64) error) error {
	var id int64
	var trips tlc.Trips
	for _, f := range files {
		err := func() error {
			r := f.Reader()
			defer r.Close()
			for {
				if err := r.Read(&trips, n); errors.Is(err, io.EOF) {
					return nil
				} else if err != nil {
					return err
				}
				for i := range trips.Len() {
					x, err := trips.Features(i)
					if err != nil {
						skipped[feature.Class(err)]++
					} else if err := fn(x, id); err != nil {
						return err
					}
					id++
				}
			}
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *Replay) progress(put, total int64) {
	if r.Progress != nil {
		r.Progress(put, total)
	}
}

// batcher collects the entries of one Put: at most 500 rides (a
// PutRecords call) or, with a rate, a tenth of a second's rides, so that a
// slow rate is spread over the second rather than sent in one burst.
type batcher struct {
	size    int
	limiter *rate.Limiter
	entries []putrecords.Entry
	data    []byte // the entries' data, back to back
}

func newBatcher(r *Replay) *batcher {
	b := &batcher{size: putrecords.MaxRecords}
	if r.Rate > 0 {
		b.size = max(1, min(putrecords.MaxRecords, int(r.Rate/10)))
		b.limiter = rate.NewLimiter(rate.Limit(r.Rate), b.size)
	}
	b.entries = make([]putrecords.Entry, 0, b.size)
	b.data = make([]byte, 0, b.size*100)
	return b
}

// add queues ride x with ride id id. Each entry's Data is a full slice
// expression of b.data, so that appending the next event never writes
// into it, even when b.data grows.
func (b *batcher) add(x feature.Features, id int64) {
	start := len(b.data)
	b.data = wire.AppendRideEvent(b.data, x, id)
	key := strconv.FormatInt(id, 10)
	b.entries = append(b.entries, putrecords.Entry{Data: b.data[start:len(b.data):len(b.data)], Key: key, Index: int(id)})
}

func (b *batcher) reset() {
	b.entries = b.entries[:0]
	b.data = b.data[:0]
}
