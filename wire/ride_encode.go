package wire

import (
	"math"
	"strconv"

	"github.com/rideduration/rideduration/feature"
)

// AppendRideEvent appends a ride event in the original's exact shape, as
// Python's json.dumps writes the original's dict (key order, ", " and ": "
// separators, floats as repr writes them):
//
//	{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}
//
// The distance is written in Python's shortest round-trip form, so
// ParseRideEvent reads back the same bits. It is finite: feature.New
// refuses the rest.
func AppendRideEvent(b []byte, f feature.Features, rideID int64) []byte {
	b = append(b, `{"ride": {"PULocationID": `...)
	b = strconv.AppendInt(b, int64(f.PU), 10)
	b = append(b, `, "DOLocationID": `...)
	b = strconv.AppendInt(b, int64(f.DO), 10)
	b = append(b, `, "trip_distance": `...)
	b = appendPythonFloat(b, f.Distance)
	b = append(b, `}, "ride_id": `...)
	b = strconv.AppendInt(b, rideID, 10)
	return append(b, '}')
}

// appendPythonFloat writes x as Python's repr(float) does: the shortest
// digits that round-trip; positional notation when 1e-4 ≤ |x| < 1e16 (with
// ".0" when integral), else exponent notation with at least two exponent
// digits ("1e-05", "1e+16").
func appendPythonFloat(b []byte, x float64) []byte {
	if abs := math.Abs(x); abs != 0 && (abs < 1e-4 || abs >= 1e16) {
		return strconv.AppendFloat(b, x, 'e', -1, 64) // Go also writes e-05, e+16
	}
	n := len(b)
	b = strconv.AppendFloat(b, x, 'f', -1, 64)
	for _, c := range b[n:] {
		if c == '.' {
			return b
		}
	}
	return append(b, ".0"...)
}
