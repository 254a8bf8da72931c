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
	s := scanner{b: data}
	var pu, do int64
	var dist float64
	var haveRide, haveID bool
	ok = s.object(func(name []byte) bool {
		switch string(name) {
		case "ride":
			if haveRide {
				return false
			}
			haveRide = true
			var havePU, haveDO, haveDist bool
			return s.object(func(name []byte) bool {
				switch string(name) {
				case "PULocationID":
					pu, havePU = s.id(havePU)
					return havePU
				case "DOLocationID":
					do, haveDO = s.id(haveDO)
					return haveDO
				case "trip_distance":
					if haveDist {
						return false
					}
					dist, haveDist = s.float()
					return haveDist
				}
				return false
			}) && havePU && haveDO && haveDist
		case "ride_id":
			if haveID {
				return false
			}
			ride.RideID, ride.idText, haveID = s.rideID()
			return haveID
		}
		return false
	}) && haveRide && haveID && s.end()
	if !ok {
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
	for s.i < len(s.b) {
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

// object reads {"name": value, ...}, calling member at each value.
func (s *scanner) object(member func(name []byte) bool) bool {
	if !s.byte('{') {
		return false
	}
	if s.byte('}') {
		return true
	}
	for {
		s.ws()
		name, ok := s.plainString()
		if !ok || !s.byte(':') {
			return false
		}
		s.ws()
		if !member(name) {
			return false
		}
		if s.byte('}') {
			return true
		}
		if !s.byte(',') {
			return false
		}
	}
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

// id reads a location id written as plain digits (130, not 130.0 or 1.3e2:
// those go to parseJSON). seen refuses a repeated key.
func (s *scanner) id(seen bool) (int64, bool) {
	num, ok := s.number()
	if !ok || seen || len(num) > 10 || num[0] < '1' || num[0] > '9' {
		return 0, false
	}
	for _, c := range num {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(string(num), 10, 64)
	return id, err == nil
}

func (s *scanner) float() (float64, bool) {
	num, ok := s.number()
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseFloat(string(num), 64)
	return x, err == nil
}

// rideID reads a number, or a plain string of 1 to 256 characters of valid
// UTF-8, returning it as sent and as the partition key.
func (s *scanner) rideID() ([]byte, string, bool) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '"' {
		text, ok := s.plainString()
		if !ok || !utf8.Valid(text) {
			return nil, "", false
		}
		if n := utf8.RuneCount(text); n == 0 || n > MaxRideIDLen {
			return nil, "", false
		}
		return s.b[start:s.i], string(text), true
	}
	num, ok := s.number()
	if !ok || len(num) > MaxRideIDLen {
		return nil, "", false // too long a key: parseJSON says so
	}
	return num, string(num), true
}
