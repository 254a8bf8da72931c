package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/generated"
	"github.com/rideduration/rideduration/internal/golden"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/wire"
)

func predict(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestPredictLines(t *testing.T) {
	t.Setenv("RUN_ID", "Test123")
	t.Setenv("TEST_RUN", "")
	in := strings.Join([]string{
		`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`,
		`Hello, this is a test.`,
		``,
		`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": "abc"}` + "\r",
		`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": "3.66"}, "ride_id": 5}`,
		// Beyond float32, the compiled forest's input type: scikit-learn refuses them.
		`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 1e39}, "ride_id": 6}`,
		`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 1e300}, "ride_id": 7}`,
		// The ids as strings of their digits are the ids; other spellings are refused.
		`{"ride": {"PULocationID": "130", "DOLocationID": "205", "trip_distance": 3.66}, "ride_id": 8}`,
		`{"ride": {"PULocationID": "130.0", "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 9}`,
		`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 124}`, // no final newline
	}, "\n")
	code, out, errs := predict(t, in)
	assert.Equal(t, 1, code, "a bad line makes the exit status non-zero")
	assert.Equal(t, "line 2: record: not valid JSON: invalid character 'H' at start of value\n"+
		"line 5: ride.trip_distance: must be a JSON number, got a string \"3.66\"\n"+
		"line 6: ride.trip_distance: must be below 3.4028235677973366e+38 (the model reads float32), got 1e+39\n"+
		"line 7: ride.trip_distance: must be below 3.4028235677973366e+38 (the model reads float32), got 1e+300\n"+
		"line 9: ride.PULocationID: must be an integer location id, as a number (130) or a string of its digits (\"130\"), got a string \"130.0\"\n"+
		"predict: 5 bad line(s)\n", errs)

	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 4)
	for i, id := range []string{"123", `"abc"`, "8", "124"} {
		var p wire.PredictionEvent
		require.NoError(t, json.Unmarshal([]byte(lines[i]), &p))
		assert.Equal(t, id, string(p.Prediction.RideID), "input order")
		assert.Equal(t, "Test123", p.Version)
		assert.Equal(t, math.Float64bits(golden.TestRide.Prediction), math.Float64bits(p.Prediction.RideDuration))
	}

	code, out, errs = predict(t, "")
	assert.Equal(t, 0, code)
	assert.Empty(t, out+errs)
}

// A line far over the event limit, with no newline for 200 MB, is refused
// by its number and length, and the rides after it are predicted; the job
// reads it through a buffer of about the limit: its allocations stay a few
// megabytes, not the line's size.
func TestPredictLinesLongLine(t *testing.T) {
	t.Setenv("RUN_ID", "Test123")
	t.Setenv("TEST_RUN", "")
	const long = 200 << 20
	ride := `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`
	in := &countingReader{r: io.MultiReader(
		strings.NewReader(ride+"\n"),
		io.LimitReader(repeatByte('x'), long),
		strings.NewReader("\n"+ride+"\n"),
	)}
	var out, errb bytes.Buffer
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	code := run(context.Background(), nil, in, &out, &errb)
	runtime.ReadMemStats(&after)

	assert.Equal(t, 1, code)
	assert.Equal(t, int64(2*len(ride)+3+long), in.n, "the whole input is read")
	assert.Equal(t, fmt.Sprintf("line 2: record: %d bytes, over the %d-byte limit of a ride event\n", long, wire.MaxEventBytes)+
		"predict: 1 bad line(s)\n", errb.String())
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 2, "the rides before and after the long line")
	for _, l := range lines {
		var p wire.PredictionEvent
		require.NoError(t, json.Unmarshal([]byte(l), &p))
		assert.Equal(t, math.Float64bits(golden.TestRide.Prediction), math.Float64bits(p.Prediction.RideDuration))
	}
	t.Logf("%d bytes allocated", after.TotalAlloc-before.TotalAlloc)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "bytes allocated reading a %d-byte line", long)
}

// repeatByte is an endless reader of one byte.
type repeatByte byte

func (b repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-stream", "s", "-start", "AT_TIMESTAMP"}, {"-stream", "s", "-batch-size", "0"},
		{"stream", "-start", "AT_TIMESTAMP", "s"}, {"stream"}, {"stream", "a", "b"},
		{"-start", "LATEST"}, {"extra"}, {"-nope"}, {"help", "nope"},
	} {
		code, out, errs := predict(t, "", args...)
		assert.Equal(t, 2, code, "%v", args)
		assert.NotEmpty(t, errs, "%v", args)
		assert.Empty(t, out, "%v", args)
	}

	code, out, errs := predict(t, "", "help")
	assert.Equal(t, 0, code)
	assert.Empty(t, errs)
	for _, cmd := range commands {
		assert.Contains(t, out, "\n  "+cmd.name+" ")
	}
	code, _, errs = predict(t, "", "help", "stream")
	assert.Equal(t, 0, code)
	assert.Contains(t, errs, "usage: predict stream [flags] STREAM")
	assert.Contains(t, errs, "-batch-size")

	// Each command's usage starts with its synopsis from the commands table,
	// through help COMMAND as through COMMAND -h; help's own too.
	for _, cmd := range commands {
		usage := "usage: " + strings.Join(strings.Fields("predict "+cmd.name+" "+cmd.args), " ") + "\n\n"
		code, out, errs := predict(t, "", "help", cmd.name)
		assert.Equal(t, 0, code, cmd.name)
		assert.Empty(t, out, cmd.name)
		assert.True(t, strings.HasPrefix(errs, usage), "predict help %s:\n%s", cmd.name, errs)
		code, out, errs = predict(t, "", cmd.name, "-h")
		assert.Equal(t, 0, code, cmd.name)
		assert.Empty(t, out, cmd.name)
		assert.True(t, strings.HasPrefix(errs, usage), "predict %s -h:\n%s", cmd.name, errs)
	}

	// The stream mapping refuses a function configuration it cannot use.
	t.Setenv("TEST_RUN", "yes")
	code, _, errs = predict(t, "", "stream", "ride_events")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, `TEST_RUN="yes"`)
}

// predict -h asks about predict: it lists the commands, as predict help
// does, in each spelling the flag package accepts.
func TestHelpFlag(t *testing.T) {
	code, help, errs := predict(t, "", "help")
	require.Equal(t, 0, code, errs)
	require.Contains(t, help, "\n  backfill ")
	for _, flag := range []string{"-h", "--help", "-help", "--h"} {
		code, out, errs := predict(t, "", flag)
		assert.Equal(t, 0, code, flag)
		assert.Equal(t, help, out, flag)
		assert.Empty(t, errs, flag)
	}
}

// An unknown flag of predict itself is answered with the commands, as
// predict -h is, on stderr: exit status 2.
func TestUnknownFlagListsCommands(t *testing.T) {
	_, help, _ := predict(t, "", "help")
	code, out, errs := predict(t, "", "-x")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Equal(t, "flag provided but not defined: -x\n"+help, errs)
}

// An argument that names a file, or looks like a file name, is not a
// command: the message says where such a file goes.
func TestUnknownCommandFile(t *testing.T) {
	t.Chdir(t.TempDir())
	require.NoError(t, os.WriteFile("rides", nil, 0o644))
	for arg, hint := range map[string]string{
		"rides.jsonl":           "; predict reads ride events on stdin: predict < rides.jsonl",
		"rides":                 "; predict reads ride events on stdin: predict < rides",
		"testdata/x":            "; predict reads ride events on stdin: predict < testdata/x",
		"green_2022-03.parquet": "; the batch commands read trip files: predict backfill -o OUT green_2022-03.parquet",
		"nope":                  "",
	} {
		code, out, errs := predict(t, "", arg)
		assert.Equal(t, 2, code, arg)
		assert.Empty(t, out, arg)
		assert.Equal(t, fmt.Sprintf("predict: unknown command %q (predict help lists them)%s\n", arg, hint), errs)
	}
}

// A usage error names what is missing or wrong on its first line, then
// shows the command's usage: exit status 2, nothing on stdout.
func TestUsageNamesTheProblem(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args         []string
		first, usage string
	}{
		{[]string{"backfill", february}, "predict backfill: -o is required: the file to write the predictions to (.parquet or .csv)", "predict backfill"},
		{[]string{"backfill", "-o", filepath.Join(dir, "x.csv")}, "predict backfill: no FILE.parquet: name the TLC trip files to score", "predict backfill"},
		{[]string{"replay", february}, "predict replay: -stream is required: the Kinesis stream to put the ride events on", "predict replay"},
		{[]string{"replay", "-stream", "ride_events"}, "predict replay: no FILE.parquet: name the TLC trip files to replay", "predict replay"},
		{[]string{"report", february}, "predict report: -o is required: the directory to write the report in", "predict report"},
		{[]string{"report", "-o", dir}, "predict report: no FILE.parquet: name the month's trip files to report on", "predict report"},
		{[]string{"stream"}, "predict stream: STREAM is required: the Kinesis stream to read ride events from", "predict stream"},
		{[]string{"extra"}, `predict: unknown command "extra" (predict help lists them)`, ""},
		{[]string{"help", "nope"}, `predict: unknown command "nope" (predict help lists them)`, ""},
		{[]string{"-start", "LATEST", "x"}, `predict: unexpected arguments ["x"] (predict help lists the commands)`, ""},
		{[]string{"-start", "LATEST"}, "predict: [-start] only with a stream (predict stream STREAM)", ""},
	} {
		code, out, errs := predict(t, "", c.args...)
		assert.Equal(t, 2, code, "%v", c.args)
		assert.Empty(t, out, "%v", c.args)
		first, rest, _ := strings.Cut(errs, "\n")
		assert.Equal(t, c.first, first, "%v", c.args)
		if c.usage != "" {
			assert.True(t, strings.HasPrefix(rest, "usage: "+c.usage+" "), "%v: then the usage:\n%s", c.args, errs)
		}
	}
}

// make predict runs the stdin job on testdata/rides.jsonl with nothing
// but prediction events on stdout (make echoes no command there), so that
// `make predict | jq .` works.
func TestMainJobThroughMake(t *testing.T) {
	testenv.NeedMake(t)
	cmd := testenv.MakeCmd(testenv.Root(t), nil, "GO="+testenv.GoTool(t), "predict")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	rides, err := os.ReadFile(filepath.Join(testenv.Root(t), "testdata", "rides.jsonl"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	assert.Len(t, lines, strings.Count(string(rides), "\n"), "one event per ride")
	for i, line := range lines {
		var p wire.PredictionEvent
		require.NoError(t, json.Unmarshal([]byte(line), &p), "stdout line %d is not a prediction event: %q", i+1, line)
	}
}

// The stdin job reads RUN_ID and nothing else of the function's
// configuration: it writes to no stream, so a TEST_RUN value the function
// refuses, or an odd stream name, changes nothing.
func TestPredictLinesIgnoresFunctionConfig(t *testing.T) {
	t.Setenv("TEST_RUN", "true")
	t.Setenv("PREDICTIONS_STREAM_NAME", "not a stream")
	t.Setenv("RUN_ID", "")
	code, out, errs := predict(t, `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`)
	require.Equal(t, 0, code, errs)
	assert.Equal(t, `{"model":"ride_duration_prediction_model","version":"`+generated.Version+`","prediction":{"ride_duration":`+
		strconv.FormatFloat(golden.TestRide.Prediction, 'g', -1, 64)+`,"ride_id":123}}`+"\n", out)
}

// Every February validation ride through the batch job: sklearn's
// prediction, bit for bit.
func TestPredictLinesGolden(t *testing.T) {
	rows, err := golden.Load()
	require.NoError(t, err)
	var in strings.Builder
	for i, r := range rows {
		in.WriteString(rideJSON(r, i))
		in.WriteByte('\n')
	}
	code, out, errs := predict(t, in.String())
	require.Equal(t, 0, code, errs)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, len(rows))
	for i, line := range lines {
		var p wire.PredictionEvent
		require.NoError(t, json.Unmarshal([]byte(line), &p))
		require.Equal(t, strconv.Itoa(i), string(p.Prediction.RideID))
		require.Equal(t, math.Float64bits(rows[i].Prediction), math.Float64bits(p.Prediction.RideDuration),
			"ride %d (%v): %v, want %v", i, rows[i].Features, p.Prediction.RideDuration, rows[i].Prediction)
	}
}

// rideJSON is golden row r as a ride event with ride id i.
func rideJSON(r golden.Row, i int) string {
	return fmt.Sprintf(`{"ride": {"PULocationID": %d, "DOLocationID": %d, "trip_distance": %s}, "ride_id": %d}`,
		r.PU, r.DO, strconv.FormatFloat(r.Distance, 'g', -1, 64), i)
}
