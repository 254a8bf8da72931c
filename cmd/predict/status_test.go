package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/eventsource"
	"github.com/rideduration/rideduration/handler"
	"github.com/rideduration/rideduration/internal/faultproxy"
	"github.com/rideduration/rideduration/internal/testenv"
)

// statusLine matches a status line as written when stderr is not a
// terminal, and captures its figures.
var statusLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\S+ (\S+): (\d+) records? read, (\d+\.\d)/s; behind: (.+); (\d+) bad, (\d+) failed writes?, (\d+) resent$`)

// statusLines returns the status lines of stderr, and checks that every
// other line is a JSON log line, whole.
func statusLines(t *testing.T, stderr string) [][]string {
	t.Helper()
	var out [][]string
	for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		if m := statusLine.FindStringSubmatch(line); m != nil {
			out = append(out, m)
			continue
		}
		assert.True(t, json.Valid([]byte(line)), "neither a status line nor a JSON log line: %q", line)
	}
	return out
}

// `predict stream` with stderr not a terminal (a buffer): a status line of
// its own every -status, and a last one when it stops, between whole JSON
// log lines. Against moto: rides and a bad record; then every write failing
// until the mapping retries, which the figures show.
func TestStreamStatus(t *testing.T) {
	endpoint := testenv.Moto(t)
	c := testenv.Kinesis(t, endpoint)

	t.Run("rides and a bad record", func(t *testing.T) {
		streamEnv(t, endpoint, "status_predictions")
		testenv.CreateStream(t, c, "status_rides", 1)
		testenv.CreateStream(t, c, "status_predictions", 1)
		put(t, c, "status_rides", testRide, testRide, "Hi test 1", testRide)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		code, stdout, stderr := startStream(ctx, "stream", "-poll", "50ms", "-status", "100ms", "status_rides")
		waitFor(t, func() bool {
			return strings.Contains(stderr.String(), " status_rides: 4 records read, ") &&
				strings.Contains(stderr.String(), "; behind: shard 0 0s; 1 bad, 0 failed writes, 0 resent\n")
		})
		cancel()
		assert.Equal(t, 0, exitStatus(t, code), stderr.String())
		assert.Equal(t, 3, strings.Count(stdout.String(), "\n"), "the rides' predictions")

		lines := statusLines(t, stderr.String())
		require.GreaterOrEqual(t, len(lines), 2, "every 100ms, and at the end")
		last := lines[len(lines)-1]
		assert.Equal(t, []string{"status_rides", "4", "-", "1", "0", "0"},
			[]string{last[1], last[2], last[4], last[5], last[6], last[7]}, "the last line: no shard read any more")
		assert.True(t, strings.HasSuffix(stderr.String(), last[0]+"\n"), "written last")
		t.Logf("status lines:\n%s\n%s", lines[len(lines)-2][0], last[0])
	})

	// The proxy fails the entries: moto never does.
	t.Run("failed writes and resends", func(t *testing.T) {
		proxy := faultproxy.Start(t, endpoint, 1)
		streamEnv(t, proxy.URL, "failing_predictions")
		testenv.CreateStream(t, c, "failing_rides", 1)
		testenv.CreateStream(t, c, "failing_predictions", 1)
		put(t, c, "failing_rides", testRide, testRide)
		proxy.Set("PutRecords", faultproxy.Faults{EntryFailure: 1})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		code, stdout, stderr := startStream(ctx, "stream", "-poll", "50ms", "-function-timeout", "2s", "-status", "100ms", "failing_rides")
		waitFor(t, func() bool { return strings.Contains(stderr.String(), `"msg":"retrying"`) })
		proxy.Set("PutRecords", faultproxy.Faults{})
		waitFor(t, func() bool { return strings.Count(stdout.String(), "\n") == 2 })
		cancel()
		assert.Equal(t, 0, exitStatus(t, code), stderr.String())

		lines := statusLines(t, stderr.String())
		last := lines[len(lines)-1]
		failed, _ := strconv.Atoi(last[6])
		resent, _ := strconv.Atoi(last[7])
		assert.Equal(t, "0", last[5], "no bad record")
		assert.Positive(t, failed, "the writes failed until the mapping retried")
		assert.Positive(t, resent, "resent until the function's time was nearly up")
	})

	t.Run("-status 0: none", func(t *testing.T) {
		streamEnv(t, endpoint, "status_predictions")
		ctx, cancel := context.WithCancel(context.Background())
		code, _, stderr := startStream(ctx, "stream", "-poll", "50ms", "-status", "0", "status_rides")
		waitFor(t, func() bool { return strings.Contains(stderr.String(), `"msg":"caught up"`) })
		cancel()
		assert.Equal(t, 0, exitStatus(t, code), stderr.String())
		assert.Empty(t, statusLines(t, stderr.String()))
	})

	t.Run("-status negative: 2", func(t *testing.T) {
		code, _, stderr := startStream(context.Background(), "stream", "-status", "-1s", "status_rides")
		assert.Equal(t, 2, exitStatus(t, code))
		assert.Contains(t, stderr.String(), "predict: -status -1s: want 0 (no status line) or more, e.g. 1m\n")
	})
}

// screen is a fake terminal: what it shows after the bytes written to it,
// for the only controls the status line uses (\r, ESC [K, \n).
type screen struct {
	lines []string
	col   int
}

func (s *screen) Write(p []byte) (int, error) {
	if len(s.lines) == 0 {
		s.lines = []string{""}
	}
	for i := 0; i < len(p); i++ {
		cur := &s.lines[len(s.lines)-1]
		switch {
		case p[i] == '\r':
			s.col = 0
		case p[i] == '\n':
			s.lines, s.col = append(s.lines, ""), 0
		case bytes.HasPrefix(p[i:], []byte("\x1b[K")):
			*cur, i = (*cur)[:s.col], i+2
		default:
			if s.col < len(*cur) {
				*cur = (*cur)[:s.col] + string(p[i]) + (*cur)[s.col+1:]
			} else {
				*cur += string(p[i])
			}
			s.col++
		}
	}
	return len(p), nil
}

// On a terminal: the line redrawn in place, cut to the terminal's width,
// cleared for each log line (which stays whole, above it), the rate over
// the last second, and the last line left on screen at the end. The clock
// is the test's.
func TestStatusTerminal(t *testing.T) {
	var scr screen
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	p := eventsource.Progress{Behind: map[string]time.Duration{}}
	width := 200
	s := newStatus(&scr, true, func() int { return width }, "ride_events", func() eventsource.Progress { return p }, t0)

	s.draw(t0.Add(liveEvery))
	assert.Equal(t, []string{"ride_events: 0 records read, 0.0/s; behind: -; 0 bad, 0 failed writes, 0 resent"}, scr.lines)

	p = eventsource.Progress{Records: 1500, Behind: map[string]time.Duration{
		"shardId-000000000000": 0, "shardId-000000000001": 1234 * time.Millisecond, "shardId-000000000010": 125 * time.Second}}
	s.batch(handler.Figures{Bad: 2, WriteFailures: 3, Resent: 7})
	s.batch(handler.Figures{Bad: 1})
	s.draw(t0.Add(1500 * time.Millisecond)) // 1.5 s since the start: a rate
	want := "ride_events: 1500 records read, 1000.0/s; behind: shard 0 0s, shard 1 1.2s, shard 10 2m5s; 3 bad, 3 failed writes, 7 resent"
	assert.Equal(t, []string{want}, scr.lines, "redrawn in place")

	_, err := s.Write([]byte(`{"level":"INFO","msg":"batch","records":100}` + "\n"))
	require.NoError(t, err)
	assert.Equal(t, []string{`{"level":"INFO","msg":"batch","records":100}`, ""}, scr.lines, "the status cleared, the log line whole")
	p.Records = 1700
	s.draw(t0.Add(1750 * time.Millisecond)) // within the second: the same rate
	assert.Equal(t, []string{`{"level":"INFO","msg":"batch","records":100}`,
		strings.Replace(want, "1500 records", "1700 records", 1)}, scr.lines, "redrawn below the log line")

	width = 40
	s.draw(t0.Add(2500 * time.Millisecond))
	assert.Equal(t, "ride_events: 1700 records read, 200.0/s", scr.lines[1], "cut to the width, less a column; 200 records in the last second")

	s.end(t0.Add(2600 * time.Millisecond))
	assert.Equal(t, []string{`{"level":"INFO","msg":"batch","records":100}`,
		"ride_events: 1700 records read, 200.0/s; behind: shard 0 0s, shard 1 1.2s, shard 10 2m5s; 3 bad, 3 failed writes, 7 resent", ""},
		scr.lines, "the last line whole, and left on screen")
}

// On a terminal that is also stdout: each prediction event is written above
// the live line, which is cleared first and redrawn below it; a write that
// leaves a line unfinished (a full buffer) is not followed by the line, and
// no tick draws it until the line ends. The terminal is the fake screen:
// progress.SameTerminal, which chooses this writer, is tested on a pty.
func TestStatusOverEvents(t *testing.T) {
	var scr screen
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	p := eventsource.Progress{Records: 1, Behind: map[string]time.Duration{"shardId-000000000000": 0}}
	s := newStatus(&scr, true, func() int { return 200 }, "ride_events", func() eventsource.Progress { return p }, t0)
	s.now = func() time.Time { return t0.Add(time.Second) }
	stdout := s.Over(&scr)
	status := "ride_events: 1 record read, 1.0/s; behind: shard 0 0s; 0 bad, 0 failed writes, 0 resent"

	_, err := io.WriteString(stdout, `{"model":"m"}`+"\n")
	require.NoError(t, err)
	assert.Equal(t, []string{`{"model":"m"}`, ""}, scr.lines, "no status line drawn yet: none redrawn")

	s.draw(t0.Add(time.Second))
	assert.Equal(t, []string{`{"model":"m"}`, status}, scr.lines)
	_, err = io.WriteString(stdout, `{"model":"a"}`+"\n"+`{"model":"b"}`+"\n")
	require.NoError(t, err)
	assert.Equal(t, []string{`{"model":"m"}`, `{"model":"a"}`, `{"model":"b"}`, status}, scr.lines, "the events above the line")

	_, err = io.WriteString(stdout, `{"mod`)
	require.NoError(t, err)
	s.draw(t0.Add(2 * time.Second))
	assert.Equal(t, []string{`{"model":"m"}`, `{"model":"a"}`, `{"model":"b"}`, `{"mod`}, scr.lines, "a line unfinished: no status line")
	_, err = io.WriteString(stdout, `el":"c"}`+"\n")
	require.NoError(t, err)
	assert.Equal(t, []string{`{"model":"m"}`, `{"model":"a"}`, `{"model":"b"}`, `{"model":"c"}`, status}, scr.lines, "the line ended: redrawn")

	s.end(t0.Add(2 * time.Second))
	assert.Equal(t, []string{`{"model":"m"}`, `{"model":"a"}`, `{"model":"b"}`, `{"model":"c"}`,
		"ride_events: 1 record read, 0.0/s; behind: shard 0 0s; 0 bad, 0 failed writes, 0 resent", ""}, scr.lines)
}

// A count of one is singular in the status line.
func TestStatusCounts(t *testing.T) {
	var out bytes.Buffer
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	p := eventsource.Progress{Records: 1, Behind: map[string]time.Duration{}}
	s := newStatus(&out, false, func() int { return 0 }, "ride_events", func() eventsource.Progress { return p }, t0)
	s.batch(handler.Figures{Bad: 1, WriteFailures: 1, Resent: 1})
	s.end(t0.Add(time.Second))
	assert.Equal(t, "2026-12-01T12:00:01Z ride_events: 1 record read, 1.0/s; behind: -; 1 bad, 1 failed write, 1 resent\n", out.String())
}

// Not on a terminal: a line of its own each time, with its time, the rate
// over the time since the last line.
func TestStatusLines(t *testing.T) {
	var out bytes.Buffer
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	p := eventsource.Progress{Records: 600, Behind: map[string]time.Duration{"shardId-000000000000": 0}}
	s := newStatus(&out, false, func() int { return 0 }, "ride_events", func() eventsource.Progress { return p }, t0)
	s.draw(t0.Add(time.Minute))
	p.Records = 1200
	_, _ = s.Write([]byte("{}\n"))
	s.end(t0.Add(90 * time.Second))
	assert.Equal(t, "2026-12-01T12:01:00Z ride_events: 600 records read, 10.0/s; behind: shard 0 0s; 0 bad, 0 failed writes, 0 resent\n"+
		"{}\n"+
		"2026-12-01T12:01:30Z ride_events: 1200 records read, 20.0/s; behind: shard 0 0s; 0 bad, 0 failed writes, 0 resent\n", out.String())
}
