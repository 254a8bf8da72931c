package lambda

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/feature"
)

// fastParse answers only when feature.ParseRideEvent gives the same ride.
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
		ride, key, ok := fastParse([]byte(tc.data))
		assert.Equal(t, tc.fast, ok, "%s", tc.data)
		if ok {
			agree(t, []byte(tc.data), ride, key)
		}
	}
}

// FuzzFastParse checks fastParse against feature.ParseRideEvent on any input.
func FuzzFastParse(f *testing.F) {
	f.Add([]byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`))
	f.Add([]byte(`{"ride_id":"x","ride":{"trip_distance":1e-7,"DOLocationID":7,"PULocationID":9}}`))
	f.Add([]byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": "3.66"}, "ride_id": 123}`))
	f.Add(rideRecord(7))
	f.Fuzz(func(t *testing.T, data []byte) {
		if ride, key, ok := fastParse(data); ok {
			agree(t, data, ride, key)
		}
	})
}

func agree(t *testing.T, data []byte, ride feature.RideEvent, key string) {
	t.Helper()
	want, err := feature.ParseRideEvent(data)
	require.NoError(t, err, "fastParse accepted what ParseRideEvent refuses: %q", data)
	require.Equal(t, want.Key, ride.Key, "%q", data)
	require.Equal(t, math.Float64bits(want.Distance), math.Float64bits(ride.Distance), "%q", data)
	require.True(t, bytes.Equal(want.RideID, ride.RideID), "ride id %q, want %q", ride.RideID, want.RideID)
	require.Equal(t, want.PartitionKey(), key, "%q", data)
}
