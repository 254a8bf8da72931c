package testenv

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/rideduration/rideduration/feature"
)

// WriteTrips writes n valid rides as a TLC trip file (parquet) at path.
func WriteTrips(t testing.TB, path string, n int) {
	t.Helper()
	if err := os.WriteFile(path, tripFile(t, n), 0o644); err != nil {
		t.Fatal(err)
	}
}

// WriteDamagedTrips writes a TLC trip file of 5,000 rides at path whose
// footer is whole, so that it opens, and whose first pages are damaged,
// so that reading it fails.
func WriteDamagedTrips(t testing.TB, path string) {
	t.Helper()
	data := tripFile(t, 5000)
	for i := 100; i < len(data)/2; i++ { // the first column chunks, not the footer
		data[i] ^= 0x5a
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tripFile is n valid rides as a gzip-compressed TLC trip file.
func tripFile(t testing.TB, n int) []byte {
	t.Helper()
	pickup := time.Date(2022, 2, 1, 10, 0, 0, 0, time.UTC)
	dropoff := pickup.Add(5 * time.Minute)
	trips := make([]feature.Trip, n)
	for i := range trips {
		pu, do, dist := int64(i%265+1), int64(2), float64(i)
		trips[i] = feature.Trip{PULocationID: &pu, DOLocationID: &do, TripDistance: &dist, Pickup: &pickup, Dropoff: &dropoff}
	}
	var b bytes.Buffer
	if err := parquet.Write(&b, trips, parquet.Compression(&parquet.Gzip)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Files reads the files of dir by name, a directory as "dir/": what the
// directory holds, to compare byte for byte.
func Files(t testing.TB, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		if e.IsDir() {
			files[e.Name()] = "dir/"
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}
