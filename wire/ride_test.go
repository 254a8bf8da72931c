package wire

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/feature"
)

func TestParseRideEvent(t *testing.T) {
	ride := func(pu, do, dist string) string {
		return `{"ride": {"PULocationID": ` + pu + `, "DOLocationID": ` + do + `, "trip_distance": ` + dist + `}, "ride_id": 123}`
	}
	ok := []struct {
		name, in string
		want     feature.Features
		id       string
	}{
		{"the original's ride", ride("130", "205", "3.66"), feats(130, 205, 3.66), "123"},
		{"integral float ids are the integers", ride("130.0", "205.00", "3.66"), feats(130, 205, 3.66), "123"},
		{"exponent id", ride("1.3e2", "2.05E2", "3.66"), feats(130, 205, 3.66), "123"},
		{"integer distance", ride("1", "1", "4"), feats(1, 1, 4), "123"},
		{"zero distance", ride("1", "1", "0"), feats(1, 1, 0), "123"},
		{"string ride id kept as sent", `{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1.5}, "ride_id": "abc-1"}`, feats(1, 2, 1.5), `"abc-1"`},
		{"unknown fields ignored", `{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1.5, "x": [1]}, "ride_id": 7, "extra": {}}`, feats(1, 2, 1.5), "7"},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseRideEvent([]byte(c.in))
			require.NoError(t, err)
			assert.Equal(t, c.want, got.Features)
			assert.Equal(t, c.id, string(got.RideID))
		})
	}

	bad := []struct {
		name, in, field, reason string
	}{
		{"not JSON", `{"ride": `, "record", "not a JSON ride event"},
		{"not an object", `[1, 2]`, "record", "not a JSON ride event"},
		{"empty", ``, "record", "not a JSON ride event"},
		{"no ride", `{"ride_id": 1}`, "ride", "missing"},
		{"ride null", `{"ride": null, "ride_id": 1}`, "ride", "missing"},
		{"ride not an object", `{"ride": 5, "ride_id": 1}`, "record", "not a JSON ride event"},
		{"no ride_id", `{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}}`, "ride_id", "got missing"},
		{"null ride_id", `{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": null}`, "ride_id", "got null"},
		{"object ride_id", `{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": {}}`, "ride_id", "got an object"},
		{"empty ride_id", `{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": ""}`, "ride_id", "1 to 256 characters"},
		{"long ride_id", `{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": "` + strings.Repeat("x", 257) + `"}`, "ride_id", "1 to 256 characters"},
		{"long numeric ride_id", `{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": ` + strings.Repeat("1", 257) + `}`, "ride_id", "1 to 256 characters"},
		{"oversized event", `{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": 1, "pad": "` + strings.Repeat("x", MaxEventBytes) + `"}`, "record", "over the 65536-byte limit"},
		{"distance as string", ride("130", "205", `"3.66"`), "ride.trip_distance", "must be a JSON number, got a string"},
		{"distance NaN string", ride("130", "205", `"NaN"`), "ride.trip_distance", "got a string"},
		{"distance NaN literal", ride("130", "205", `NaN`), "record", "not a JSON ride event"},
		{"distance null", ride("130", "205", `null`), "ride.trip_distance", "got null"},
		{"distance missing", `{"ride": {"PULocationID": 1, "DOLocationID": 2}, "ride_id": 1}`, "ride.trip_distance", "got missing"},
		{"distance beyond float64", ride("130", "205", `1e400`), "ride.trip_distance", "out of range"},
		{"distance negative", ride("130", "205", `-1.5`), "ride.trip_distance", "must be ≥ 0"},
		{"id as string", ride(`"130"`, "205", "3.66"), "ride.PULocationID", "got a string"},
		{"id fractional", ride("130.5", "205", "3.66"), "ride.PULocationID", "must be an integer location id"},
		{"id zero", ride("130", "0", "3.66"), "ride.DOLocationID", "positive integer"},
		{"id negative", ride("-4", "205", "3.66"), "ride.PULocationID", "positive integer"},
		{"id too large", ride("4294967296", "205", "3.66"), "ride.PULocationID", "positive integer"},
		{"id beyond int64", ride("99999999999999999999", "205", "3.66"), "ride.PULocationID", "out of range"},
		{"id huge float", ride("1e20", "205", "3.66"), "ride.PULocationID", "must be an integer location id"},
		{"id missing", `{"ride": {"DOLocationID": 2, "trip_distance": 1}, "ride_id": 1}`, "ride.PULocationID", "got missing"},
		{"id bool", ride("true", "205", "3.66"), "ride.PULocationID", "got a boolean"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseRideEvent([]byte(c.in))
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "want a *FieldError, got %v", err)
			assert.Equal(t, c.field, fe.Field)
			assert.Contains(t, fe.Reason, c.reason)
			assert.True(t, strings.HasPrefix(err.Error(), c.field+": "), err.Error())
		})
	}
}

func TestPartitionKey(t *testing.T) {
	for in, want := range map[string]string{`123`: "123", `"abc"`: "abc", `"a\"b"`: `a"b`, `1.5e3`: "1.5e3"} {
		e, err := ParseRideEvent([]byte(`{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": ` + in + `}`))
		require.NoError(t, err)
		assert.Equal(t, want, e.PartitionKey())
	}
}

// FuzzParseRideEvent: whatever the bytes, parsing does not panic, and what it
// accepts is a valid ride.
func FuzzParseRideEvent(f *testing.F) {
	f.Add([]byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`))
	f.Add([]byte(`{"ride": {"PULocationID": 1.0, "DOLocationID": 2e0, "trip_distance": 0}, "ride_id": "x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseRideEvent(data)
		if err != nil {
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			return
		}
		require.Positive(t, e.PU)
		require.Positive(t, e.DO)
		require.False(t, math.IsNaN(e.Distance) || math.IsInf(e.Distance, 0) || e.Distance < 0)
		require.True(t, json.Valid(e.RideID))
		require.NotEmpty(t, e.PartitionKey())
	})
}

func feats(pu, do int32, distance float64) feature.Features {
	return feature.Features{Key: feature.Key{PU: pu, DO: do}, Distance: distance}
}
