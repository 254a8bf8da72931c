// Package jsonscan reads JSON the way the hot paths want it: in one pass
// over the bytes, with the position a value the functions take and return
// (so that it stays in a register), no allocation and no errors. Each
// function reads JSON at b[i:] and reports false on anything it does not
// handle, leaving the caller to hand the input to a full JSON decoder,
// which then decides, and words any error.
//
// It reads the plain JSON machines write: strings without escapes. Two
// fast paths use it: wire's ride event and kinesisevent's Lambda event.
package jsonscan

import "encoding/binary"

// SkipSpace returns the position of the first byte at or after i that is
// not JSON white space.
func SkipSpace(b []byte, i int) int {
	// One compare ends the loop on most bytes; a bit test tells the four
	// space bytes from the other control characters.
	const space = 1<<' ' | 1<<'\t' | 1<<'\n' | 1<<'\r'
	for i < len(b) && b[i] <= ' ' && space>>b[i]&1 != 0 {
		i++
	}
	return i
}

// Punct skips white space and then the byte c.
func Punct(b []byte, i int, c byte) (int, bool) {
	i = SkipSpace(b, i)
	if i < len(b) && b[i] == c {
		return i + 1, true
	}
	return i, false
}

// Open skips white space and reads the opening byte of an object or an
// array, '{' or '[', and, if the container is empty, its closing byte too.
func Open(b []byte, i int, opening byte) (j int, empty, ok bool) {
	if i, ok = Punct(b, i, opening); !ok {
		return i, false, false
	}
	if j := SkipSpace(b, i); j < len(b) && b[j] == closingOf(opening) {
		return j + 1, true, true
	}
	return i, false, true
}

func closingOf(opening byte) byte {
	if opening == '[' {
		return ']'
	}
	return '}'
}

// Next reads what follows an object's member or an array's element: a
// comma (more) or the closing byte, '}' or ']' (no more).
func Next(b []byte, i int, closing byte) (more bool, j int, ok bool) {
	i = SkipSpace(b, i)
	if i < len(b) {
		switch b[i] {
		case ',':
			return true, i + 1, true
		case closing:
			return false, i + 1, true
		}
	}
	return false, i, false
}

// PlainString reads a string with no escapes and no control characters,
// returning its content, which it does not check for valid UTF-8.
func PlainString(b []byte, i int) (text []byte, j int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	j = i + 1
	for j+8 <= len(b) && !special(binary.LittleEndian.Uint64(b[j:])) {
		j += 8 // a Lambda event's strings are long: 8 bytes a step
	}
	for ; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return nil, i, false
		}
	}
	return nil, i, false
}

// special reports whether any of the 8 bytes of x is a control character,
// a quote or a backslash: "hasless" and "haszero" of Bit Twiddling Hacks
// (graphics.stanford.edu/~seander/bithacks.html), exact as booleans.
func special(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q, bs := x^(ones*'"'), x^(ones*'\\')
	return ((x-ones*0x20)&^x|(q-ones)&^q|(bs-ones)&^bs)&highs != 0
}

// MemberName reads an object member's name, the colon after it and the
// white space around them: a plain string, as PlainString reads it.
func MemberName(b []byte, i int) (name []byte, j int, ok bool) {
	if name, i, ok = PlainString(b, SkipSpace(b, i)); !ok {
		return nil, i, false
	}
	if i, ok = Punct(b, i, ':'); !ok {
		return nil, i, false
	}
	return name, SkipSpace(b, i), true
}

// Digits returns the position of the first byte at or after i that is not
// a decimal digit.
func Digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// Number reads a JSON number, returning its text.
func Number(b []byte, i int) (num []byte, j int, ok bool) {
	j = i
	if j < len(b) && b[j] == '-' {
		j++
	}
	if j < len(b) && b[j] == '0' {
		j++
	} else if k := Digits(b, j); k > j {
		j = k
	} else {
		return nil, i, false
	}
	if j < len(b) && b[j] == '.' {
		k := Digits(b, j+1)
		if k == j+1 {
			return nil, i, false
		}
		j = k
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := Digits(b, j)
		if k == j {
			return nil, i, false
		}
		j = k
	}
	return b[i:j], j, true
}

// MaxDepth bounds the nesting SkipValue reads.
const MaxDepth = 64

// SkipValue reads any value, with at most MaxDepth levels of nesting, and
// returns where it ends.
func SkipValue(b []byte, i int) (int, bool) {
	return skipValue(b, SkipSpace(b, i), 0)
}

func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) || depth > MaxDepth {
		return i, false
	}
	var ok bool
	switch c := b[i]; c {
	case '"':
		_, i, ok = PlainString(b, i)
		return i, ok
	case '{', '[':
		var empty bool
		if i, empty, ok = Open(b, i, c); !ok || empty {
			return i, ok
		}
		for more := true; more; {
			if c == '{' {
				if _, i, ok = MemberName(b, i); !ok {
					return i, false
				}
			}
			if i, ok = skipValue(b, SkipSpace(b, i), depth+1); !ok {
				return i, false
			}
			if more, i, ok = Next(b, i, closingOf(c)); !ok {
				return i, false
			}
		}
		return i, true
	case 't':
		return literal(b, i, "true")
	case 'f':
		return literal(b, i, "false")
	case 'n':
		return literal(b, i, "null")
	default:
		_, i, ok = Number(b, i)
		return i, ok
	}
}

func literal(b []byte, i int, lit string) (int, bool) {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit), true
	}
	return i, false
}
