package wire

import (
	"strconv"
	"unicode/utf8"

	"github.com/rideduration/rideduration/feature"
)

// fastParse reads a ride event of the usual shape without reflection:
//
//	{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}
//
// in any key order and spacing. It gives up (ok false) on anything else:
// other or repeated keys, keys in another case, escapes, a ride id that is
// not valid UTF-8, a location id that is not plain digits, a value New
// refuses. Then parseJSON decides, so the answer, and every error message,
// is always parseJSON's: FuzzFastParse checks that the two agree whenever
// fastParse answers, and checks its rides against an oracle of other code.
// It exists because reflection took two thirds of the Lambda handler's time
// (BenchmarkHandler100); BenchmarkParseRideEvent measures both paths.
func fastParse(data []byte) (ride RideEvent, ok bool) {
	// Straight-line loops, not a callback per member: the closures cost a
	// third of the parse (BenchmarkParseRideEvent).
	const (
		seenRide = 1 << iota
		seenID
		seenPU
		seenDO
		seenDist
		seenAll = seenRide | seenID | seenPU | seenDO | seenDist
	)
	s := scanner{b: data}
	var pu, do int64
	var dist float64
	var seen uint8
	if !s.byte('{') {
		return RideEvent{}, false
	}
	for more := true; more; {
		name, ok := s.name()
		if !ok {
			return RideEvent{}, false
		}
		switch name {
		case nameRide:
			if seen&seenRide != 0 || !s.byte('{') {
				return RideEvent{}, false
			}
			seen |= seenRide
			for more := true; more; {
				name, ok := s.name()
				if !ok {
					return RideEvent{}, false
				}
				switch name {
				case namePU:
					if seen&seenPU != 0 {
						return RideEvent{}, false
					}
					seen |= seenPU
					pu, ok = s.id()
				case nameDO:
					if seen&seenDO != 0 {
						return RideEvent{}, false
					}
					seen |= seenDO
					do, ok = s.id()
				case nameDistance:
					if seen&seenDist != 0 {
						return RideEvent{}, false
					}
					seen |= seenDist
					dist, ok = s.float()
				default:
					ok = false
				}
				if !ok {
					return RideEvent{}, false
				}
				if more, ok = s.more(); !ok {
					return RideEvent{}, false
				}
			}
		case nameRideID:
			if seen&seenID != 0 {
				return RideEvent{}, false
			}
			seen |= seenID
			if ride.RideID, ride.key, ok = s.rideID(); !ok {
				return RideEvent{}, false
			}
		default:
			return RideEvent{}, false
		}
		if more, ok = s.more(); !ok {
			return RideEvent{}, false
		}
	}
	if seen != seenAll || !s.end() {
		return RideEvent{}, false
	}
	f, err := feature.New(pu, do, dist)
	if err != nil {
		return RideEvent{}, false
	}
	ride.Features = f
	return ride, true
}

// scanner walks JSON bytes; every method reports false on anything it does
// not handle, never an error.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	// Most calls find no white space at all: one test, then the loop.
	for s.i < len(s.b) && s.b[s.i] <= ' ' {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// byte skips white space and then the byte c.
func (s *scanner) byte(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// The member names fastParse reads. Any other name, or one of these in
// another case or written with an escape, is parseJSON's.
const (
	nameRide = iota + 1
	nameRideID
	namePU
	nameDO
	nameDistance
)

// quotedNames are the names as they must appear, quotes included: a name
// is compared as a whole, not scanned byte by byte for its end, escapes and
// control characters (that scanning was a fifth of the handler's time).
var quotedNames = [...]string{
	nameRide:     `"ride"`,
	nameRideID:   `"ride_id"`,
	namePU:       `"PULocationID"`,
	nameDO:       `"DOLocationID"`,
	nameDistance: `"trip_distance"`,
}

// name reads a member name fastParse knows, `"name":`, and the white space
// around it.
func (s *scanner) name() (name int, ok bool) {
	s.ws()
	rest := s.b[s.i:]
	if len(rest) < 6 || rest[0] != '"' {
		return 0, false
	}
	switch rest[1] { // the names differ in their first letter, but ride and ride_id
	case 'r':
		name = nameRide
		if rest[5] == '_' {
			name = nameRideID
		}
	case 'P':
		name = namePU
	case 'D':
		name = nameDO
	case 't':
		name = nameDistance
	default:
		return 0, false
	}
	q := quotedNames[name]
	if len(rest) < len(q) || string(rest[:len(q)]) != q {
		return 0, false
	}
	s.i += len(q)
	if !s.byte(':') {
		return 0, false
	}
	s.ws()
	return name, true
}

// more reads what follows an object's member: a comma (more members) or
// the closing brace (no more).
func (s *scanner) more() (more, ok bool) {
	s.ws()
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case ',':
			s.i++
			return true, true
		case '}':
			s.i++
			return false, true
		}
	}
	return false, false
}

// plainString reads a string with no escapes and no control characters,
// returning its content.
func (s *scanner) plainString() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:j], true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// number reads a JSON number, returning its text.
func (s *scanner) number() ([]byte, bool) {
	b, start := s.b, s.i
	j := start
	digits := func() bool {
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j > k
	}
	if j < len(b) && b[j] == '-' {
		j++
	}
	if j < len(b) && b[j] == '0' {
		j++
	} else if !digits() {
		return nil, false
	}
	if j < len(b) && b[j] == '.' {
		j++
		if !digits() {
			return nil, false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if !digits() {
			return nil, false
		}
	}
	s.i = j
	return b[start:j], true
}

// id reads a location id written as plain digits, at most 10 of them (130,
// not 130.0 or 1.3e2 or 0130: those go to parseJSON).
func (s *scanner) id() (int64, bool) {
	b, j := s.b, s.i
	var id int64
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		id = id*10 + int64(b[j]-'0')
		j++
	}
	if n := j - s.i; n == 0 || n > 10 || b[s.i] == '0' {
		return 0, false
	}
	if j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		return 0, false
	}
	s.i = j
	return id, true
}

func (s *scanner) float() (float64, bool) {
	if x, ok := s.shortFloat(); ok {
		return x, true
	}
	num, ok := s.number()
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseFloat(string(num), 64)
	return x, err == nil
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// shortFloat reads a number of at most 15 digits, without exponent, such
// as a trip distance (3.66): its digits m and its power of ten 10^k are
// both exact float64s, so m / 10^k, one IEEE division, is the correctly
// rounded value, the one ParseFloat returns (Clinger's fast path, which is
// strconv's too, without reading the text twice). Anything else it leaves
// to ParseFloat, reading nothing.
func (s *scanner) shortFloat() (float64, bool) {
	b, j := s.b, s.i
	neg := j < len(b) && b[j] == '-'
	if neg {
		j++
	}
	var m uint64
	start := j
	for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
		m = m*10 + uint64(b[j]-'0')
	}
	if j == start || (b[start] == '0' && j-start > 1) { // no digits; 01 is not JSON
		return 0, false
	}
	digits, frac := j-start, 0
	if j < len(b) && b[j] == '.' {
		j++
		fracStart := j
		for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
			m = m*10 + uint64(b[j]-'0')
		}
		frac = j - fracStart
		digits += frac
		if frac == 0 {
			return 0, false
		}
	}
	if digits > 15 || (j < len(b) && (b[j] == 'e' || b[j] == 'E')) {
		return 0, false
	}
	x := float64(m) / pow10[frac]
	if neg {
		x = -x
	}
	s.i = j
	return x, true
}

// rideID reads a number, or a plain string of 1 to 256 characters of valid
// UTF-8, returning it as sent and as the partition key: both slices of the
// record, nothing copied.
func (s *scanner) rideID() (raw, key []byte, ok bool) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '"' {
		text, ok := s.plainString()
		if !ok || !utf8.Valid(text) {
			return nil, nil, false
		}
		if n := utf8.RuneCount(text); n == 0 || n > MaxRideIDLen {
			return nil, nil, false
		}
		return s.b[start:s.i], text, true
	}
	num, ok := s.number()
	if !ok || len(num) > MaxRideIDLen {
		return nil, nil, false // too long a key: parseJSON says so
	}
	return num, num, true
}
