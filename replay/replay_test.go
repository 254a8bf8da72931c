package replay

import (
	"context"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/putrecords"
)

// trip is a TLC trip; nil pointers are nulls.
func trip(pu, do *int64, dist *float64) feature.Trip {
	at := time.Date(2022, 2, 1, 10, 0, 0, 0, time.UTC)
	return feature.Trip{PULocationID: pu, DOLocationID: do, TripDistance: dist, Pickup: &at, Dropoff: &at}
}

func ptr[T any](v T) *T { return &v }

// writeTrips writes trips as a parquet file in dir and returns its path.
func writeTrips(t *testing.T, dir, name string, trips ...feature.Trip) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, parquet.WriteFile(path, trips))
	return path
}

// byID returns a stream's records keyed by partition key (the ride id),
// with their data.
func byID(t *testing.T, recs []types.Record) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range recs {
		out[aws.ToString(r.PartitionKey)] = string(r.Data)
	}
	return out
}

func TestReplay(t *testing.T) {
	endpoint := testenv.Moto(t)
	c := testenv.Kinesis(t, endpoint)
	dir := t.TempDir()
	jan := writeTrips(t, dir, "a.parquet",
		trip(ptr[int64](130), ptr[int64](205), ptr(3.66)),
		trip(nil, ptr[int64](1), ptr(1.0)),
		trip(ptr[int64](7), ptr[int64](8), ptr(1e-5)),
		trip(ptr[int64](7), ptr[int64](8), ptr(-2.5)),
	)
	feb := writeTrips(t, dir, "b.parquet",
		trip(ptr[int64](1), ptr[int64](2), ptr(12.0)),
		trip(ptr[int64](3), ptr[int64](4), nil),
		trip(ptr[int64](5), ptr[int64](6), ptr(0.0)),
	)
	want := map[string]string{
		"0": `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 0}`,
		"2": `{"ride": {"PULocationID": 7, "DOLocationID": 8, "trip_distance": 1e-05}, "ride_id": 2}`,
		"4": `{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 12.0}, "ride_id": 4}`,
		"6": `{"ride": {"PULocationID": 5, "DOLocationID": 6, "trip_distance": 0.0}, "ride_id": 6}`,
	}

	t.Run("all", func(t *testing.T) {
		testenv.CreateStream(t, c, "all", 2)
		var progress [][2]int64
		r := &Replay{Writer: &putrecords.Writer{Client: c}, Stream: "all",
			Progress: func(put, total int64) { progress = append(progress, [2]int64{put, total}) }}
		sum, err := r.Run(context.Background(), jan, feb)
		require.NoError(t, err)
		assert.Equal(t, Summary{Rides: 4, Calls: 1, Skipped: map[string]int{
			"PULocationID: null": 1, "trip_distance: must be ≥ 0": 1, "trip_distance: null": 1,
		}}, sum)
		assert.Equal(t, want, byID(t, testenv.ReadStream(t, c, "all")),
			"ride ids are row numbers across files; skipped trips keep theirs")
		assert.Equal(t, [][2]int64{{0, 7}, {4, 7}}, progress)
	})

	t.Run("limit and rate", func(t *testing.T) {
		testenv.CreateStream(t, c, "limited", 1)
		// 20 rides/s: calls of 2 rides, so two calls for the first 3 rides.
		r := &Replay{Writer: &putrecords.Writer{Client: c}, Stream: "limited", Limit: 3, Rate: 20}
		sum, err := r.Run(context.Background(), jan, feb)
		require.NoError(t, err)
		assert.Equal(t, 3, sum.Rides)
		assert.Equal(t, 2, sum.Calls)
		recs := testenv.ReadStream(t, c, "limited")
		var ids []int
		for _, rec := range recs {
			id, err := strconv.Atoi(aws.ToString(rec.PartitionKey))
			require.NoError(t, err)
			ids = append(ids, id)
		}
		sort.Ints(ids)
		assert.Equal(t, []int{0, 2, 4}, ids, "the first 3 rides")
	})

	t.Run("no such stream", func(t *testing.T) {
		r := &Replay{Writer: &putrecords.Writer{Client: c}, Stream: "missing"}
		sum, err := r.Run(context.Background(), jan)
		assert.ErrorContains(t, err, "missing: 2 rides not written")
		assert.ErrorContains(t, err, "ResourceNotFoundException")
		assert.Equal(t, 0, sum.Rides)
		assert.Equal(t, 2, sum.Failed)
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // Ctrl-C
		r := &Replay{Writer: &putrecords.Writer{Client: c}, Stream: "all"}
		sum, err := r.Run(ctx, jan)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 0, sum.Rides)
	})

	t.Run("not a trip file", func(t *testing.T) {
		r := &Replay{Writer: &putrecords.Writer{Client: c}, Stream: "all"}
		_, err := r.Run(context.Background(), filepath.Join(dir, "nope.parquet"))
		assert.ErrorContains(t, err, "nope.parquet")
	})
}
