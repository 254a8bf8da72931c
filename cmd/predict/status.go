package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rideduration/rideduration/eventsource"
	"github.com/rideduration/rideduration/handler"
)

// status is the status line of `predict stream` on stderr: what the
// function's metrics show in CloudWatch, locally. It reads
//
//	ride_events: 1234 records read, 812.5/s; behind: shard 0 0s, shard 1 1.2s; 3 bad, 0 failed writes, 5 resent
//
// records read from the stream and their rate; how far behind its newest
// record each shard being read is (MillisBehindLatest of its latest read);
// and, summed over the invocations, the bad records, the prediction events
// and dead letters left unwritten, and the entries resent.
//
// On a terminal the line is redrawn in place a few times a second, and
// cleared before a log line is written (status is stderr's writer for the
// log), so that the log is never garbled; elsewhere (a file, a pipe) it is
// a line of its own every interval. When the mapping stops, it is written
// a last time, as a line of its own.
type status struct {
	mu       sync.Mutex
	w        io.Writer // stderr
	live     bool      // w is a terminal: the line is redrawn in place
	width    func() int
	stream   string
	progress func() eventsource.Progress
	window   time.Duration // the rate is over this long at least

	bad, failed, resent int // the invocations' figures, summed
	from                time.Time
	fromRecords         int64
	rate                float64 // records read a second
	shown               bool    // a live line is on screen, the cursor at its end
}

// liveEvery is how often a terminal's status line is redrawn.
const liveEvery = 250 * time.Millisecond

// newStatus returns the status line of stream on w, redrawn in place when
// live; width returns the terminal's width (0: unknown). The rate is
// counted from start.
func newStatus(w io.Writer, live bool, width func() int, stream string, progress func() eventsource.Progress, start time.Time) *status {
	s := &status{w: w, live: live, width: width, stream: stream, progress: progress, from: start}
	if live {
		s.window = time.Second
	}
	return s
}

// Write writes a log line, the live status line cleared first.
func (s *status) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clear()
	return s.w.Write(p)
}

// batch adds an invocation's figures: handler.Config.OnBatch.
func (s *status) batch(f handler.Figures) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bad += f.Bad
	s.failed += f.WriteFailures
	s.resent += f.Resent
}

// start draws the status line every interval (on a terminal, every
// liveEvery) until stop, which draws it a last time as a line of its own.
func (s *status) start(interval time.Duration) (stop func()) {
	if s.live {
		interval = liveEvery
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				s.draw(now)
			case <-done:
				return
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		s.end(time.Now())
	}
}

// draw writes the status line as of now: in place on a terminal, else as
// a line.
func (s *status) draw(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.live {
		fmt.Fprintf(s.w, "%s %s\n", now.Format(time.RFC3339), s.line(now))
		return
	}
	line := s.line(now)
	if w := s.width(); w > 1 && len(line) > w-1 {
		line = line[:w-1] // a line that wrapped could not be redrawn in place
	}
	io.WriteString(s.w, "\r"+line+"\x1b[K")
	s.shown = true
}

// end writes the status line a last time, as a line of its own.
func (s *status) end(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clear()
	prefix := ""
	if !s.live {
		prefix = now.Format(time.RFC3339) + " "
	}
	fmt.Fprintf(s.w, "%s%s\n", prefix, s.line(now))
}

// clear erases the live line, if shown.
func (s *status) clear() {
	if s.shown {
		io.WriteString(s.w, "\r\x1b[K")
		s.shown = false
	}
}

// line renders the status as of now. The rate is over the time since the
// last rate, once that is at least the window.
func (s *status) line(now time.Time) string {
	p := s.progress()
	if d := now.Sub(s.from); d > 0 && d >= s.window {
		s.rate = float64(p.Records-s.fromRecords) / d.Seconds()
		s.from, s.fromRecords = now, p.Records
	}
	var behind []string
	for _, id := range slices.Sorted(maps.Keys(p.Behind)) {
		behind = append(behind, "shard "+shortShard(id)+" "+roundBehind(p.Behind[id]).String())
	}
	if len(behind) == 0 {
		behind = []string{"-"}
	}
	return fmt.Sprintf("%s: %d records read, %.1f/s; behind: %s; %d bad, %d failed writes, %d resent",
		s.stream, p.Records, s.rate, strings.Join(behind, ", "), s.bad, s.failed, s.resent)
}

// shortShard is a shard id's number: "shardId-000000000012" is "12".
func shortShard(id string) string {
	n, ok := strings.CutPrefix(id, "shardId-")
	if !ok {
		return id
	}
	if n = strings.TrimLeft(n, "0"); n == "" {
		return "0"
	}
	return n
}

// roundBehind rounds a shard's lag for reading: to 0.1 s, to 1 s from a
// minute on.
func roundBehind(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
