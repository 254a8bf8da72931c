// Package lines reads text one line at a time in bounded memory: a line
// longer than the reader's limit is skipped to its newline, counted but
// never held, so that a stream with no newline for gigabytes costs a buffer
// of about the limit.
package lines

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Reader reads lines of at most a limit of bytes.
type Reader struct {
	r    *bufio.Reader
	max  int
	line int
	err  error // the input's end or error, returned from then on
}

// NewReader reads lines of at most max bytes from r, with a buffer of max+2
// bytes (a line, "\r\n").
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, max+2), max: max}
}

// TooLongError is a line over the limit: it was skipped.
type TooLongError struct {
	Line int   // its number, from 1
	Len  int64 // its length in bytes, without its "\n" or "\r\n"
	Max  int   // the limit
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("line %d: %d bytes, over the limit of %d", e.Line, e.Len, e.Max)
}

// Next returns the next line without its "\n" or "\r\n" (the last line may
// have neither), valid until the next call. A line over the limit is read
// to its end and skipped: Next returns a *TooLongError and the following
// lines stay readable. At the end of the input Next returns io.EOF, and
// after an error of the input that error, from then on.
func (r *Reader) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	b, err := r.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		r.line++
		return nil, r.skip(int64(len(b)), b[len(b)-1])
	}
	if err != nil {
		r.err = err
		if len(b) == 0 {
			return nil, err
		}
	}
	r.line++
	b = trimEnd(b)
	if len(b) > r.max { // a line of max+1 bytes and its "\n"
		return nil, &TooLongError{Line: r.line, Len: int64(len(b)), Max: r.max}
	}
	return b, nil
}

// Line is the number of the line Next last read, from 1.
func (r *Reader) Line() int { return r.line }

// skip reads the rest of a line over the limit, of which n bytes, the last
// one last, were read.
func (r *Reader) skip(n int64, last byte) error {
	for {
		b, err := r.r.ReadSlice('\n')
		n += int64(len(b))
		if len(b) > 0 {
			if b[len(b)-1] == '\n' {
				n--
				if len(b) > 1 {
					last = b[len(b)-2]
				}
				if last == '\r' {
					n--
				}
				return &TooLongError{Line: r.line, Len: n, Max: r.max}
			}
			last = b[len(b)-1]
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			r.err = err
			return &TooLongError{Line: r.line, Len: n, Max: r.max}
		}
	}
}

// trimEnd drops a line's "\n" or "\r\n".
func trimEnd(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
	}
	return b
}
