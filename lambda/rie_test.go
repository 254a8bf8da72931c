package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/handler"
	"github.com/rideduration/rideduration/internal/golden"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/kinesisevent"
	"github.com/rideduration/rideduration/kpl"
)

// The original's Kinesis test event (ride 130 → 205, 3.66 mi, ride_id 123)
// and the response it must get with RUN_ID=Test123.
var (
	fixture         = filepath.Join("..", "handler", "testdata", "kinesis-test-event.json")
	fixtureResponse = filepath.Join("..", "handler", "testdata", "kinesis-test-event-response.json")
)

// The handler with the compiled model wired in, as main wires it: the
// original's test event gives sklearn's 18.321633541366506, in the
// original's response shape; its metrics describe the invocation, TEST_RUN
// as it is.
func TestCompiledHandler(t *testing.T) {
	t.Setenv("RUN_ID", "Test123")
	t.Setenv("TEST_RUN", "True")
	t.Setenv("PREDICTIONS_STREAM_NAME", "")
	t.Setenv("DEAD_LETTER_STREAM_NAME", "")
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "ride-duration-ZipFunction-1A2B3C")
	t.Setenv("POWERTOOLS_METRICS_NAMESPACE", "")
	t.Setenv("POWERTOOLS_SERVICE_NAME", "")
	var metrics bytes.Buffer
	h, err := newHandler(context.Background(), slog.New(slog.NewJSONHandler(io.Discard, nil)), &metrics)
	require.NoError(t, err)
	b, err := os.ReadFile(fixture)
	require.NoError(t, err)
	var ev events.KinesisEvent
	require.NoError(t, json.Unmarshal(b, &ev))
	resp, err := h.Handle(context.Background(), ev)
	require.NoError(t, err)
	require.Len(t, resp.Predictions, 1)
	assert.Equal(t, math.Float64bits(golden.TestRide.Prediction), math.Float64bits(resp.Predictions[0].Prediction.RideDuration))
	got, err := json.Marshal(resp)
	require.NoError(t, err)
	want, err := os.ReadFile(fixtureResponse)
	require.NoError(t, err)
	// The fixture holds the original's model's prediction; another compiled
	// model (make model) is held to its own sklearn prediction above.
	want = bytes.ReplaceAll(want, []byte("18.321633541366506"), strconv.AppendFloat(nil, golden.TestRide.Prediction, 'g', -1, 64))
	assert.JSONEq(t, string(want), string(got))

	docs := testenv.EMFLines(t, metrics.String())
	require.Len(t, docs, 2, "the cold start's document, the invocation's")
	assert.Equal(t, map[string]any{"function_name": "ride-duration-ZipFunction-1A2B3C", "service": handler.DefaultService},
		map[string]any{"function_name": docs[0]["function_name"], "service": docs[0]["service"]})
	doc := docs[1]
	assert.Equal(t, "ride-duration-ZipFunction-1A2B3C", doc["FunctionName"])
	assert.Equal(t, "ride_events", doc["StreamName"])
	assert.Equal(t, true, doc["test_run"])
	for name, want := range map[string]string{"RecordsIn": "1", "RidesPredicted": "1", "BadRecords": "0", "PutRecordsCalls": "0"} {
		assert.Equal(t, json.Number(want), doc[name], name)
	}
	secs := golden.TestRide.Prediction * 60
	assert.Equal(t, map[string]any{
		"Values": []any{json.Number(strconv.FormatFloat(math.Round(secs), 'f', 0, 64))}, "Counts": []any{json.Number("1")},
		"Max": json.Number(strconv.FormatFloat(secs, 'f', 3, 64)), "Min": json.Number(strconv.FormatFloat(secs, 'f', 3, 64)),
		"Count": json.Number("1"), "Sum": json.Number(strconv.FormatFloat(secs, 'f', 3, 64)),
	}, doc["PredictedDuration"], "the ride's duration in seconds")
}

// buildBootstrap builds the function as make package does.
func buildBootstrap(t *testing.T) string {
	return testenv.GoBuild(t, ".", "bootstrap", []string{"CGO_ENABLED=0"},
		"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w")
}

func invoke(t *testing.T, url string, event []byte) []byte {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(event))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	// A function error is HTTP 200 too: the body tells.
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	return body
}

// The original's test: its Kinesis test event POSTed to the function
// running under the Lambda Runtime Interface Emulator, TEST_RUN=True.
func TestUnderRIE(t *testing.T) {
	bin := buildBootstrap(t)
	rie := testenv.StartRIE(t, bin,
		"PREDICTIONS_STREAM_NAME=ride_prediction", "RUN_ID=Test123", "TEST_RUN=True",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128")
	event, err := os.ReadFile(fixture)
	require.NoError(t, err)

	body := invoke(t, rie.URL, event)
	require.NotContains(t, string(body), "errorMessage")
	var resp kinesisevent.Response
	require.NoError(t, json.Unmarshal(body, &resp))
	require.Len(t, resp.Predictions, 1)
	p := resp.Predictions[0]
	assert.Equal(t, "ride_duration_prediction_model", p.Model)
	assert.Equal(t, "Test123", p.Version)
	assert.Equal(t, "123", string(p.Prediction.RideID))
	assert.Equal(t, math.Float64bits(golden.TestRide.Prediction), math.Float64bits(p.Prediction.RideDuration),
		"ride_duration %v", p.Prediction.RideDuration)
	assert.Contains(t, string(body), `"batchItemFailures":[]`)

	// The figures for the report (not asserted: benchmarks, not timed tests).
	report := rie.WaitOutput(t, `REPORT RequestId: .*`)
	require.Contains(t, report, "Init Duration", "the first invoke is a cold start")
	t.Logf("cold start: %s", strings.TrimSpace(report))
	if rss := peakRSS(rie.Cmd.Process.Pid); rss != "" {
		t.Logf("bootstrap peak RSS (VmHWM): %s", rss)
	}
	if fi, err := os.Stat(bin); err == nil {
		t.Logf("bootstrap size: %d bytes", fi.Size())
	}
	rie.WaitOutput(t, regexp.QuoteMeta(`"msg":"batch"`)) // the batch log line reaches the function log

	// The metrics in the function's log: every EMF document valid, the cold
	// start's and the invocation's, each on a line of its own.
	rie.WaitOutput(t, regexp.QuoteMeta(`"RecordsIn":1,`))
	docs := testenv.EMFLines(t, rie.Output())
	require.Len(t, docs, 2, "%s", rie.Output())
	assert.Equal(t, json.Number("1"), docs[0]["ColdStart"])
	assert.Equal(t, "ride_events", docs[1]["StreamName"])
	assert.Equal(t, docs[0]["function_name"], docs[1]["FunctionName"], "the function the emulator runs")
	for _, line := range regexp.MustCompile(`(?m)^\{"_aws".*$`).FindAllString(rie.Output(), -1) {
		t.Logf("metrics: %s", line)
	}
}

// An invalid configuration fails the init with a clear message.
func TestUnderRIEInvalidConfig(t *testing.T) {
	rie := testenv.StartRIE(t, buildBootstrap(t), "TEST_RUN=yes")
	event, err := os.ReadFile(fixture)
	require.NoError(t, err)
	resp, err := http.Post(rie.URL, "application/json", bytes.NewReader(event))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.NotContains(t, string(body), "predictions")
	t.Logf("response: %s", body)
	rie.WaitOutput(t, regexp.QuoteMeta(`"msg":"invalid configuration","error":"TEST_RUN=\"yes\": want True or False (or unset)"`))
}

// A batch whose predictions would take more than Lambda's 6 MB response
// limit, under the emulator, which enforces it as Lambda does: February's
// rides, compact, in 4 KPL aggregates of up to 1 MiB. The response fits,
// holds the first rides' predictions, sklearn's bit for bit, and the log
// says how many were left out.
func TestUnderRIEDenseBatch(t *testing.T) {
	rows, err := golden.Load()
	require.NoError(t, err)
	var ev events.KinesisEvent
	rides := 0
	for range 4 {
		var users []kpl.UserRecord
		for size := 0; ; rides++ {
			r := rows[rides]
			data := fmt.Appendf(nil, `{"ride":{"PULocationID":%d,"DOLocationID":%d,"trip_distance":%v},"ride_id":%d}`,
				r.PU, r.DO, r.Distance, rides+1)
			if size += len(data) + 8; size > 1<<20-64 { // 8: the protobuf's framing of a user record, at most
				break
			}
			users = append(users, kpl.UserRecord{PartitionKey: "producer", Data: data})
		}
		agg := kpl.Aggregate(users)
		require.LessOrEqual(t, len(agg), 1<<20, "Kinesis's limit on a record's data")
		seq := fmt.Sprintf("4963008166608487929058118563032477039860870488080252%04d", len(ev.Records))
		ev.Records = append(ev.Records, events.KinesisEventRecord{
			EventID: "shardId-000000000000:" + seq, EventName: "aws:kinesis:record", EventSource: "aws:kinesis",
			Kinesis: events.KinesisRecord{Data: agg, PartitionKey: "producer", SequenceNumber: seq},
		})
	}
	event, err := json.Marshal(ev)
	require.NoError(t, err)
	require.LessOrEqual(t, len(event), 6<<20, "an event Lambda sends")
	t.Logf("%d rides, an event of %d bytes", rides, len(event))

	rie := testenv.StartRIE(t, buildBootstrap(t),
		"PREDICTIONS_STREAM_NAME=ride_prediction", "RUN_ID=0e4f1d1c5a3b4d8f9e2a7b6c5d4e3f21", "TEST_RUN=True",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128")
	body := invoke(t, rie.URL, event)
	require.NotContains(t, string(body[:min(len(body), 200)]), "errorMessage", "%.300s", body)
	assert.LessOrEqual(t, len(body), handler.MaxResponseBytes)
	var resp kinesisevent.Response
	require.NoError(t, json.Unmarshal(body, &resp))
	assert.Equal(t, []events.KinesisBatchItemFailure{}, resp.BatchItemFailures)
	require.NotEmpty(t, resp.Predictions)
	require.Less(t, len(resp.Predictions), rides)
	for i, p := range resp.Predictions {
		require.Equal(t, strconv.Itoa(i+1), string(p.Prediction.RideID), "the first rides, in order")
		golden.RequireBits(t, rows[i].Prediction, p.Prediction.RideDuration, "ride %d", i+1)
	}
	line := rie.WaitOutput(t, `"msg":"predictions left out of the response","left_out":\d+,"in_response":\d+`)
	assert.Contains(t, line, fmt.Sprintf(`"left_out":%d,"in_response":%d`, rides-len(resp.Predictions), len(resp.Predictions)))
	t.Logf("a response of %d bytes, %d of %d predictions", len(body), len(resp.Predictions), rides)

	// The metrics count every ride, the response's or not; their
	// distribution stays within CloudWatch's 100 values.
	rie.WaitOutput(t, regexp.QuoteMeta(`"RecordsIn":4,`))
	docs := testenv.EMFLines(t, rie.Output())
	require.Len(t, docs, 2)
	n := json.Number(strconv.Itoa(rides))
	assert.Equal(t, []any{json.Number("4"), n, n}, []any{docs[1]["RecordsIn"], docs[1]["KPLUserRecords"], docs[1]["RidesPredicted"]})
	dist := docs[1]["PredictedDuration"].(map[string]any)
	assert.Equal(t, n, dist["Count"])
	t.Logf("predicted durations: %d values, from %v s to %v s", len(dist["Values"].([]any)), dist["Min"], dist["Max"])
}

// peakRSS is the VmHWM of the emulator's child (the bootstrap), from /proc.
func peakRSS(riePID int) string {
	kids, _ := filepath.Glob("/proc/" + strconv.Itoa(riePID) + "/task/*/children")
	for _, k := range kids {
		b, _ := os.ReadFile(k)
		for _, pid := range strings.Fields(string(b)) {
			status, _ := os.ReadFile("/proc/" + pid + "/status")
			if m := regexp.MustCompile(`VmHWM:\s*(.*)`).FindSubmatch(status); m != nil {
				return string(m[1])
			}
		}
	}
	return ""
}
