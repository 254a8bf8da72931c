package progress

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
