package backfill

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/internal/atomicfs"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/model"
	"github.com/rideduration/rideduration/tlc"
)

// tiny is a hand-made model: the distance plus the pickup id / 1000.
var tiny = model.Model{Name: "tiny", Version: "1", Predict: func(x feature.Features) float64 {
	return x.Distance + float64(x.PU)/1000
}}

func i64(v int64) *int64     { return &v }
func f64(v float64) *float64 { return &v }
func at(min int) *time.Time  { t := time.Date(2022, 2, 1, 10, min, 0, 0, time.UTC); return &t }
func us(t *time.Time) int64  { return t.UnixMicro() }

// openAll opens trip files for a Job, until the test ends.
func openAll(t *testing.T, paths ...string) tlc.Files {
	t.Helper()
	files, err := tlc.OpenAll(paths)
	require.NoError(t, err)
	t.Cleanup(func() { files.Close() })
	return files
}

func writeTrips(t *testing.T, path string, trips ...feature.Trip) string {
	t.Helper()
	require.NoError(t, parquet.WriteFile(path, trips))
	return path
}

func TestJob(t *testing.T) {
	dir := t.TempDir()
	a := writeTrips(t, filepath.Join(dir, "a.parquet"),
		feature.Trip{PULocationID: i64(130), DOLocationID: i64(205), TripDistance: f64(3.66), Pickup: at(0), Dropoff: at(18)},
		feature.Trip{PULocationID: i64(1), DOLocationID: i64(2), Pickup: at(0), Dropoff: at(5)},
		feature.Trip{PULocationID: i64(1), DOLocationID: i64(2), TripDistance: f64(0), Pickup: at(0), Dropoff: at(0)}, // 0 minutes: scored
	)
	b := writeTrips(t, filepath.Join(dir, "b.parquet"),
		feature.Trip{PULocationID: i64(0), DOLocationID: i64(2), TripDistance: f64(1), Pickup: at(0), Dropoff: at(5)},
		feature.Trip{PULocationID: i64(7), DOLocationID: i64(8), TripDistance: f64(2.5), Pickup: at(10), Dropoff: at(200)}, // 190 minutes: scored
		feature.Trip{PULocationID: i64(7), DOLocationID: i64(8), TripDistance: f64(2.5), Dropoff: at(5)},
	)
	want := []Row{
		{us(at(0)), us(at(18)), 130, 205, 3.66, 18, 3.66 + 0.13},
		{us(at(0)), us(at(0)), 1, 2, 0, 0, 0.001},
		{us(at(10)), us(at(200)), 7, 8, 2.5, 190, 2.5 + 0.007},
	}
	for _, ext := range []string{".parquet", ".csv", ".PARQUET"} {
		out := filepath.Join(dir, "out"+ext)
		o, err := Create(atomicfs.OS, out)
		require.NoError(t, err)
		var badCSV bytes.Buffer
		bad, flush := BadCSV(&badCSV)
		var progress [][2]int64
		j := &Job{Model: tiny, Out: o, Bad: bad, Progress: func(done, total int64) { progress = append(progress, [2]int64{done, total}) }}
		sum, err := j.Run(context.Background(), openAll(t, a, b))
		require.NoError(t, err)
		require.NoError(t, atomicfs.Commit(o.File))
		require.NoError(t, flush())
		assert.Equal(t, Summary{Trips: 6, Scored: 3, Bad: map[string]int{
			"trip_distance: null": 1, "PULocationID: must be a positive integer location id": 1, "lpep_pickup_datetime: null": 1,
		}}, sum)
		assert.Equal(t, 3, sum.BadTrips())
		assert.Equal(t, [][2]int64{{0, 6}, {3, 6}, {6, 6}}, progress)
		assert.Equal(t, "file,row,field,reason\n"+
			a+",1,trip_distance,null\n"+
			b+",0,PULocationID,\"must be a positive integer location id, got 0\"\n"+
			b+",2,lpep_pickup_datetime,null\n", badCSV.String())
		assert.Equal(t, want, readOutput(t, out), ext)
	}
}

// A trip whose distance the model's input type cannot hold is a bad trip,
// counted by its rule and handed to Bad as the others are: for a float32
// model, 1e39 (scikit-learn refuses it); a float64 model scores it.
func TestJobPrecision(t *testing.T) {
	path := writeTrips(t, filepath.Join(t.TempDir(), "far.parquet"),
		feature.Trip{PULocationID: i64(130), DOLocationID: i64(205), TripDistance: f64(1e39), Pickup: at(0), Dropoff: at(18)},
		feature.Trip{PULocationID: i64(130), DOLocationID: i64(205), TripDistance: f64(math.Nextafter(feature.Float32Overflow, 0)), Pickup: at(0), Dropoff: at(18)},
	)
	const rule = "must be below 3.4028235677973366e+38 (the model reads float32)"
	f32 := tiny
	f32.Precision = feature.Float32
	for _, c := range []struct {
		m      model.Model
		scored int
		bad    map[string]int
		csv    string
	}{
		{f32, 1, map[string]int{"trip_distance: " + rule: 1}, "file,row,field,reason\n" + path + `,0,trip_distance,"` + rule + `, got 1e+39"` + "\n"},
		{tiny, 2, map[string]int{}, "file,row,field,reason\n"},
	} {
		var badCSV bytes.Buffer
		bad, flush := BadCSV(&badCSV)
		var out bytes.Buffer
		sum, err := (&Job{Model: c.m, Out: NewCSV(&out), Bad: bad}).Run(context.Background(), openAll(t, path))
		require.NoError(t, err)
		require.NoError(t, flush())
		assert.Equal(t, Summary{Trips: 2, Scored: c.scored, Bad: c.bad}, sum, "%v", c.m.Precision)
		assert.Equal(t, c.csv, badCSV.String(), "%v", c.m.Precision)
	}
}

// readOutput reads a parquet output, or checks a CSV one's text.
func readOutput(t *testing.T, path string) []Row {
	t.Helper()
	if filepath.Ext(path) == ".csv" {
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, csvHeader+
			"2022-02-01 10:00:00,2022-02-01 10:18:00,130,205,3.66,18,3.79\n"+
			"2022-02-01 10:00:00,2022-02-01 10:00:00,1,2,0,0,0.001\n"+
			"2022-02-01 10:10:00,2022-02-01 13:20:00,7,8,2.5,190,2.507\n", string(got))
		return []Row{
			{us(at(0)), us(at(18)), 130, 205, 3.66, 18, 3.66 + 0.13},
			{us(at(0)), us(at(0)), 1, 2, 0, 0, 0.001},
			{us(at(10)), us(at(200)), 7, 8, 2.5, 190, 2.5 + 0.007},
		}
	}
	rows, err := parquet.ReadFile[Row](path)
	require.NoError(t, err)
	return rows
}

// The parquet output says what its columns are: TLC names, wall-clock
// timestamps (not adjusted to UTC, as in the TLC files), doubles.
func TestParquetSchema(t *testing.T) {
	var b bytes.Buffer
	o := NewParquet(&b)
	require.NoError(t, o.Write([]Row{{Pickup: 1, RideDuration: math.Pi}}))
	require.NoError(t, o.Close())
	f, err := parquet.OpenFile(bytes.NewReader(b.Bytes()), int64(b.Len()))
	require.NoError(t, err)
	assert.Equal(t, `message Row {
	required int64 lpep_pickup_datetime (TIMESTAMP(isAdjustedToUTC=false,unit=MICROS));
	required int64 lpep_dropoff_datetime (TIMESTAMP(isAdjustedToUTC=false,unit=MICROS));
	required int64 PULocationID (INT(64,true));
	required int64 DOLocationID (INT(64,true));
	required double trip_distance;
	required double duration;
	required double ride_duration;
}`, f.Schema().String())
	for _, c := range f.Metadata().RowGroups[0].Columns {
		want := format.RLEDictionary
		if strings.HasSuffix(c.MetaData.PathInSchema[0], "_datetime") {
			want = format.DeltaBinaryPacked
		}
		assert.Contains(t, c.MetaData.Encoding, want, c.MetaData.PathInSchema)
		assert.Equal(t, format.Uncompressed, c.MetaData.Codec, c.MetaData.PathInSchema)
	}
}

func TestCreateErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Create(atomicfs.OS, filepath.Join(dir, "out.json"))
	assert.EqualError(t, err, filepath.Join(dir, "out.json")+": the output's extension must be .parquet or .csv")
	_, err = Create(atomicfs.OS, filepath.Join(dir, "no", "out.csv"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// No trips: an output with its header (CSV) or schema (parquet), no rows.
func TestEmpty(t *testing.T) {
	dir := t.TempDir()
	in := writeTrips(t, filepath.Join(dir, "empty.parquet"))
	for _, name := range []string{"out.csv", "out.parquet"} {
		out := filepath.Join(dir, name)
		o, err := Create(atomicfs.OS, out)
		require.NoError(t, err)
		sum, err := (&Job{Model: tiny, Out: o}).Run(context.Background(), openAll(t, in))
		require.NoError(t, err)
		require.NoError(t, atomicfs.Commit(o.File))
		assert.Equal(t, 0, sum.Trips)
		if name == "out.csv" {
			got, err := os.ReadFile(out)
			require.NoError(t, err)
			assert.Equal(t, csvHeader, string(got))
		} else {
			rows, err := parquet.ReadFile[Row](out)
			require.NoError(t, err)
			assert.Empty(t, rows)
		}
	}
}

func TestCancelled(t *testing.T) {
	dir := t.TempDir()
	in := writeTrips(t, filepath.Join(dir, "a.parquet"),
		feature.Trip{PULocationID: i64(1), DOLocationID: i64(2), TripDistance: f64(1), Pickup: at(0), Dropoff: at(5)})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := (&Job{Model: tiny, Out: NewCSV(&bytes.Buffer{})}).Run(ctx, openAll(t, in))
	assert.ErrorIs(t, err, context.Canceled)
}

const february = "../testdata/green_tripdata_2022-02.parquet"

// A job cancelled after its first chunk of February's five leaves the
// output file as it was, parquet or CSV, and nothing beside it.
func TestCancelledKeepsOutput(t *testing.T) {
	for _, name := range []string{"out.parquet", "out.csv"} {
		dir := t.TempDir()
		out := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(out, []byte("the last run's result"), 0o644))
		o, err := Create(atomicfs.OS, out)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var chunks int
		j := &Job{Model: tiny, Out: o, Progress: func(done, total int64) {
			if done > 0 {
				chunks++
				cancel()
			}
		}}
		_, err = j.Run(ctx, openAll(t, february))
		assert.ErrorIs(t, err, context.Canceled, name)
		assert.Equal(t, 1, chunks, "%s: cancelled after the first chunk", name)
		assertOnly(t, dir, out, "the last run's result")
	}
}

// A job that fails on a damaged file leaves the output file as it was.
func TestFailedKeepsOutput(t *testing.T) {
	dir := t.TempDir()
	damaged := damagedFile(t, dir)
	out := filepath.Join(dir, "out", "out.parquet")
	require.NoError(t, os.Mkdir(filepath.Dir(out), 0o755))
	require.NoError(t, os.WriteFile(out, []byte("the last run's result"), 0o644))
	o, err := Create(atomicfs.OS, out)
	require.NoError(t, err)
	_, err = (&Job{Model: tiny, Out: o}).Run(context.Background(), openAll(t, damaged))
	assert.ErrorContains(t, err, damaged+": row group 0: column ")
	assertOnly(t, filepath.Dir(out), out, "the last run's result")
}

// assertOnly checks that dir holds one file, path, and what it holds.
func assertOnly(t *testing.T, dir, path, content string) {
	t.Helper()
	assert.Equal(t, map[string]string{filepath.Base(path): content}, testenv.Files(t, dir), "no temporary file left")
}

// BenchmarkJob is backfill of February in process (read, score with the
// tiny model, write parquet to memory): the job without process start-up
// and without the real model's cache misses.
func BenchmarkJob(b *testing.B) {
	var out bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		files, err := tlc.OpenAll([]string{february})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := (&Job{Model: tiny, Out: NewParquet(&out)}).Run(context.Background(), files); err != nil {
			b.Fatal(err)
		}
		files.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/69399, "ns/trip")
}

// BenchmarkWriteParquet encodes February's 69,399 rows (scored by the tiny
// model) as parquet, in memory.
func BenchmarkWriteParquet(b *testing.B) {
	f, err := tlc.Open(february)
	require.NoError(b, err)
	var trips tlc.Trips
	require.NoError(b, f.Reader().Read(&trips, 1<<20))
	rows := Score(tiny, &trips, 0, trips.Len(), nil, func(int, *feature.FieldError) {})
	var out bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		o := NewParquet(&out)
		for lo := 0; lo < len(rows); lo += chunk {
			require.NoError(b, o.Write(rows[lo:min(lo+chunk, len(rows))]))
		}
		require.NoError(b, o.Close())
	}
	b.ReportMetric(float64(out.Len()), "bytes")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(rows)), "ns/row")
}

// A file whose pages are damaged: the reader's error ends the job.
func TestDamagedFile(t *testing.T) {
	path := damagedFile(t, t.TempDir())
	_, err := (&Job{Model: tiny, Out: NewCSV(&bytes.Buffer{})}).Run(context.Background(), openAll(t, path))
	// e.g. ".../damaged.parquet: row group 0: column lpep_pickup_datetime:
	// decoding thrift payload: ..."
	assert.ErrorContains(t, err, path+": row group 0: column ")
}

// damagedFile writes a trip file into dir that opens and fails to read
// (testenv.WriteDamagedTrips).
func damagedFile(t *testing.T, dir string) string {
	path := filepath.Join(dir, "damaged.parquet")
	testenv.WriteDamagedTrips(t, path)
	return path
}
