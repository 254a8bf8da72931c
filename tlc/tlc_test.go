package tlc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/feature"
)

var months = []string{"../testdata/green_tripdata_2022-01.parquet", "../testdata/green_tripdata_2022-02.parquet"}

// readAll reads every trip of a file, n at a time.
func readAll(t testing.TB, f *File, n int) []feature.Trip {
	t.Helper()
	var out []feature.Trip
	r := f.Reader()
	defer r.Close()
	for {
		var trips Trips // fresh: trip's pointers point into it
		err := r.Read(&trips, n)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		require.LessOrEqual(t, trips.Len(), n)
		for i := range trips.Len() {
			out = append(out, trips.trip(i))
		}
	}
	require.Len(t, out, int(f.NumRows()))
	return out
}

// equalTrips compares trips field by field: nulls where nulls, the same
// instants, ids and distance bits.
func equalTrips(t *testing.T, want, got []feature.Trip) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		w, g := want[i], got[i]
		ok := eq(w.Pickup, g.Pickup, time.Time.Equal) && eq(w.Dropoff, g.Dropoff, time.Time.Equal) &&
			eq(w.PULocationID, g.PULocationID, func(a, b int64) bool { return a == b }) &&
			eq(w.DOLocationID, g.DOLocationID, func(a, b int64) bool { return a == b }) &&
			eq(w.TripDistance, g.TripDistance, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) })
		if !ok {
			t.Fatalf("row %d: got %s, want %s", i, show(g), show(w))
		}
	}
}

func eq[T any](a, b *T, same func(T, T) bool) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return same(*a, *b)
}

func show(t feature.Trip) string {
	return fmt.Sprintf("{%s %s %s %s %s}", str(t.Pickup), str(t.Dropoff), str(t.PULocationID), str(t.DOLocationID), str(t.TripDistance))
}

func str[T any](p *T) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

// The committed months, column-wise, are what parquet-go's row reader reads.
func TestCommittedMonths(t *testing.T) {
	for _, path := range months {
		want, err := parquet.ReadFile[feature.Trip](path)
		require.NoError(t, err)
		f, err := Open(path)
		require.NoError(t, err)
		defer f.Close()
		require.True(t, f.fast, "the TLC's own files take the column-wise path")
		for _, n := range []int{len(want), 16 << 10, 1000, 7} {
			equalTrips(t, want, readAll(t, f, n))
		}
		var all Trips
		require.NoError(t, ReadFile(path, &all))
		equalTrips(t, want, all.trips())
	}
}

// trips is every trip of t as parquet-go's row reader reads them.
func (t *Trips) trips() []feature.Trip {
	out := make([]feature.Trip, t.Len())
	for i := range out {
		out[i] = t.trip(i)
	}
	return out
}

// Trips made by hand, and appended, hold what they were given, nulls too.
func TestAppend(t *testing.T) {
	trips, _ := odd(300)
	var a, b Trips
	for _, tr := range trips[:120] {
		a.AppendTrip(tr)
	}
	for _, tr := range trips[120:] {
		b.AppendTrip(tr)
	}
	equalTrips(t, trips[:120], a.trips())
	a.Append(&b)
	equalTrips(t, trips, a.trips())
	equalTrips(t, trips[120:], b.trips())

	// ReadFile appends every row group of a file, after what t holds.
	_, rows := odd(3000)
	path := filepath.Join(t.TempDir(), "groups.parquet")
	require.NoError(t, parquet.WriteFile(path, rows, parquet.MaxRowsPerRowGroup(1200)))
	f, err := Open(path)
	require.NoError(t, err)
	require.Len(t, f.pf.RowGroups(), 3)
	f.Close()
	require.NoError(t, ReadFile(path, &b))
	want, _ := odd(3000)
	equalTrips(t, slices.Concat(trips[120:], want), b.trips())
}

// tlcRow has the TLC files' physical types: optional int64 ids and
// timestamps (microseconds, not adjusted to UTC), optional double distance.
type tlcRow struct {
	Pickup   *int64   `parquet:"lpep_pickup_datetime,optional,timestamp(microsecond:local)"`
	Dropoff  *int64   `parquet:"lpep_dropoff_datetime,optional,timestamp(microsecond:local)"`
	Other    *string  `parquet:"store_and_fwd_flag,optional"`
	PU       *int64   `parquet:"PULocationID,optional"`
	DO       *int64   `parquet:"DOLocationID,optional"`
	Distance *float64 `parquet:"trip_distance,optional"`
}

// tlcDictRow is tlcRow dictionary-encoded, as Arrow writes the TLC files.
type tlcDictRow struct {
	Pickup   *int64   `parquet:"lpep_pickup_datetime,optional,dict,timestamp(microsecond:local)"`
	Dropoff  *int64   `parquet:"lpep_dropoff_datetime,optional,dict,timestamp(microsecond:local)"`
	PU       *int64   `parquet:"PULocationID,optional,dict"`
	DO       *int64   `parquet:"DOLocationID,optional,dict"`
	Distance *float64 `parquet:"trip_distance,optional,dict"`
}

// odd returns n trips with nulls in every column at different rows, and
// their tlcRow form.
func odd(n int) ([]feature.Trip, []tlcRow) {
	at := time.Date(2022, 2, 1, 0, 0, 0, 0, time.UTC)
	trips := make([]feature.Trip, n)
	rows := make([]tlcRow, n)
	for i := range n {
		pick := at.Add(time.Duration(i) * 7 * time.Second)
		drop := pick.Add(time.Duration(i%50) * time.Minute).Add(123456 * time.Microsecond)
		pu, do, dist := int64(i%265+1), int64((i*7)%265+1), float64(i%97)*0.37
		tr := feature.Trip{Pickup: &pick, Dropoff: &drop, PULocationID: &pu, DOLocationID: &do, TripDistance: &dist}
		switch i % 11 {
		case 1:
			tr.Pickup = nil
		case 3:
			tr.Dropoff = nil
		case 5:
			tr.PULocationID = nil
		case 7:
			tr.DOLocationID = nil
		case 9:
			tr.TripDistance = nil
		case 10:
			tr = feature.Trip{}
		}
		trips[i] = tr
		rows[i] = tlcRow{Pickup: micros(tr.Pickup), Dropoff: micros(tr.Dropoff), PU: tr.PULocationID, DO: tr.DOLocationID, Distance: tr.TripDistance}
	}
	return trips, rows
}

// trip is trip i as parquet-go's row reader reads it.
func (t *Trips) trip(i int) feature.Trip {
	var r feature.Trip
	if !t.null[pickup][i] {
		p := time.UnixMicro(t.Pickup[i])
		r.Pickup = &p
	}
	if !t.null[dropoff][i] {
		d := time.UnixMicro(t.Dropoff[i])
		r.Dropoff = &d
	}
	if !t.null[pu][i] {
		r.PULocationID = &t.PULocationID[i]
	}
	if !t.null[do][i] {
		r.DOLocationID = &t.DOLocationID[i]
	}
	if !t.null[distance][i] {
		r.TripDistance = &t.TripDistance[i]
	}
	return r
}

// Features and Duration are feature.Trip's, with its errors.
func TestFeaturesAndDuration(t *testing.T) {
	trips, rows := odd(200)
	var b bytes.Buffer
	require.NoError(t, parquet.Write(&b, rows))
	f, err := open("odd", bytes.NewReader(b.Bytes()), int64(b.Len()))
	require.NoError(t, err)
	var ts Trips
	r := f.Reader()
	require.NoError(t, r.Read(&ts, len(trips)))
	for i, want := range trips {
		x, err := ts.Features(i)
		wx, werr := want.Features()
		assert.Equal(t, wx, x, "row %d", i)
		assert.Equal(t, werr, err, "row %d", i)
		d, err := ts.Duration(i)
		wd, werr := want.Duration()
		assert.Equal(t, math.Float64bits(wd), math.Float64bits(d), "row %d", i)
		assert.Equal(t, werr, err, "row %d", i)
	}
}

// Nulls, plain and dictionary pages, many pages and row groups: the
// column-wise path reads them all as written.
func TestEncodings(t *testing.T) {
	trips, rows := odd(5000)
	dict := make([]tlcDictRow, len(rows))
	for i, r := range rows {
		dict[i] = tlcDictRow{r.Pickup, r.Dropoff, r.PU, r.DO, r.Distance}
	}
	for name, write := range map[string]func(*bytes.Buffer, ...parquet.WriterOption) error{
		"plain": func(b *bytes.Buffer, o ...parquet.WriterOption) error { return parquet.Write(b, rows, o...) },
		"dict":  func(b *bytes.Buffer, o ...parquet.WriterOption) error { return parquet.Write(b, dict, o...) },
	} {
		for _, opts := range [][]parquet.WriterOption{
			nil,
			{parquet.PageBufferSize(1024), parquet.MaxRowsPerRowGroup(1200), parquet.Compression(&parquet.Gzip)},
			{parquet.DataPageVersion(1), parquet.PageBufferSize(512)},
		} {
			var b bytes.Buffer
			require.NoError(t, write(&b, opts...), name)
			f, err := open(name, bytes.NewReader(b.Bytes()), int64(b.Len()))
			require.NoError(t, err)
			require.True(t, f.fast)
			for _, n := range []int{len(trips), 1000, 333, 1} {
				equalTrips(t, trips, readAll(t, f, n))
			}
		}
	}
}

// A file with other physical types (int32 ids, float distance, nanosecond
// times) is read through parquet-go's row reader, which converts them.
func TestOtherTypes(t *testing.T) {
	type row struct {
		Pickup   *time.Time `parquet:"lpep_pickup_datetime,optional,timestamp(nanosecond)"`
		Dropoff  *time.Time `parquet:"lpep_dropoff_datetime,optional,timestamp(nanosecond)"`
		PU       *int32     `parquet:"PULocationID,optional"`
		DO       *int32     `parquet:"DOLocationID,optional"`
		Distance *float32   `parquet:"trip_distance,optional"`
	}
	at := time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)
	drop := at.Add(90 * time.Second)
	pu, do, dist := int32(130), int32(205), float32(3.5)
	var b bytes.Buffer
	require.NoError(t, parquet.Write(&b, []row{{&at, &drop, &pu, &do, &dist}, {}}))
	f, err := open("int32.parquet", bytes.NewReader(b.Bytes()), int64(b.Len()))
	require.NoError(t, err)
	require.False(t, f.fast)
	p, d, x := int64(130), int64(205), 3.5
	want := []feature.Trip{{Pickup: &at, Dropoff: &drop, PULocationID: &p, DOLocationID: &d, TripDistance: &x}, {}}
	equalTrips(t, want, readAll(t, f, 2))
	equalTrips(t, want, readAll(t, f, 1))
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notParquet := filepath.Join(dir, "trips.csv")
	require.NoError(t, os.WriteFile(notParquet, []byte("PULocationID,DOLocationID\n1,2\n"), 0o644))
	_, err := Open(notParquet)
	assert.ErrorContains(t, err, "trips.csv: not a parquet file")

	type yellow struct {
		Pickup *int64 `parquet:"tpep_pickup_datetime,optional"`
		PU     *int64 `parquet:"PULocationID,optional"`
	}
	other := filepath.Join(dir, "yellow.parquet")
	require.NoError(t, parquet.WriteFile(other, []yellow{{}}))
	_, err = Open(other)
	assert.EqualError(t, err, other+": no column lpep_pickup_datetime: not a TLC green taxi trip file")

	_, err = Open(filepath.Join(dir, "missing.parquet"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	var trips Trips
	assert.ErrorIs(t, ReadFile(filepath.Join(dir, "missing.parquet"), &trips), os.ErrNotExist)
	assert.EqualError(t, ReadFile(other, &trips), other+": no column lpep_pickup_datetime: not a TLC green taxi trip file")
}

// BenchmarkRead reads February 2022 (69,399 trips), 16,384 at a time.
func BenchmarkRead(b *testing.B) {
	var trips Trips
	b.ReportAllocs()
	for b.Loop() {
		f, err := Open(months[1])
		require.NoError(b, err)
		r := f.Reader()
		for {
			if err := r.Read(&trips, 16<<10); errors.Is(err, io.EOF) {
				break
			} else {
				require.NoError(b, err)
			}
		}
		r.Close()
		f.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/69399, "ns/trip")
}
