// Package backfill scores history: every trip of TLC trip files that is a
// valid ride gets the model's prediction, written with the trip's times, ids,
// distance and actual duration (parquet or CSV). There is no duration
// filter, unlike training: a backfill scores what happened, including trips
// of under a minute or over an hour.
//
// A trip is scored exactly as the function scores the same ride: the same
// feature.Features, the same model.Model, refused by the same rules. A trip
// that is not a valid ride (a null id, distance or time, a negative
// distance, a distance the model's input type cannot hold, ...) is never
// dropped silently: it is counted by reason and handed to Job.Bad.
package backfill

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"sync/atomic"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/model"
	"github.com/rideduration/rideduration/tlc"
)

// Job scores trip files into one output.
type Job struct {
	Model model.Model
	Out   Output
	// Bad, when set, is called for each trip that is not a valid ride.
	Bad func(Bad) error
	// Progress, when set, is called with the trips done and the trips in
	// all files: once before the first, then after every chunk of trips.
	Progress func(done, total int64)
}

// Bad is a trip that is not a valid ride, and why.
type Bad struct {
	File string
	Row  int // the trip's row in its file, from 0
	Err  *feature.FieldError
}

// Summary counts what a run did.
type Summary struct {
	Trips  int            // trips read
	Scored int            // rows written
	Bad    map[string]int // trips that are not valid rides, by reason (FieldError.Class)
}

// BadTrips is the number of trips that were not valid rides.
func (s Summary) BadTrips() int { return s.Trips - s.Scored }

// chunk is how many trips are scored and written at a time: the progress
// step, and small enough for the rows to stay in cache.
const chunk = 16 << 10

// Run scores the trips of the files (tlc.OpenAll), in order, into j.Out.
// It stops at the first error, or when ctx is cancelled, and then aborts
// j.Out (Output.Abort): a result holds every trip or is not written.
// Otherwise it closes j.Out. The files stay open.
func (j *Job) Run(ctx context.Context, files tlc.Files) (Summary, error) {
	sum := Summary{Bad: map[string]int{}}
	err := j.run(ctx, files, &sum)
	if err == nil {
		err = j.Out.Close()
	} else {
		j.Out.Abort()
	}
	return sum, err
}

func (j *Job) run(ctx context.Context, files tlc.Files, sum *Summary) error {
	total := files.NumRows()
	j.progress(0, total)
	w := newWriteBehind(j.Out, 2) // one being scored into, one being written
	err := j.score(ctx, files, total, w, sum)
	if werr := w.close(); err == nil {
		err = werr
	}
	return err
}

// score scores the files' trips chunk by chunk, handing the rows to w.
func (j *Job) score(ctx context.Context, files tlc.Files, total int64, w *writeBehind, sum *Summary) error {
	ctx, cancel := context.WithCancel(ctx)
	chunks := readAhead(ctx, files)
	defer func() {
		cancel()
		for range chunks { // wait for the reader to stop
		}
	}()
	var bad []Bad
	for c := range chunks {
		if c.err != nil {
			return c.err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if w.failed.Load() {
			return nil // close returns the writer's error
		}
		bad = bad[:0]
		rows := Score(j.Model, c.trips, 0, c.trips.Len(), w.buffer(), func(i int, err *feature.FieldError) {
			bad = append(bad, Bad{File: c.file, Row: c.first + i, Err: err})
		})
		n := c.trips.Len()
		c.done()
		sum.Trips += n
		sum.Scored += len(rows)
		w.write(rows)
		for _, b := range bad {
			sum.Bad[b.Err.Class()]++
			if j.Bad != nil {
				if err := j.Bad(b); err != nil {
					return err
				}
			}
		}
		j.progress(int64(sum.Trips), total)
	}
	return ctx.Err() // the reader stops early only when ctx ends
}

// chunkRead is a chunk of a file's trips, read ahead.
type chunkRead struct {
	file  string
	first int // the row of its first trip in the file
	trips *tlc.Trips
	done  func() // hands trips back to the reader
	err   error
}

// readAhead reads the files' trips on its own goroutine, a chunk at a time,
// so that the next chunk is decompressed while this one is scored. It uses
// two chunk buffers: a chunk's trips are valid until its done is called. It
// stops at the first error (the last chunk sent) or when ctx ends.
func readAhead(ctx context.Context, files tlc.Files) <-chan chunkRead {
	out := make(chan chunkRead)
	free := make(chan *tlc.Trips, 2)
	free <- new(tlc.Trips)
	free <- new(tlc.Trips)
	send := func(c chunkRead) bool {
		select {
		case out <- c:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(out)
		for _, f := range files {
			if !readFile(ctx, f, free, send) {
				return
			}
		}
	}()
	return out
}

// readFile reads one file for readAhead; false means stop.
func readFile(ctx context.Context, f *tlc.File, free chan *tlc.Trips, send func(chunkRead) bool) bool {
	r := f.Reader()
	defer r.Close()
	for first := 0; ; {
		var t *tlc.Trips
		select {
		case t = <-free:
		case <-ctx.Done():
			return false
		}
		err := r.Read(t, chunk)
		if errors.Is(err, io.EOF) {
			free <- t
			return true
		}
		if !send(chunkRead{file: f.Path, first: first, trips: t, done: func() { free <- t }, err: err}) || err != nil {
			return false
		}
		first += t.Len()
	}
}

// writeBehind writes rows to an Output on its own goroutine, so that the
// next chunk is read and scored while this one is encoded, compressed and
// written, the larger part of the work.
type writeBehind struct {
	out    Output
	todo   chan []Row
	free   chan []Row
	err    chan error
	failed atomic.Bool
}

// newWriteBehind starts a writer with n row buffers of a chunk each.
func newWriteBehind(out Output, n int) *writeBehind {
	w := &writeBehind{out: out, todo: make(chan []Row, n), free: make(chan []Row, n), err: make(chan error, 1)}
	for range n {
		w.free <- make([]Row, 0, chunk)
	}
	go func() {
		var err error
		for rows := range w.todo {
			if err == nil {
				if err = out.Write(rows); err != nil {
					w.failed.Store(true)
				}
			}
			w.free <- rows[:0]
		}
		w.err <- err
	}()
	return w
}

// buffer returns an empty row buffer, once the writer is done with one.
func (w *writeBehind) buffer() []Row { return <-w.free }

// write queues rows, a buffer from buffer, to be written.
func (w *writeBehind) write(rows []Row) { w.todo <- rows }

// close waits for the rows queued to be written and returns the first
// write error.
func (w *writeBehind) close() error {
	close(w.todo)
	return <-w.err
}

func (j *Job) progress(done, total int64) {
	if j.Progress != nil {
		j.Progress(done, total)
	}
}

// Score predicts trips lo to hi of ts with m and appends their rows to rows.
// Each trip that is not a valid ride is handed to bad, with its index in ts,
// instead. A valid ride has valid features (feature.Trip.Features) that m's
// input type holds (feature.Precision.Check), as the function requires of a
// ride event, and both times, for its actual duration.
func Score(m model.Model, ts *tlc.Trips, lo, hi int, rows []Row, bad func(i int, err *feature.FieldError)) []Row {
	for i := lo; i < hi; i++ {
		x, err := ts.Features(i)
		if err == nil {
			err = m.Precision.Check(x)
		}
		var minutes float64
		if err == nil {
			minutes, err = ts.Duration(i)
		}
		if err != nil {
			var fe *feature.FieldError
			if !errors.As(err, &fe) {
				fe = &feature.FieldError{Field: "trip", Reason: err.Error()}
			}
			bad(i, fe)
			continue
		}
		rows = append(rows, Row{
			Pickup:       ts.Pickup[i],
			Dropoff:      ts.Dropoff[i],
			PULocationID: int64(x.PU),
			DOLocationID: int64(x.DO),
			TripDistance: x.Distance,
			Duration:     minutes,
			RideDuration: m.Predict(x),
		})
	}
	return rows
}

// BadCSV returns a Job.Bad that writes each bad trip as a CSV line,
// file,row,field,reason, after a header; flush writes out what is buffered.
func BadCSV(w io.Writer) (bad func(Bad) error, flush func() error) {
	cw := csv.NewWriter(w)
	header := false
	bad = func(b Bad) error {
		if !header {
			header = true
			if err := cw.Write([]string{"file", "row", "field", "reason"}); err != nil {
				return err
			}
		}
		return cw.Write([]string{b.File, strconv.Itoa(b.Row), b.Err.Field, b.Err.Reason})
	}
	flush = func() error {
		if !header {
			header = true
			cw.Write([]string{"file", "row", "field", "reason"})
		}
		cw.Flush()
		return cw.Error()
	}
	return bad, flush
}
