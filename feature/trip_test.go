package feature

import (
	"math"
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
	assert.Error(t, err)
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
	_, err = Trip{PULocationID: &pu, TripDistance: &dist}.Features()
	assert.Error(t, err)
}
