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
// (1 record read, 1 failed write: a count of one is singular)
//
// records read from the stream and their rate; how far behind its newest
// record each shard being read is (MillisBehindLatest of its latest read);
// and, summed over the invocations, the bad records, the prediction events
// and dead letters left unwritten, and the entries resent.
//
// On a terminal the line is redrawn in place a few times a second, and
// cleared before a log line is written (status is stderr's writer for the
// log), so that the log is never garbled; elsewhere (a file, a pipe) it is
// a line of its own every interval. When stdout is the same terminal, the
// prediction events are written through Over: the live line is cleared
// before them and redrawn below them, so that it stays a line of its own.
// When the mapping stops, it is written a last time, as a line of its own.
type status struct {
	mu       sync.Mutex
	w        io.Writer // stderr
	live     bool      // w is a terminal: the line is redrawn in place
	width    func() int
	stream   string
	progress func() eventsource.Progress
	window   time.Duration    // the rate is over this long at least
	now      func() time.Time // the clock of a redraw after Over's writes

	bad, failed, resent int // the invocations' figures, summed
	from                time.Time
	fromRecords         int64
	rate                float64 // records read a second
	shown               bool    // a live line is on screen, the cursor at its end
	drawn               bool    // a live line has been drawn: Over redraws it
	midLine             bool    // Over left a line unfinished: no live line now
}

// liveEvery is how often a terminal's status line is redrawn.
const liveEvery = 250 * time.Millisecond

// newStatus returns the status line of stream on w, redrawn in place when
// live; width returns the terminal's width (0: unknown). The rate is
// counted from start.
func newStatus(w io.Writer, live bool, width func() int, stream string, progress func() eventsource.Progress, start time.Time) *status {
	s := &status{w: w, live: live, width: width, stream: stream, progress: progress, from: start, now: time.Now}
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

// Over returns a writer to w, which shows on the same screen as the status
// line: a write clears the live line first and, once it has ended a line,
// redraws it below. While a write has left a line unfinished (a buffer cut
// it), the live line is not drawn.
func (s *status) Over(w io.Writer) io.Writer {
	return overWriter{s, w}
}

type overWriter struct {
	s *status
	w io.Writer
}

func (o overWriter) Write(p []byte) (int, error) {
	s := o.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clear()
	n, err := o.w.Write(p)
	s.midLine = len(p) > 0 && p[len(p)-1] != '\n'
	if s.drawn && !s.midLine {
		s.drawLive(s.now())
	}
	return n, err
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
	if !s.midLine {
		s.drawLive(now)
	}
}

// drawLive redraws the live line in place; s.mu is held.
func (s *status) drawLive(now time.Time) {
	line := s.line(now)
	if w := s.width(); w > 1 && len(line) > w-1 {
		line = line[:w-1] // a line that wrapped could not be redrawn in place
	}
	io.WriteString(s.w, "\r"+line+"\x1b[K")
	s.shown, s.drawn = true, true
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
	return fmt.Sprintf("%s: %s read, %.1f/s; behind: %s; %d bad, %s, %d resent",
		s.stream, count(p.Records, "record"), s.rate, strings.Join(behind, ", "), s.bad, count(s.failed, "failed write"), s.resent)
}

// count is "1 record", "0 records", "2 records".
func count[N int | int64](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
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
