package wire

import (
	"strconv"
	"unicode/utf8"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/internal/jsonscan"
)

// fastParse reads a ride event of the usual shape without reflection:
//
//	{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}
//
// in any key order and spacing. It gives up (ok false) on anything else:
// other or repeated keys, keys in another case, escapes, a ride id that is
// not valid UTF-8, a location id that is not plain digits (quoted or not)
// or is quoted for a model that reads it as a number (numbers), a value New
// or the model's input type p refuses. Then parseJSON decides, so the answer,
// and every error message, is always parseJSON's: FuzzFastParse checks that
// the two agree whenever fastParse answers, and checks its rides against
// an oracle of other code. It exists because reflection took two thirds of the Lambda handler's time
// (BenchmarkHandler100); BenchmarkParseRideEvent measures both paths.
//
// The original's own spelling (canonical) is tried first: a third faster
// than scanning members. The scan is straight-line loops, not a callback
// per member (the closures cost a third of the parse), and its position is
// a local the helpers take and return, not a field behind a pointer, so
// that it stays in a register.
func fastParse(b []byte, p feature.Precision, numbers feature.NumberIDs) (ride RideEvent, ok bool) {
	const (
		seenRide = 1 << iota
		seenID
		seenPU
		seenDO
		seenDist
		seenAll = seenRide | seenID | seenPU | seenDO | seenDist
	)
	var (
		pu, do int64
		dist   float64
		seen   uint8
		name   int
		i      int
	)
	if ride, ok = canonical(b, p, numbers); ok {
		return ride, true
	}
	if i, ok = jsonscan.Punct(b, 0, '{'); !ok {
		return RideEvent{}, false
	}
	for more := true; more; {
		if name, i, ok = memberName(b, i); !ok {
			return RideEvent{}, false
		}
		switch name {
		case nameRide:
			if seen&seenRide != 0 {
				return RideEvent{}, false
			}
			seen |= seenRide
			if i, ok = jsonscan.Punct(b, i, '{'); !ok {
				return RideEvent{}, false
			}
			for more := true; more; {
				if name, i, ok = memberName(b, i); !ok {
					return RideEvent{}, false
				}
				switch name {
				case namePU:
					if seen&seenPU != 0 {
						return RideEvent{}, false
					}
					seen |= seenPU
					pu, i, ok = scanID(b, i, numbers&feature.PUNumber != 0)
				case nameDO:
					if seen&seenDO != 0 {
						return RideEvent{}, false
					}
					seen |= seenDO
					do, i, ok = scanID(b, i, numbers&feature.DONumber != 0)
				case nameDistance:
					if seen&seenDist != 0 {
						return RideEvent{}, false
					}
					seen |= seenDist
					dist, i, ok = float(b, i)
				default:
					ok = false
				}
				if !ok {
					return RideEvent{}, false
				}
				if more, i, ok = jsonscan.Next(b, i, '}'); !ok {
					return RideEvent{}, false
				}
			}
		case nameRideID:
			if seen&seenID != 0 {
				return RideEvent{}, false
			}
			seen |= seenID
			if ride.RideID, ride.key, i, ok = scanRideID(b, i); !ok {
				return RideEvent{}, false
			}
		default:
			return RideEvent{}, false
		}
		if more, i, ok = jsonscan.Next(b, i, '}'); !ok {
			return RideEvent{}, false
		}
	}
	if seen != seenAll || jsonscan.SkipSpace(b, i) != len(b) {
		return RideEvent{}, false
	}
	if ride.Features, ok = checked(pu, do, dist, p); !ok {
		return RideEvent{}, false
	}
	return ride, true
}

// checked is features, for a ride fastParse accepts: its errors are
// parseJSON's to word.
func checked(pu, do int64, dist float64, p feature.Precision) (feature.Features, bool) {
	f, err := features(pu, do, dist, p)
	return f, err == nil
}

// The event as the original's producer writes it (and Python's json.dumps,
// with its default separators), constant text between the values.
const (
	canon0 = `{"ride": {"PULocationID": `
	canon1 = `, "DOLocationID": `
	canon2 = `, "trip_distance": `
	canon3 = `}, "ride_id": `
)

// canonical reads an event spelled exactly as the original's producer
// spells it: the constant text is compared with constants (a few word
// compares each), only the values are scanned.
func canonical(b []byte, p feature.Precision, numbers feature.NumberIDs) (ride RideEvent, ok bool) {
	var (
		pu, do int64
		dist   float64
		i      = len(canon0)
	)
	if len(b) < i || string(b[:i]) != canon0 {
		return RideEvent{}, false
	}
	if pu, i, ok = scanID(b, i, numbers&feature.PUNumber != 0); !ok || len(b)-i < len(canon1) || string(b[i:][:len(canon1)]) != canon1 {
		return RideEvent{}, false
	}
	if do, i, ok = scanID(b, i+len(canon1), numbers&feature.DONumber != 0); !ok || len(b)-i < len(canon2) || string(b[i:][:len(canon2)]) != canon2 {
		return RideEvent{}, false
	}
	if dist, i, ok = float(b, i+len(canon2)); !ok || len(b)-i < len(canon3) || string(b[i:][:len(canon3)]) != canon3 {
		return RideEvent{}, false
	}
	if ride.RideID, ride.key, i, ok = scanRideID(b, i+len(canon3)); !ok || i != len(b)-1 || b[i] != '}' {
		return RideEvent{}, false
	}
	if ride.Features, ok = checked(pu, do, dist, p); !ok {
		return RideEvent{}, false
	}
	return ride, true
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

// memberName reads a member name fastParse knows, `"name":`, and the white
// space around it. The name's first letter gives its length, and the name is
// compared whole, quotes included, with constants (which the compiler
// turns into a few word compares), not scanned byte by byte for its end,
// escapes and control characters: that scanning would be a fifth of the
// handler's time.
func memberName(b []byte, i int) (name, j int, ok bool) {
	i = jsonscan.SkipSpace(b, i)
	rest := b[i:]
	if len(rest) < 6 || rest[0] != '"' {
		return 0, i, false
	}
	var n int // the length of the quoted name, if it is one fastParse knows
	switch rest[1] {
	case 'r':
		n = len(`"ride"`)
		if rest[5] == '_' {
			n = len(`"ride_id"`)
		}
	case 'P', 'D':
		n = len(`"PULocationID"`)
	case 't':
		n = len(`"trip_distance"`)
	}
	if n == 0 || len(rest) < n {
		return 0, i, false
	}
	switch string(rest[:n]) {
	case `"ride"`:
		name = nameRide
	case `"ride_id"`:
		name = nameRideID
	case `"PULocationID"`:
		name = namePU
	case `"DOLocationID"`:
		name = nameDO
	case `"trip_distance"`:
		name = nameDistance
	default:
		return 0, i, false
	}
	if i, ok = jsonscan.Punct(b, i+n, ':'); !ok {
		return 0, i, false
	}
	return name, jsonscan.SkipSpace(b, i), true
}

// scanID reads a location id written as plain digits, at most 10 of
// them, or as such digits in quotes, unless the model reads the id as a
// number (asNumber): 130 or "130", not 130.0 or 1.3e2 or 0130 or "0130":
// those go to parseJSON.
func scanID(b []byte, i int, asNumber bool) (id int64, j int, ok bool) {
	quoted := i < len(b) && b[i] == '"'
	start := i
	if quoted {
		if asNumber {
			return 0, i, false
		}
		start++
	}
	for j = start; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
		id = id*10 + int64(b[j]-'0')
	}
	if n := j - start; n == 0 || n > 10 || b[start] == '0' {
		return 0, i, false
	}
	if quoted {
		if j == len(b) || b[j] != '"' {
			return 0, i, false
		}
		return id, j + 1, true
	}
	if j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		return 0, i, false
	}
	return id, j, true
}

// float reads a JSON number as a float64.
func float(b []byte, i int) (float64, int, bool) {
	if x, j, ok := shortFloat(b, i); ok {
		return x, j, true
	}
	num, j, ok := jsonscan.Number(b, i)
	if !ok {
		return 0, i, false
	}
	x, err := strconv.ParseFloat(string(num), 64)
	return x, j, err == nil
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
func shortFloat(b []byte, i int) (x float64, j int, ok bool) {
	j = i
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
		return 0, i, false
	}
	n, frac := j-start, 0
	if j < len(b) && b[j] == '.' {
		j++
		fracStart := j
		for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
			m = m*10 + uint64(b[j]-'0')
		}
		if frac = j - fracStart; frac == 0 {
			return 0, i, false
		}
		n += frac
	}
	if n > 15 || (j < len(b) && (b[j] == 'e' || b[j] == 'E')) {
		return 0, i, false
	}
	x = float64(m) / pow10[frac]
	if neg {
		x = -x
	}
	return x, j, true
}

// scanRideID reads a number, or a plain string of 1 to 256 characters of valid
// UTF-8, returning it as sent and as the partition key: both slices of the
// record, nothing copied.
func scanRideID(b []byte, i int) (raw, key []byte, j int, ok bool) {
	if i < len(b) && b[i] == '"' {
		text, j, ok := jsonscan.PlainString(b, i)
		if !ok || !utf8.Valid(text) {
			return nil, nil, i, false
		}
		if n := utf8.RuneCount(text); n == 0 || n > MaxRideIDLen {
			return nil, nil, i, false
		}
		return b[i:j], text, j, true
	}
	num, j, ok := jsonscan.Number(b, i)
	if !ok || len(num) > MaxRideIDLen {
		return nil, nil, i, false // too long a key: parseJSON says so
	}
	return num, num, j, true
}
