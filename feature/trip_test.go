package feature

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTripDuration(t *testing.T) {
	at := time.Date(2022, 1, 1, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		d    time.Duration
		want float64 // pandas: Timedelta.total_seconds() / 60
	}{
		{8*time.Minute + 43*time.Second, 8.716666666666667},
		{time.Minute, 1},
		{time.Hour, 60},
		// pandas sums whole seconds and microseconds / 1e6: for 681.782038 s
		// that gives 11.363033966666668 min, where 681782038 µs / 1e6 / 60
		// would give 11.363033966666666 (checked with pandas 1.5.3).
		{681782038 * time.Microsecond, 11.363033966666668},
		{-90 * time.Second, -1.5},
	}
	for _, c := range cases {
		drop := at.Add(c.d)
		got, err := Trip{Pickup: &at, Dropoff: &drop}.Duration()
		require.NoError(t, err)
		assert.Equal(t, math.Float64bits(c.want), math.Float64bits(got), "%v: got %v want %v", c.d, got, c.want)
	}
	_, err := Trip{Pickup: &at}.Duration()
	assert.EqualError(t, err, "lpep_dropoff_datetime: null")
	_, err = Trip{Dropoff: &at}.Duration()
	assert.EqualError(t, err, "lpep_pickup_datetime: null")
}

func TestKeep(t *testing.T) {
	assert.True(t, Keep(1))
	assert.True(t, Keep(60))
	assert.False(t, Keep(math.Nextafter(1, 0)))
	assert.False(t, Keep(math.Nextafter(60, 61)))
	assert.False(t, Keep(math.NaN()))
}

func TestTripFeatures(t *testing.T) {
	pu, do, dist := int64(130), int64(205), 3.66
	f, err := Trip{PULocationID: &pu, DOLocationID: &do, TripDistance: &dist}.Features()
	require.NoError(t, err)
	assert.Equal(t, Features{Key{130, 205}, 3.66}, f)

	// Each error names the TLC column; Class leaves the value out, so that
	// bad trips can be counted by it.
	zero, neg, nan := int64(0), -1.5, math.NaN()
	for _, c := range []struct {
		trip         Trip
		error, class string
	}{
		{Trip{DOLocationID: &do, TripDistance: &dist}, "PULocationID: null", "PULocationID: null"},
		{Trip{PULocationID: &pu, TripDistance: &dist}, "DOLocationID: null", "DOLocationID: null"},
		{Trip{PULocationID: &pu, DOLocationID: &do}, "trip_distance: null", "trip_distance: null"},
		{Trip{PULocationID: &pu, DOLocationID: &do, TripDistance: &neg}, "trip_distance: must be ≥ 0, got -1.5", "trip_distance: must be ≥ 0"},
		{Trip{PULocationID: &pu, DOLocationID: &do, TripDistance: &nan}, "trip_distance: must be finite, got NaN", "trip_distance: must be finite"},
		{Trip{PULocationID: &zero, DOLocationID: &do, TripDistance: &dist}, "PULocationID: must be a positive integer location id, got 0", "PULocationID: must be a positive integer location id"},
	} {
		_, err := c.trip.Features()
		var fe *FieldError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, c.error, fe.Error())
		assert.Equal(t, c.class, fe.Class())
	}
}

// A float32 model refuses a distance whose float32 is not finite, as
// scikit-learn and XGBoost do; the bound is where round-to-nearest-even
// takes a float64 to +Inf as a float32: MaxFloat32 plus half its ulp. A
// float64 model takes every distance New takes.
func TestPrecisionCheck(t *testing.T) {
	require.Equal(t, math.MaxFloat32+0x1p103, Float32Overflow)
	below := math.Nextafter(Float32Overflow, 0)
	require.Equal(t, uint64(0x47efffffefffffff), math.Float64bits(below))
	for _, d := range []float64{0, 3.66, math.MaxFloat32, below} {
		f := Features{Key{130, 205}, d}
		assert.NoError(t, Float32.Check(f), "%v", d)
		assert.NoError(t, Float64.Check(f), "%v", d)
	}
	for _, d := range []float64{Float32Overflow, 1e39, 1e300, math.MaxFloat64} {
		f := Features{Key{130, 205}, d}
		err := Float32.Check(f)
		var fe *FieldError
		require.ErrorAs(t, err, &fe, "%v", d)
		assert.Equal(t, "trip_distance: must be below 3.4028235677973366e+38 (the model reads float32), got "+
			strconv.FormatFloat(d, 'g', -1, 64), fe.Error())
		assert.Equal(t, "trip_distance: must be below 3.4028235677973366e+38 (the model reads float32)", fe.Class())
		assert.NoError(t, Float64.Check(f), "%v", d)
	}
	assert.Equal(t, "float32", Float32.String())
	assert.Equal(t, "float64", Float64.String())
}
