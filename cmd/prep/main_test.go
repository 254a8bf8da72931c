package main

import (
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/feature"
)

// A small parquet file of odd trips: only the valid ones within 1–60 minutes
// reach the table, in file order, with the key and duration as Python reads them.
func TestPrep(t *testing.T) {
	at := time.Date(2022, 1, 1, 10, 0, 0, 0, time.UTC)
	trip := func(pu, do int64, dist float64, d time.Duration) feature.Trip {
		drop := at.Add(d)
		return feature.Trip{PULocationID: &pu, DOLocationID: &do, Pickup: &at, Dropoff: &drop, TripDistance: &dist}
	}
	null := trip(1, 1, 1, 5*time.Minute)
	null.PULocationID = nil
	trips := []feature.Trip{
		trip(130, 205, 3.66, 18*time.Minute+30*time.Second),
		trip(1, 2, 0.5, 30*time.Second), // too short
		trip(1, 2, 0.5, 61*time.Minute), // too long
		trip(7, 8, -1, 10*time.Minute),  // negative distance
		null,
		trip(42, 42, 0, time.Hour), // 60 minutes: kept
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "trips.parquet"), filepath.Join(dir, "table.csv")
	require.NoError(t, parquet.WriteFile(in, trips))
	var logged strings.Builder
	log.SetOutput(&logged)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })
	require.NoError(t, run(out, []string{in}))
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, "PULocationID,DOLocationID,PU_DO,trip_distance,duration\n"+
		"130,205,130_205,3.66,18.5\n"+
		"42,42,42_42,0,60\n", string(got))
	assert.Contains(t, logged.String(), "trips.parquet: 6 trips, 2 kept (1 ≤ duration ≤ 60 min), 2 dropped for invalid features\n")
}
