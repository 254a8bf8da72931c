// Package progress shows how far a long job is, on stderr: a progress bar
// (schollz/progressbar) when stderr is a terminal, and otherwise, in logs and
// pipes, a plain line now and then, so that no cursor codes end up in a file.
package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Meter shows a job's progress. Its methods are not safe for concurrent use.
type Meter interface {
	// Set reports done of total units.
	Set(done, total int64)
	// Done ends the display; the job's summary line follows it.
	Done()
}

// New returns a bar when w is a terminal, a plain line every 5 s
// otherwise. what names the job ("backfill"), unit what it counts ("trips").
func New(w io.Writer, what, unit string) Meter {
	if IsTerminal(w) {
		return NewBar(w, what, unit)
	}
	return NewLines(w, what, unit, 5*time.Second)
}

// IsTerminal tells whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// SameTerminal tells whether a and b are one terminal: what is written to
// one shows on the same screen as what is written to the other.
func SameTerminal(a, b io.Writer) bool {
	if !IsTerminal(a) || !IsTerminal(b) {
		return false
	}
	sa, err := a.(*os.File).Stat()
	if err != nil {
		return false
	}
	sb, err := b.(*os.File).Stat()
	return err == nil && os.SameFile(sa, sb)
}

// Width is the width of the terminal w, in columns; 0 when w is no
// terminal or its width is unknown.
func Width(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return width
}

// NewBar returns a progress bar on w.
func NewBar(w io.Writer, what, unit string) Meter {
	return &bar{bar: progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

type bar struct {
	bar   *progressbar.ProgressBar
	total int64
}

func (b *bar) Set(done, total int64) {
	if total != b.total {
		b.total = total
		b.bar.ChangeMax64(total)
	}
	b.bar.Set64(done)
}

func (b *bar) Done() { b.bar.Finish() }

// NewLines returns a meter that writes "what: done/total unit (p%)" on w at
// most once every interval, and nothing for a job shorter than that.
func NewLines(w io.Writer, what, unit string, every time.Duration) Meter {
	return &lines{w: w, what: what, unit: unit, every: every, last: time.Now()}
}

type lines struct {
	w           io.Writer
	what, unit  string
	every       time.Duration
	last        time.Time
	done, total int64
}

func (l *lines) Set(done, total int64) {
	l.done, l.total = done, total
	if now := time.Now(); now.Sub(l.last) >= l.every {
		l.last = now
		l.print()
	}
}

func (l *lines) print() {
	if l.total > 0 {
		fmt.Fprintf(l.w, "%s: %d/%d %s (%d%%)\n", l.what, l.done, l.total, l.unit, l.done*100/l.total)
	} else {
		fmt.Fprintf(l.w, "%s: %d %s\n", l.what, l.done, l.unit)
	}
}

func (l *lines) Done() {}
