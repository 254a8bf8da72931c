package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/backfill"
	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/internal/atomicfs"
	"github.com/rideduration/rideduration/internal/compiled"
	"github.com/rideduration/rideduration/internal/golden"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/putrecords"
	"github.com/rideduration/rideduration/tlc"
	"github.com/rideduration/rideduration/wire"
)

const february = "../../testdata/green_tripdata_2022-02.parquet"

// ride is one trip of a TLC file: its row, and its features when it is a
// valid ride (ok), its actual duration when it has one (hasDuration).
type ride struct {
	row         int
	x           feature.Features
	ok          bool
	minutes     float64
	hasDuration bool
}

// readRides reads every trip of a TLC file, in row order.
func readRides(t testing.TB, path string) []ride {
	t.Helper()
	f, err := tlc.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []ride
	var trips tlc.Trips
	r := f.Reader()
	defer r.Close()
	for {
		err := r.Read(&trips, 10000)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		for i := range trips.Len() {
			r := ride{row: len(out)}
			x, err := trips.Features(i)
			r.x, r.ok = x, err == nil
			d, err := trips.Duration(i)
			r.minutes, r.hasDuration = d, err == nil
			out = append(out, r)
		}
	}
	return out
}

// goldenIndex maps a row of February to its golden row: the golden rows are
// the valid rides of 1 to 60 minutes, in file order (training's filter).
func goldenIndex(rides []ride) map[int]int {
	idx := map[int]int{}
	for _, r := range rides {
		if r.ok && r.hasDuration && feature.Keep(r.minutes) {
			idx[r.row] = len(idx)
		}
	}
	return idx
}

// Every February trip through backfill (parquet and CSV): the prediction is
// bit for bit the stdin job's for the same ride event, and sklearn's for
// every ride in the golden set.
func TestBackfillFebruary(t *testing.T) {
	t.Setenv("RUN_ID", "")
	dir := t.TempDir()
	out, outCSV := filepath.Join(dir, "feb.parquet"), filepath.Join(dir, "feb.csv")
	for _, o := range []string{out, outCSV} {
		code, stdout, stderr := predict(t, "", "backfill", "-o", o, february)
		require.Equal(t, 0, code, stderr)
		assert.Empty(t, stdout)
		assert.Regexp(t, `^backfill: 69399 rows, 0 bad, [0-9.]+ s, [0-9]+ rows/s\n$`, withoutProgress(stderr))
	}
	rows, err := parquet.ReadFile[backfill.Row](out)
	require.NoError(t, err)
	rides := readRides(t, february)
	require.Len(t, rows, len(rides), "February's trips are all valid rides")

	// The stdin job, on the same rides as ride events.
	var in bytes.Buffer
	for _, r := range rides {
		in.Write(wire.AppendRideEvent(nil, r.x, int64(r.row)))
		in.WriteByte('\n')
	}
	code, stdout, stderr := predict(t, in.String())
	require.Equal(t, 0, code, stderr)
	events := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, events, len(rides))

	gold, err := golden.Load()
	require.NoError(t, err)
	gi := goldenIndex(rides)
	require.Len(t, gi, len(gold), "golden rows are February's 1–60 minute rides")

	csvRows := readCSV(t, outCSV)
	require.Len(t, csvRows, len(rows))
	for i, row := range rows {
		r := rides[i]
		require.Equal(t, backfill.Row{
			Pickup: row.Pickup, Dropoff: row.Dropoff, // checked below
			PULocationID: int64(r.x.PU), DOLocationID: int64(r.x.DO), TripDistance: r.x.Distance,
			Duration: r.minutes, RideDuration: row.RideDuration,
		}, row, "row %d", i)
		assert.Equal(t, math.Float64bits(r.minutes), math.Float64bits(row.Duration), "row %d: duration", i)

		var p wire.PredictionEvent
		require.NoError(t, json.Unmarshal([]byte(events[i]), &p))
		require.Equal(t, strconv.Itoa(i), string(p.Prediction.RideID))
		require.Equal(t, math.Float64bits(p.Prediction.RideDuration), math.Float64bits(row.RideDuration),
			"row %d: backfill %v, stdin job %v", i, row.RideDuration, p.Prediction.RideDuration)
		if k, ok := gi[i]; ok {
			require.Equal(t, gold[k].Features, r.x, "row %d is golden row %d", i, k)
			require.Equal(t, math.Float64bits(gold[k].Prediction), math.Float64bits(row.RideDuration),
				"row %d: backfill %v, sklearn %v", i, row.RideDuration, gold[k].Prediction)
		}
		require.Equal(t, row, csvRows[i], "row %d: CSV and parquet", i)
	}
	// The first trip, as the TLC file has it (checked with pandas).
	assert.Equal(t, time.Date(2022, 2, 1, 0, 20, 21, 0, time.UTC).UnixMicro(), rows[0].Pickup)
	assert.Equal(t, time.Date(2022, 2, 1, 0, 24, 30, 0, time.UTC).UnixMicro(), rows[0].Dropoff)
}

// withoutProgress drops the progress lines a slow run prints every 5 s.
func withoutProgress(stderr string) string {
	return regexp.MustCompile(`(?m)^[a-z]+: [0-9]+/[0-9]+ [a-z]+ \([0-9]+%\)\n`).ReplaceAllString(stderr, "")
}

// readCSV reads backfill's CSV output back into rows.
func readCSV(t *testing.T, path string) []backfill.Row {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"lpep_pickup_datetime", "lpep_dropoff_datetime", "PULocationID", "DOLocationID",
		"trip_distance", "duration", "ride_duration"}, recs[0])
	var rows []backfill.Row
	for _, rec := range recs[1:] {
		var r backfill.Row
		times := []*int64{&r.Pickup, &r.Dropoff}
		for i, s := range rec[:2] {
			at, err := time.Parse("2006-01-02 15:04:05.999999", s)
			require.NoError(t, err)
			*times[i] = at.UnixMicro()
		}
		ints := []*int64{&r.PULocationID, &r.DOLocationID}
		for i, s := range rec[2:4] {
			*ints[i], err = strconv.ParseInt(s, 10, 64)
			require.NoError(t, err)
		}
		floats := []*float64{&r.TripDistance, &r.Duration, &r.RideDuration}
		for i, s := range rec[4:] {
			*floats[i], err = strconv.ParseFloat(s, 64)
			require.NoError(t, err)
		}
		rows = append(rows, r)
	}
	return rows
}

// Trips that are not valid rides are counted by reason and, with -errors,
// written with their file and row; the others are scored. No duration
// filter: a 90-minute trip is scored.
func TestBackfillBadTrips(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2022, 2, 1, 10, 0, 0, 0, time.UTC)
	later := at.Add(90 * time.Minute)
	i64 := func(v int64) *int64 { return &v }
	f64 := func(v float64) *float64 { return &v }
	trips := []feature.Trip{
		{PULocationID: i64(130), DOLocationID: i64(205), TripDistance: f64(3.66), Pickup: &at, Dropoff: &later},
		{DOLocationID: i64(205), TripDistance: f64(3.66), Pickup: &at, Dropoff: &later},
		{PULocationID: i64(130), DOLocationID: i64(205), TripDistance: f64(-1.5), Pickup: &at, Dropoff: &later},
		{PULocationID: i64(130), DOLocationID: i64(205), TripDistance: f64(3.66), Pickup: &at},
		{PULocationID: i64(130), DOLocationID: i64(205), TripDistance: f64(-0.5), Pickup: &at, Dropoff: &later},
		// Beyond float32, the compiled forest's input type: scikit-learn refuses it.
		{PULocationID: i64(130), DOLocationID: i64(205), TripDistance: f64(1e39), Pickup: &at, Dropoff: &later},
	}
	in := filepath.Join(dir, "odd.parquet")
	require.NoError(t, parquet.WriteFile(in, trips))
	out, bad := filepath.Join(dir, "out.csv"), filepath.Join(dir, "bad.csv")
	code, _, stderr := predict(t, "", "backfill", "-o", out, "-errors", bad, in)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSuffix(withoutProgress(stderr), "\n"), "\n")
	require.Len(t, lines, 5, stderr)
	assert.Equal(t, []string{
		"backfill: 2 bad: trip_distance: must be ≥ 0",
		"backfill: 1 bad: PULocationID: null",
		"backfill: 1 bad: lpep_dropoff_datetime: null",
		"backfill: 1 bad: trip_distance: must be below 3.4028235677973366e+38 (the model reads float32)",
	}, lines[:4])
	assert.Regexp(t, `^backfill: 6 rows, 5 bad, `, lines[4])
	got, err := os.ReadFile(bad)
	require.NoError(t, err)
	assert.Equal(t, "file,row,field,reason\n"+
		in+",1,PULocationID,null\n"+
		in+`,2,trip_distance,"must be ≥ 0, got -1.5"`+"\n"+
		in+",3,lpep_dropoff_datetime,null\n"+
		in+`,4,trip_distance,"must be ≥ 0, got -0.5"`+"\n"+
		in+`,5,trip_distance,"must be below 3.4028235677973366e+38 (the model reads float32), got 1e+39"`+"\n", string(got))
	rows := readCSV(t, out)
	require.Len(t, rows, 1)
	assert.Equal(t, 90.0, rows[0].Duration)
	assert.Equal(t, math.Float64bits(golden.TestRide.Prediction), math.Float64bits(rows[0].RideDuration))
}

func TestBackfillUsage(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"backfill", february}, "predict backfill: -o is required"},
		{[]string{"backfill", "-o", filepath.Join(dir, "x.parquet")}, "predict backfill: no FILE.parquet"},
		{[]string{"backfill", "-o", filepath.Join(dir, "x.json"), "typo.parquet"},
			"predict backfill: -o " + filepath.Join(dir, "x.json") + ": the output's extension must be .parquet or .csv\nusage: "},
	} {
		code, out, errs := predict(t, "", c.args...)
		assert.Equal(t, 2, code, "%v", c.args)
		assert.True(t, strings.HasPrefix(errs, c.msg), "%v: %s", c.args, errs)
		assert.Empty(t, out, "%v", c.args)
	}
	code, _, errs := predict(t, "", "backfill", "february")
	assert.Equal(t, 2, code)
	assert.Equal(t, "predict backfill: -o is required: the file to write the predictions to (.parquet or .csv)\n"+
		"usage: predict backfill -o OUT", errs[:strings.Index(errs, " [-errors")], "the reason, then the usage")
	assert.NoFileExists(t, filepath.Join(dir, "x.parquet"))
	assert.NoFileExists(t, filepath.Join(dir, "x.json"))
}

// A backfill writes nothing before it has checked its inputs: a missing
// file, one that is not parquet and one without the TLC's columns each
// leave the output as it was, and no summary line is printed.
func TestBackfillChecksInputsFirst(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "keep.csv")
	require.NoError(t, os.WriteFile(keep, []byte("the last run's predictions\n"), 0o644))
	notParquet := filepath.Join(dir, "rides.parquet")
	require.NoError(t, os.WriteFile(notParquet, []byte("PULocationID,DOLocationID\n1,2\n"), 0o644))
	noColumns := filepath.Join(dir, "zones.parquet")
	require.NoError(t, parquet.WriteFile(noColumns, []struct{ LocationID int64 }{{1}}))
	typo := filepath.Join(dir, "typo.parquet")
	for _, c := range []struct{ input, msg string }{
		{typo, "predict backfill: open " + typo + ": no such file or directory\n"},
		{notParquet, "predict backfill: " + notParquet + ": not a parquet file: "},
		{noColumns, "predict backfill: " + noColumns + ": no column lpep_pickup_datetime: not a TLC green taxi trip file\n"},
	} {
		code, out, errs := predict(t, "", "backfill", "-o", keep, "-errors", filepath.Join(dir, "bad.csv"), february, c.input)
		assert.Equal(t, 1, code, c.input)
		assert.Empty(t, out)
		assert.True(t, strings.HasPrefix(errs, c.msg), "%s: %s", c.input, errs)
		assert.Equal(t, 1, strings.Count(errs, "\n"), "the error only, no summary: %s", errs)
		got, err := os.ReadFile(keep)
		require.NoError(t, err)
		assert.Equal(t, "the last run's predictions\n", string(got), c.input)
	}
	assert.NoFileExists(t, filepath.Join(dir, "bad.csv"))
}

// An output that is also an input, by its path or through a link, or
// two outputs that are one file, are refused before anything is written.
func TestBackfillRefusesToOverwriteInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "feb.parquet")
	data, err := os.ReadFile(february)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(in, data, 0o644))
	link := filepath.Join(dir, "link.parquet")
	require.NoError(t, os.Symlink(in, link))
	out := filepath.Join(dir, "out.csv")
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-o", in, in}, "predict backfill: -o " + in + " is also an input: write to another file\n"},
		{[]string{"-o", link, in}, "predict backfill: -o " + link + " is also an input"},
		{[]string{"-o", out, "-errors", in, february, in}, "predict backfill: -errors " + in + " is also an input"},
		{[]string{"-o", out, "-errors", out, in}, "predict backfill: -o and -errors name the same file, " + out + ": give each its own\n"},
	} {
		code, stdout, errs := predict(t, "", append([]string{"backfill"}, c.args...)...)
		assert.Equal(t, 2, code, "%v", c.args)
		assert.Empty(t, stdout)
		assert.True(t, strings.HasPrefix(errs, c.msg), "%v: %s", c.args, errs)
		assert.Contains(t, errs, "usage: predict backfill")
		got, err := os.ReadFile(in)
		require.NoError(t, err)
		require.Equal(t, data, got, "%v: the input is intact", c.args)
		assert.NoFileExists(t, out)
	}
}

// An interrupted backfill (Ctrl-C cancels the context) leaves its outputs
// as they were, nothing beside them, and prints no summary.
func TestBackfillInterrupted(t *testing.T) {
	dir := t.TempDir()
	out, bad := filepath.Join(dir, "feb.parquet"), filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(out, []byte("the last run's predictions"), 0o644))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"backfill", "-o", out, "-errors", bad, february}, strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout.String())
	assert.Equal(t, "predict backfill: interrupted: "+out+" and "+bad+" left as they were\n", withoutProgress(stderr.String()))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left")
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "the last run's predictions", string(got))
}

// setAWSEnv points the AWS SDK at endpoint for the test.
func setAWSEnv(t *testing.T, endpoint string) {
	for _, kv := range testenv.AWSEnv(endpoint) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("KINESIS_ENDPOINT_URL", "")
}

// Each required flag or argument of replay missing, or a negative -rate
// or -limit, is named before the usage; a replay that fails prints no
// summary line.
func TestReplayUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{february}, "predict replay: -stream is required: the Kinesis stream to put the ride events on\nusage: predict replay -stream STREAM"},
		{[]string{"-stream", "ride_events"}, "predict replay: no FILE.parquet: name the TLC trip files to replay\nusage: "},
		{[]string{"-stream", "ride_events", "-rate", "-1", february}, "predict replay: -rate -1: want 0 (as fast as the stream takes them) or more rides per second\nusage: "},
		{[]string{"-stream", "ride_events", "-limit", "-5", february}, "predict replay: -limit -5: want 0 (every trip) or more rides\nusage: "},
	} {
		code, out, errs := predict(t, "", append([]string{"replay"}, c.args...)...)
		assert.Equal(t, 2, code, "%v", c.args)
		assert.Empty(t, out, "%v", c.args)
		assert.True(t, strings.HasPrefix(errs, c.msg), "%v: %s", c.args, errs)
	}

	// No Kinesis is called: the file is missing.
	setAWSEnv(t, "http://127.0.0.1:1")
	missing := filepath.Join(t.TempDir(), "typo.parquet")
	code, out, errs := predict(t, "", "replay", "-stream", "ride_events", missing)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Equal(t, "predict: open "+missing+": no such file or directory\n", withoutProgress(errs), "the error only, no summary")
}

// A replay that fails after putting rides says how many it put (they stay
// on the stream), and prints no summary line: 1,000 rides, then a file
// that cannot be read.
func TestBatchReplayFailsMidway(t *testing.T) {
	endpoint := testenv.Moto(t)
	testenv.CreateStream(t, testenv.Kinesis(t, endpoint), "ride_events", 1)
	setAWSEnv(t, endpoint)
	dir := t.TempDir()
	good, damaged := filepath.Join(dir, "good.parquet"), filepath.Join(dir, "damaged.parquet")
	testenv.WriteTrips(t, good, 1000)
	testenv.WriteDamagedTrips(t, damaged)
	code, out, errs := predict(t, "", "replay", "-stream", "ride_events", good, damaged)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	errs = withoutProgress(errs)
	assert.True(t, strings.HasPrefix(errs, "predict: "+damaged+": row group 0: column "), errs)
	assert.True(t, strings.HasSuffix(errs, " (1000 rides were put on ride_events before)\n"), errs)
	assert.Equal(t, 1, strings.Count(errs, "\n"), "the error only, no summary: %s", errs)
}

// With no Kinesis at the endpoint (moto down, or AWS_ENDPOINT_URL wrong),
// replay stops with the cause and the endpoint, once the writer has had no
// answer for putrecords.DefaultUnreachable, and prints no summary. (The
// context's timeout only keeps a replay that would not stop from running
// forever.)
func TestReplayUnreachable(t *testing.T) {
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", testenv.UnusedPort(t))
	for _, kv := range append(testenv.AWSEnv(endpoint), "AWS_ENDPOINT_URL_KINESIS=", "KINESIS_ENDPOINT_URL=") {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*putrecords.DefaultUnreachable)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"replay", "-stream", "ride_events", "-limit", "10", february}, strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Regexp(t, `^predict replay: no Kinesis at `+regexp.QuoteMeta(endpoint)+`: dial tcp [0-9.:]+: connect: connection refused `+
		`\(no answer for [0-9.]+s\); 0 rides put on ride_events\n`+
		`predict replay: start it, or set AWS_ENDPOINT_URL to the Kinesis to use \(e.g. http://localhost:4566\)\n$`,
		withoutProgress(stderr.String()))
	assert.Empty(t, stdout.String())
}

// 10,000 February rides replayed onto a local Kinesis (moto_server) by the
// built binary, through the local mapping (`predict stream`, also the built
// binary) running the function: every prediction comes back once, bit for
// bit the compiled model's for that trip, and sklearn's where the trip is a
// golden ride.
func TestReplayFebruary(t *testing.T) {
	const n = 10000
	endpoint := testenv.Moto(t)
	c := testenv.Kinesis(t, endpoint)
	testenv.CreateStream(t, c, "ride_events", 2)
	testenv.CreateStream(t, c, "ride_prediction", 2)
	bin := testenv.GoBuild(t, ".", "predict", nil)
	env := append(os.Environ(), testenv.AWSEnv(endpoint)...)
	env = append(env, "PREDICTIONS_STREAM_NAME=", "RUN_ID=", "TEST_RUN=", "DEAD_LETTER_STREAM_NAME=")

	replay := exec.Command(bin, "replay", "-stream", "ride_events", "-limit", strconv.Itoa(n), february)
	replay.Env = env
	var replayErr bytes.Buffer
	replay.Stderr = &replayErr
	require.NoError(t, replay.Run(), replayErr.String())
	assert.Regexp(t, `(?m)^replay: 10000 rides put on ride_events, 0 resends, 0 failed, 20 calls, [0-9.]+ s, [0-9]+ rides/s$`, replayErr.String())

	mapping := exec.Command(bin, "stream", "-poll", "100ms", "-batch-size", "500", "ride_events")
	mapping.Env = env
	var mapErr bytes.Buffer
	mapping.Stdout, mapping.Stderr = &bytes.Buffer{}, &mapErr
	require.NoError(t, mapping.Start())
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = mapping.Process.Kill()
			_ = mapping.Wait()
		}
		if t.Failed() {
			t.Logf("predict stream stderr:\n%s", mapErr.String())
		}
	})
	waitFor(t, func() bool { return len(testenv.ReadStream(t, c, "ride_prediction")) >= n })
	require.NoError(t, mapping.Process.Signal(syscall.SIGINT))
	require.NoError(t, mapping.Wait(), mapErr.String())
	stopped = true

	rides := readRides(t, february)
	gold, err := golden.Load()
	require.NoError(t, err)
	gi := goldenIndex(rides)
	m := compiled.Model()
	seen, inGolden := map[int]bool{}, 0
	// Read the whole stream again: a record landing during an earlier read may
	// have been missed by it.
	for _, rec := range testenv.ReadStream(t, c, "ride_prediction") {
		var p wire.PredictionEvent
		require.NoError(t, json.Unmarshal(rec.Data, &p))
		id, err := strconv.Atoi(string(p.Prediction.RideID))
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa(id), aws.ToString(rec.PartitionKey))
		require.False(t, seen[id], "ride %d predicted twice", id)
		seen[id] = true
		r := rides[id]
		require.True(t, r.ok, "ride %d is a valid ride", id)
		require.Equal(t, math.Float64bits(m.Predict(r.x)), math.Float64bits(p.Prediction.RideDuration),
			"ride %d (%v): %v, want %v", id, r.x, p.Prediction.RideDuration, m.Predict(r.x))
		if k, ok := gi[id]; ok {
			inGolden++
			require.Equal(t, gold[k].Features, r.x)
			require.Equal(t, math.Float64bits(gold[k].Prediction), math.Float64bits(p.Prediction.RideDuration),
				"ride %d: %v, sklearn %v", id, p.Prediction.RideDuration, gold[k].Prediction)
		}
	}
	require.Len(t, seen, n)
	for id := range n {
		require.True(t, seen[id], "ride %d: no prediction (February's first %d trips are all valid rides)", id, n)
	}
	t.Logf("%d predictions bit-identical to the compiled model's, %d of them checked against sklearn's golden predictions", n, inGolden)
	assert.Greater(t, inGolden, n*9/10)
}

// BenchmarkScore scores February's 69,399 trips already read, in chunks of
// 16,384 as backfill does: the model's own speed inside backfill (features,
// duration, prediction, output row).
func BenchmarkScore(b *testing.B) {
	f, err := tlc.Open(february)
	require.NoError(b, err)
	defer f.Close()
	var trips tlc.Trips
	require.NoError(b, f.Reader().Read(&trips, 1<<20))
	m := compiled.Model()
	const chunk = 16 << 10
	rows := make([]backfill.Row, 0, chunk)
	b.ReportAllocs()
	for b.Loop() {
		for lo := 0; lo < trips.Len(); lo += chunk {
			rows = backfill.Score(m, &trips, lo, min(lo+chunk, trips.Len()), rows[:0], func(int, *feature.FieldError) { b.Fatal("bad trip") })
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(trips.Len()), "ns/trip")
}

// limitedPredict runs the predict binary bin with args under a file size
// limit of limit bytes (prlimit --fsize): a write past it fails with EFBIG,
// a real full-file fault at a chosen byte. It returns the exit status and
// stderr.
func limitedPredict(t *testing.T, bin string, limit int64, args ...string) (int, string) {
	t.Helper()
	prlimit := testenv.Tool(t, "prlimit", "apt-get install util-linux")
	cmd := exec.Command(prlimit, append([]string{"--fsize=" + strconv.FormatInt(limit, 10), bin}, args...)...)
	cmd.Env = append(os.Environ(), "RUN_ID=", "TEST_RUN=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return testenv.ExitCode(err), stderr.String()
	}
	return 0, stderr.String()
}

// requireFiles requires dir to hold exactly the files of want, each with
// its content byte for byte: nothing else, no temporary file.
func requireFiles(t *testing.T, dir string, want map[string]string, msg string) {
	t.Helper()
	got := testenv.Files(t, dir)
	require.ElementsMatch(t, slices.Collect(maps.Keys(want)), slices.Collect(maps.Keys(got)), "%s: the files", msg)
	for name, content := range want {
		require.True(t, got[name] == content, "%s: %s is not as it was: %d bytes, %.60q...", msg, name, len(got[name]), got[name])
	}
}

// A backfill whose -errors file fails at its last bytes, written when it
// is flushed at the end, leaves -o and -errors as they were: -o is put in
// place only once -errors is whole.
func TestBackfillErrorsFailAtFlush(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2022, 2, 1, 10, 0, 0, 0, time.UTC)
	later := at.Add(9 * time.Minute)
	do, dist := int64(205), 3.66
	trips := make([]feature.Trip, 3000)
	for i := range trips {
		trips[i] = feature.Trip{DOLocationID: &do, TripDistance: &dist, Pickup: &at, Dropoff: &later}
	}
	pu := int64(130)
	trips[0].PULocationID = &pu
	in := filepath.Join(dir, "in", "bad.parquet")
	require.NoError(t, os.Mkdir(filepath.Dir(in), 0o755))
	require.NoError(t, parquet.WriteFile(in, trips))
	bin := testenv.GoBuild(t, ".", "predict", nil)

	clean := filepath.Join(dir, "clean")
	require.NoError(t, os.Mkdir(clean, 0o755))
	code, stderr := limitedPredict(t, bin, 1<<30, "backfill", "-o", filepath.Join(clean, "out.csv"), "-errors", filepath.Join(clean, "bad.csv"), in)
	require.Equal(t, 0, code, stderr)
	st, err := os.Stat(filepath.Join(clean, "bad.csv"))
	require.NoError(t, err)
	require.Greater(t, st.Size(), int64(64<<10), "-errors much larger than -o")

	outs := filepath.Join(dir, "outs")
	require.NoError(t, os.Mkdir(outs, 0o755))
	old := map[string]string{"out.csv": "the last run's predictions\n", "bad.csv": "the last run's bad trips\n"}
	for name, content := range old {
		require.NoError(t, os.WriteFile(filepath.Join(outs, name), []byte(content), 0o644))
	}
	code, stderr = limitedPredict(t, bin, st.Size()-1, "backfill", "-o", filepath.Join(outs, "out.csv"), "-errors", filepath.Join(outs, "bad.csv"), in)
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "file too large")
	requireFiles(t, outs, old, "both outputs as they were")
}

// faultRun runs predict with args, its outputs written through fsys.
func faultRun(fsys atomicfs.FS, args ...string) (code int, stderr string) {
	var stdout, errb bytes.Buffer
	c := &cli{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &stdout, stderr: &errb, fs: fsys}
	return c.run(args), errb.String()
}

// faultSteps runs a command once without a fault, then once failing at
// each of its file system operations in turn (testenv.FaultFS). Before
// each run, setup makes the outputs hold the last run's content (old) in a
// fresh directory, and args gives the command line for it; after a failing
// run, check gets the failed operation and whether it came after the
// outputs were put in place. noExchange is FaultFS.NoExchange.
func faultSteps(t *testing.T, noExchange bool, setup func(dir string), args func(dir string) []string, check func(dir, failed string, committed bool)) {
	t.Helper()
	clean := &testenv.FaultFS{NoExchange: noExchange}
	dir := t.TempDir()
	setup(dir)
	code, stderr := faultRun(clean, args(dir)...)
	require.Equal(t, 0, code, stderr)
	require.NotZero(t, clean.Committed())
	t.Logf("%d operations:\n%s", len(clean.Ops), strings.Join(clean.Ops, "\n"))
	for k := 1; k <= len(clean.Ops); k++ {
		fsys := &testenv.FaultFS{FailAt: k, NoExchange: noExchange}
		dir := t.TempDir()
		setup(dir)
		code, stderr := faultRun(fsys, args(dir)...)
		failed := fsys.Failed()
		require.NotEmpty(t, failed, "step %d: the same operations as the clean run: %q", k, fsys.Ops)
		assert.Equal(t, 1, code, "%s: %s", failed, stderr)
		assert.Contains(t, stderr, testenv.ErrFault.Error(), failed)
		check(dir, failed, k > clean.Committed())
	}
}

// A backfill failing at any step of writing its outputs (a write, at half
// its bytes, an fsync, a close, a rename, a link, a directory sync) leaves
// -o and -errors as they were, byte for byte, and nothing beside them; a
// failure to sync the directory once both are in place leaves both new.
func TestBackfillFaults(t *testing.T) {
	in := filepath.Join(t.TempDir(), "odd.parquet")
	at := time.Date(2022, 2, 1, 10, 0, 0, 0, time.UTC)
	later := at.Add(90 * time.Minute)
	pu, do, dist := int64(130), int64(205), 3.66
	trips := []feature.Trip{{PULocationID: &pu, DOLocationID: &do, TripDistance: &dist, Pickup: &at, Dropoff: &later}}
	for range 300 {
		trips = append(trips, feature.Trip{DOLocationID: &do, TripDistance: &dist, Pickup: &at, Dropoff: &later})
	}
	require.NoError(t, parquet.WriteFile(in, trips))
	for _, out := range []string{"out.csv", "out.parquet"} {
		old := map[string]string{out: "the last run's predictions\n", "bad.csv": "the last run's bad trips\n"}
		var want map[string]string
		setup := func(dir string) {
			for name, content := range old {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
			}
		}
		args := func(dir string) []string {
			return []string{"backfill", "-o", filepath.Join(dir, out), "-errors", filepath.Join(dir, "bad.csv"), in}
		}
		dir := t.TempDir()
		setup(dir)
		code, stderr := faultRun(atomicfs.OS, args(dir)...)
		require.Equal(t, 0, code, stderr)
		want = testenv.Files(t, dir)
		require.NotEqual(t, old, want)
		faultSteps(t, false, setup, args, func(dir, failed string, committed bool) {
			if committed {
				requireFiles(t, dir, want, failed+": the new outputs")
			} else {
				requireFiles(t, dir, old, failed+": the outputs as they were")
			}
		})
	}
}
