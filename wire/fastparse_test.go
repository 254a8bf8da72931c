package wire

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		{`{"ride": {"PULocationID": 2147483648, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 1}`, false},
		{`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": "` + "\xff" + `"}`, false},
		{`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 1}x`, false},
		{`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": ` + strings.Repeat("1", 257) + `}`, false},
		{`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 01}, "ride_id": 1}`, false},
		{`{}`, false},
		{``, false},
	}
	for _, tc := range cases {
		ride, ok := fastParse([]byte(tc.data))
		assert.Equal(t, tc.fast, ok, "%s", tc.data)
		if ok {
			agree(t, []byte(tc.data), ride)
		}
	}
}

// FuzzFastParse checks fastParse against parseJSON on any input.
func FuzzFastParse(f *testing.F) {
	f.Add([]byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`))
	f.Add([]byte(`{"ride_id":"x","ride":{"trip_distance":1e-7,"DOLocationID":7,"PULocationID":9}}`))
	f.Add([]byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": "3.66"}, "ride_id": 123}`))
	f.Add([]byte(`{"ride": {"PULocationID": 7, "DOLocationID": 8, "trip_distance": 1.25}, "ride_id": "feb-7"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if ride, ok := fastParse(data); ok {
			agree(t, data, ride)
		}
	})
}

func agree(t *testing.T, data []byte, ride RideEvent) {
	t.Helper()
	want, err := parseJSON(data)
	require.NoError(t, err, "fastParse accepted what ParseRideEvent refuses: %q", data)
	require.Equal(t, want.Key, ride.Key, "%q", data)
	require.Equal(t, math.Float64bits(want.Distance), math.Float64bits(ride.Distance), "%q", data)
	require.True(t, bytes.Equal(want.RideID, ride.RideID), "ride id %q, want %q", ride.RideID, want.RideID)
	require.Equal(t, want.PartitionKey(), ride.PartitionKey(), "%q", data)
}
