package progress

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

func TestLines(t *testing.T) {
	var b bytes.Buffer
	m := NewLines(&b, "backfill", "trips", 0) // every Set prints
	m.Set(0, 200)
	m.Set(50, 200)
	m.Done()
	assert.Equal(t, "backfill: 0/200 trips (0%)\nbackfill: 50/200 trips (25%)\n", b.String())

	b.Reset()
	m = NewLines(&b, "replay", "rides", time.Hour)
	m.Set(10, 20)
	m.Done()
	assert.Empty(t, b.String(), "nothing for a job shorter than the interval")
}

func TestBar(t *testing.T) {
	var b bytes.Buffer
	m := NewBar(&b, "replay", "rides")
	m.Set(0, 100)
	m.Set(100, 100)
	m.Done()
	assert.Contains(t, b.String(), "\rreplay   0% |")
	assert.Contains(t, b.String(), "(0/100, ")
	assert.Regexp(t, `\r +\r$`, b.String(), "Done clears the bar: the summary line takes its place")
}

// Not a terminal (a file, a pipe): plain lines, no cursor codes.
func TestNewNotATerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	assert.NoError(t, err)
	defer f.Close()
	assert.IsType(t, &lines{}, New(f, "backfill", "trips"))
	assert.IsType(t, &lines{}, New(&bytes.Buffer{}, "backfill", "trips"))
}

// SameTerminal on real terminals, pseudo-terminals (creack/pty): the two
// ends a shell gives a command for stdout and stderr (the pty's terminal
// opened twice) are one; another pty, or a pipe, is not.
func TestSameTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		testenv.Missing(t, "a pseudo-terminal (/dev/ptmx): "+err.Error())
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	again, err := os.OpenFile(tty.Name(), os.O_WRONLY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { again.Close() })
	ptmx2, tty2, err := pty.Open()
	require.NoError(t, err)
	t.Cleanup(func() { ptmx2.Close(); tty2.Close() })
	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { r.Close(); w.Close() })

	assert.True(t, SameTerminal(tty, again), "one terminal, opened twice")
	assert.True(t, SameTerminal(tty, tty))
	assert.False(t, SameTerminal(tty, tty2), "two terminals")
	assert.False(t, SameTerminal(tty, w), "a pipe")
	assert.False(t, SameTerminal(w, w), "a pipe is no terminal")
	assert.False(t, SameTerminal(tty, new(bytes.Buffer)))
}
