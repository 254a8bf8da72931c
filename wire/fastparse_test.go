package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/feature"
)

// fastParse answers only when parseJSON gives the same ride.
func TestFastParse(t *testing.T) {
	cases := []struct {
		data string
		fast bool // fastParse answers
	}{
		{`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`, true},
		{"{\n \"ride_id\": \"abc\",\r\n\t\"ride\": {\"trip_distance\": 0, \"DOLocationID\": 1, \"PULocationID\": 2147483647}}", true},
		{`{"ride":{"PULocationID":1,"DOLocationID":1,"trip_distance":-0.0},"ride_id":-1.5e-3}`, true},
		{`{"ride":{"PULocationID":1,"DOLocationID":1,"trip_distance":1E+2},"ride_id":"é"}`, true},
		// Anything unusual is ParseRideEvent's to decide.
		{`{"ride": {"PULocationID": 130.0, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`, false},
		{`{"ride": {"PULocationID": 1.3e2, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`, false},
		{`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123, "extra": 1}`, false},
		{`{"Ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`, false},
		{`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": "a\"b"}`, false},
		{`{"ride": {"PULocationID": 130, "PULocationID": 131, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 1}`, false},
		{`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": 1}`, false},
		{`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 1, "ride_id": 2}`, false},
		{`{"ride": {"pulocationid": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 1}`, false},
		{`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "RIDE_ID": 1}`, false},
		{`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": "` + "\xed\xa0\x80" + `"}`, false},
		{`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": "a` + "\x7f" + `b"}`, true},
		{`{"ride": {"PULocationID": 2147483648, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 1}`, false},
		{`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": "` + "\xff" + `"}`, false},
		{`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 1}x`, false},
		{`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": ` + strings.Repeat("1", 257) + `}`, false},
		{`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 01}, "ride_id": 1}`, false},
		{`{}`, false},
		{``, false},
		// A location id as a string of its digits is the id.
		{`{"ride": {"PULocationID": "130", "DOLocationID": "205", "trip_distance": 3.66}, "ride_id": 123}`, true},
		{`{"ride_id": 1, "ride": {"trip_distance": 3.66, "DOLocationID": "205", "PULocationID": 130}}`, true},
		{`{"ride": {"PULocationID": "2147483647", "DOLocationID": "1", "trip_distance": 0}, "ride_id": 1}`, true},
		{`{"ride": {"PULocationID": "2147483648", "DOLocationID": "205", "trip_distance": 3.66}, "ride_id": 1}`, false},
		{`{"ride": {"PULocationID": "130.0", "DOLocationID": "205", "trip_distance": 3.66}, "ride_id": 1}`, false},
		{`{"ride": {"PULocationID": " 130", "DOLocationID": "205", "trip_distance": 3.66}, "ride_id": 1}`, false},
		{`{"ride": {"PULocationID": "0130", "DOLocationID": "205", "trip_distance": 3.66}, "ride_id": 1}`, false},
		{`{"ride": {"PULocationID": "", "DOLocationID": "205", "trip_distance": 3.66}, "ride_id": 1}`, false},
		{`{"ride": {"PULocationID": "130, "DOLocationID": "205", "trip_distance": 3.66}, "ride_id": 1}`, false},
		{`{"ride": {"PULocationID": "\u0031\u0033\u0030", "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 1}`, false},
	}
	for _, tc := range cases {
		for _, p := range precisions {
			if ride, ok := canonical([]byte(tc.data), p, 0); ok {
				agree(t, []byte(tc.data), ride, p, 0)
			}
			ride, ok := fastParse([]byte(tc.data), p, 0)
			assert.Equal(t, tc.fast, ok, "%s, %v", tc.data, p)
			if ok {
				agree(t, []byte(tc.data), ride, p, 0)
			}
		}
	}
	// A distance beyond float32: a float64 model's ride, a float32 model's
	// bad record, which fastParse leaves to parseJSON to word.
	for _, d := range []string{"1e39", "3.4028235677973366e+38"} {
		for _, data := range []string{ride("130", "205", d), `{"ride_id": 1, "ride": {"trip_distance": ` + d + `, "DOLocationID": 2, "PULocationID": 1}}`} {
			r, ok := fastParse([]byte(data), feature.Float64, 0)
			assert.True(t, ok, data)
			agree(t, []byte(data), r, feature.Float64, 0)
			_, ok = fastParse([]byte(data), feature.Float32, 0)
			assert.False(t, ok, data)
			_, ok = canonical([]byte(data), feature.Float32, 0)
			assert.False(t, ok, data)
		}
	}
	// An id sent as a string, for a model that reads it as a number: a bad
	// record, which fastParse leaves to parseJSON to word.
	for _, data := range []string{ride(`"130"`, "205", "3.66"), `{"ride_id": 1, "ride": {"trip_distance": 3.66, "DOLocationID": 2, "PULocationID": "1"}}`} {
		for _, p := range precisions {
			r, ok := fastParse([]byte(data), p, 0)
			assert.True(t, ok, data)
			agree(t, []byte(data), r, p, 0)
			_, ok = fastParse([]byte(data), p, feature.PUNumber)
			assert.False(t, ok, data)
			_, ok = canonical([]byte(data), p, feature.PUNumber)
			assert.False(t, ok, data)
			r, ok = fastParse([]byte(data), p, feature.DONumber)
			assert.True(t, ok, data)
			agree(t, []byte(data), r, p, feature.DONumber)
		}
	}
	r, ok := canonical([]byte(ride("130", "205", "3.4028235677973362e+38")), feature.Float32, 0)
	assert.True(t, ok)
	agree(t, []byte(ride("130", "205", "3.4028235677973362e+38")), r, feature.Float32, 0)
}

// canonical reads the original's events, and leaves every other spelling
// to the rest of fastParse.
func TestCanonical(t *testing.T) {
	for data, want := range map[string]bool{
		`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`:       true,
		`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": "abc"}`:     true,
		`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123} `:      false,
		`{"ride":{"PULocationID":130,"DOLocationID":205,"trip_distance":3.66},"ride_id":123}`:               false,
		`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 1, "x": 2}`: false,
		`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}}`:                       false,
	} {
		ride, ok := canonical([]byte(data), feature.Float32, 0)
		assert.Equal(t, want, ok, data)
		if ok {
			agree(t, []byte(data), ride, feature.Float32, 0)
		}
		_, fast := fastParse([]byte(data), feature.Float32, 0)
		assert.Equal(t, !strings.Contains(data, `"x"`) && strings.Contains(data, "ride_id"), fast, data)
	}
}

// FuzzFastParse checks fastParse against parseJSON on any input, and
// against an oracle built on other code: jsontext's validity check (no key
// twice, UTF-8) and encoding/json's case-sensitive map decoding.
func FuzzFastParse(f *testing.F) {
	f.Add([]byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`))
	f.Add([]byte(`{"ride_id":"x","ride":{"trip_distance":1e-7,"DOLocationID":7,"PULocationID":9}}`))
	f.Add([]byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": "3.66"}, "ride_id": 123}`))
	f.Add([]byte(`{"ride": {"PULocationID": 7, "DOLocationID": 8, "trip_distance": 1.25}, "ride_id": "feb-7"}`))
	f.Add([]byte(`{"ride": {"PULocationID": 7, "DOLocationID": 8, "trip_distance": 1.25}, "ride": {"PULocationID": 9, "DOLocationID": 8, "trip_distance": 1.25}, "ride_id": 1}`))
	f.Add([]byte(`{"ride": {"PULocationID": 7, "DOLocationID": 8, "trip_distance": 1.25, "DOLocationID": 9}, "ride_id": 1}`))
	f.Add([]byte(`{"RIDE": {"PULocationID": 7, "DOLocationID": 8, "trip_distance": 1.25}, "ride_id": 1}`))
	f.Add([]byte(`{"ride": {"PULocationID": 7, "DOLocationID": 8, "trip_distance": 1.25}, "ride_id": "` + "\xc3\xa9\xff" + `"}`))
	f.Add([]byte(`{"ride": {"PULocationID": 7, "DOLocationID": 8, "trip_distance": 1e39}, "ride_id": 1}`))
	f.Add([]byte(`{"ride":{"PULocationID":7,"DOLocationID":8,"trip_distance":3.4028235677973366e+38},"ride_id":1}`))
	f.Add([]byte(`{"ride":{"PULocationID":7,"DOLocationID":8,"trip_distance":3.4028235677973362e+38},"ride_id":1}`))
	f.Add([]byte(`{"ride": {"PULocationID": "130", "DOLocationID": "205", "trip_distance": 3.66}, "ride_id": 123}`))
	f.Add([]byte(`{"ride_id":1,"ride":{"trip_distance":1,"DOLocationID":"7","PULocationID":9}}`))
	for _, id := range []string{`"130.0"`, `" 130"`, `"1e2"`, `"+130"`, `"0130"`, `""`, `"0"`, `"2147483648"`, `"\u0031"`} {
		f.Add([]byte(`{"ride": {"PULocationID": ` + id + `, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range precisions {
			for _, numbers := range []feature.NumberIDs{0, feature.PUNumber, feature.DONumber, feature.PUNumber | feature.DONumber} {
				if ride, ok := fastParse(data, p, numbers); ok {
					agree(t, data, ride, p, numbers)
					oracle(t, data, ride, p, numbers)
				}
				if ride, ok := canonical(data, p, numbers); ok {
					agree(t, data, ride, p, numbers)
				}
			}
		}
	})
}

// oracle checks a ride fastParse accepted with code that shares none of
// fastParse's or parseJSON's: the record is strict JSON, encoding/json
// finds the same values under the exact keys, and a float32 model's
// distance is finite as a float32.
func oracle(t *testing.T, data []byte, ride RideEvent, p feature.Precision, numbers feature.NumberIDs) {
	t.Helper()
	require.True(t, jsontext.Value(data).IsValid(), "not strict JSON (a key twice, invalid UTF-8): %q", data)
	var top, r map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &top))
	require.NoError(t, json.Unmarshal(top["ride"], &r))
	for _, c := range []struct {
		key    string
		want   int32
		number feature.NumberIDs
	}{{"PULocationID", ride.PU, feature.PUNumber}, {"DOLocationID", ride.DO, feature.DONumber}} {
		text := string(r[c.key])
		if s, err := strconv.Unquote(text); err == nil {
			// A string of the id's digits, as Python's str writes the
			// id, for a model that does not read it as a number.
			require.Zero(t, numbers&c.number, "%s as a string, for a model that reads it as a number: %q", c.key, data)
			require.Equal(t, strconv.Itoa(int(c.want)), s, "%s in %q", c.key, data)
			text = s
		}
		id, err := strconv.ParseInt(text, 10, 32)
		require.NoError(t, err, "%s in %q", c.key, data)
		require.Equal(t, c.want, int32(id), "%s in %q", c.key, data)
	}
	dist, err := strconv.ParseFloat(string(r["trip_distance"]), 64)
	require.NoError(t, err)
	require.Equal(t, math.Float64bits(dist), math.Float64bits(ride.Distance), "%q", data)
	if p == feature.Float32 {
		require.False(t, math.IsInf(float64(float32(dist)), 0), "beyond float32: %q", data)
	}
	require.Equal(t, string(top["ride_id"]), string(ride.RideID), "%q", data)
}

func agree(t *testing.T, data []byte, ride RideEvent, p feature.Precision, numbers feature.NumberIDs) {
	t.Helper()
	want, err := parseJSON(data, p, numbers)
	require.NoError(t, err, "fastParse accepted what ParseRideEvent refuses: %q", data)
	require.Equal(t, want.Key, ride.Key, "%q", data)
	require.Equal(t, math.Float64bits(want.Distance), math.Float64bits(ride.Distance), "%q", data)
	require.True(t, bytes.Equal(want.RideID, ride.RideID), "ride id %q, want %q", ride.RideID, want.RideID)
	require.Equal(t, want.PartitionKey(), ride.PartitionKey(), "%q", data)
}

// shortFloat reads exactly what ParseFloat reads, bit for bit, or leaves
// the number to it: edge cases, then random numbers of 1 to 18 digits.
func TestShortFloat(t *testing.T) {
	check := func(num string) (ok bool) {
		x, j, ok := shortFloat([]byte(num), 0)
		if !ok {
			assert.Zero(t, j, "%s: read though it gave up", num)
			return false
		}
		want, err := strconv.ParseFloat(num, 64)
		require.NoError(t, err, num)
		assert.Equal(t, math.Float64bits(want), math.Float64bits(x), "%s: %v, want %v", num, x, want)
		assert.Equal(t, len(num), j, num)
		return true
	}
	for num, fast := range map[string]bool{
		"0": true, "-0": true, "-0.0": true, "3.66": true, "0.1": true, "123456789012345": true,
		"0.00000000000001": true, "99999999999999.9": true, "-1.5": true,
		"1234567890123456": false, "0.000000000000001": false, "9007199254740993": false,
		"1e3": false, "1.5E-3": false, "01": false, "1.": false, ".5": false, "-": false, "": false,
	} {
		assert.Equal(t, fast, check(num), num)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		digits := make([]byte, 1+rng.IntN(18))
		for i := range digits {
			digits[i] = '0' + byte(rng.IntN(10))
		}
		if at := rng.IntN(len(digits) + 1); at > 0 && at < len(digits) {
			digits = slices.Insert(digits, at, '.')
		}
		check(string(digits))
	}
}
