package wire

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/internal/testenv"
)

func TestAppendRideEvent(t *testing.T) {
	f := feature.Features{Key: feature.Key{PU: 130, DO: 205}, Distance: 3.66}
	assert.Equal(t, `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`,
		string(AppendRideEvent(nil, f, 123)), "the original's event, byte for byte")
}

// distances to check against Python: the edges of its notations, integral
// values, and random ones of every magnitude.
func distances() []float64 {
	xs := []float64{0, math.Copysign(0, -1), 1, 3, 3.66, 0.1, 1e-4, math.Nextafter(1e-4, 0), 1.5e-5, 123456.789,
		1e15, 9999999999999998, 1e16, 1.5e16, 1e22, 5e-324, math.MaxFloat64, 0.30000000000000004, 23000, 1e6}
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		xs = append(xs, math.Float64frombits(r.Uint64()>>1)) // every finite exponent
		xs = append(xs, r.Float64()*math.Pow(10, float64(r.IntN(30)-10)))
	}
	finite := xs[:0]
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			finite = append(finite, x)
		}
	}
	return finite
}

// The distance is written as Python's json.dumps writes it.
func TestAppendRideEventPython(t *testing.T) {
	python := testenv.Tool(t, "python3", "a Python 3")
	xs := distances()
	var hex []string
	for _, x := range xs {
		hex = append(hex, strconv.FormatUint(math.Float64bits(x), 16))
	}
	script := `import json, struct, sys
for h in sys.argv[1:]:
    x = struct.unpack('<d', int(h, 16).to_bytes(8, 'little'))[0]
    print(json.dumps({"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": x}, "ride_id": 123}))`
	out, err := exec.Command(python, append([]string{"-c", script}, hex...)...).Output()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	require.Len(t, lines, len(xs))
	for i, x := range xs {
		f := feature.Features{Key: feature.Key{PU: 130, DO: 205}, Distance: x}
		require.Equal(t, lines[i], string(AppendRideEvent(nil, f, 123)), "distance %v", x)
	}
}

// What AppendRideEvent writes, ParseRideEvent reads back bit for bit, and
// encoding/json reads as the same JSON.
func FuzzAppendRideEvent(f *testing.F) {
	for _, x := range distances() {
		f.Add(int32(130), int32(205), x, int64(123))
	}
	f.Fuzz(func(t *testing.T, pu, do int32, x float64, id int64) {
		in, err := feature.New(int64(pu), int64(do), x)
		if err != nil {
			t.Skip()
		}
		data := AppendRideEvent(nil, in, id)
		e, err := ParseRideEvent(data, feature.Float64)
		require.NoError(t, err, "%s", data)
		assert.Equal(t, in.Key, e.Key)
		assert.Equal(t, math.Float64bits(in.Distance), math.Float64bits(e.Distance), "%s", data)
		assert.Equal(t, strconv.FormatInt(id, 10), e.PartitionKey())
		assert.True(t, json.Valid(data))
	})
}
