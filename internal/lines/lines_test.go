package lines

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// read reads every line of in with a limit of max, through whole and
// one-byte reads: a line's text, or "!N" for a line of N bytes, over the
// limit.
func read(t *testing.T, in string, max int) []string {
	t.Helper()
	var want []string
	for i, r := range []io.Reader{strings.NewReader(in), iotest.OneByteReader(strings.NewReader(in))} {
		lr := NewReader(r, max)
		var got []string
		for {
			line, err := lr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if tl, ok := errors.AsType[*TooLongError](err); ok {
				assert.Equal(t, len(got)+1, tl.Line)
				assert.Equal(t, max, tl.Max)
				got = append(got, fmt.Sprintf("!%d", tl.Len))
				continue
			}
			require.NoError(t, err)
			assert.Equal(t, len(got)+1, lr.Line())
			got = append(got, string(line))
		}
		_, err := lr.Next()
		assert.ErrorIs(t, err, io.EOF, "at the end, from then on")
		if i == 0 {
			want = got
		} else {
			assert.Equal(t, want, got, "one byte at a time")
		}
	}
	return want
}

func TestNext(t *testing.T) {
	x := func(n int) string { return strings.Repeat("x", n) }
	const max = 20 // bufio's smallest buffer is 16 bytes
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a\nb", []string{"a", "b"}},
		{"a\r\n\nb\r\n", []string{"a", "", "b"}},
		{"a\r", []string{"a\r"}},
		{x(max) + "\n" + x(max) + "\r\n" + x(max), []string{x(max), x(max), x(max)}},
		{x(max+1) + "\nb\n", []string{"!21", "b"}},
		{x(max+1) + "\r\nb", []string{"!21", "b"}},
		{x(max + 1), []string{"!21"}},
		{x(max) + "\r", []string{"!21"}}, // no "\n": the "\r" is the line's
		{"a\n" + x(10*max) + "\r\n" + x(3*max) + "\nb\n", []string{"a", "!200", "!60", "b"}},
		{x(2*max+1) + "\r", []string{"!42"}},
		{x(2*max+1) + "\r\n", []string{"!41"}},
	} {
		assert.Equal(t, c.want, read(t, c.in, max), "%q", c.in)
	}
}

// An error of the input ends the lines: it is returned from then on.
func TestNextError(t *testing.T) {
	boom := errors.New("boom")
	lr := NewReader(io.MultiReader(strings.NewReader("a\nb"), iotest.ErrReader(boom)), 20)
	line, err := lr.Next()
	require.NoError(t, err)
	assert.Equal(t, "a", string(line))
	line, err = lr.Next()
	require.NoError(t, err)
	assert.Equal(t, "b", string(line), "the line read before the error")
	_, err = lr.Next()
	assert.ErrorIs(t, err, boom)
	_, err = lr.Next()
	assert.ErrorIs(t, err, boom)
}
