package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/faultproxy"
	"github.com/rideduration/rideduration/internal/testenv"
)

// emfDocs returns the EMF documents written to buf, each checked against
// the specification's rules.
func emfDocs(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	docs := testenv.EMFLines(t, buf.String())
	require.Equal(t, bytes.Count(buf.Bytes(), []byte("\n")), len(docs), "nothing but EMF documents, a line each:\n%s", buf)
	return docs
}

// figures returns a document's count metrics, by name.
func figures(t *testing.T, doc map[string]any) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, name := range counters {
		n, err := doc[name].(json.Number).Int64()
		require.NoError(t, err, name)
		out[name] = n
	}
	return out
}

// directive returns a document's one metric directive.
func directive(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	dirs := doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)
	require.Len(t, dirs, 1)
	return dirs[0].(map[string]any)
}

// A batch that mixes good records, bad records, a KPL aggregate (with a bad
// user record) and writes that fail, on a real (local) Kinesis: the
// dead-letter stream is unavailable (a proxy in front of moto answers 503),
// so both dead letters fail, and their records are reported. One
// invocation document, its figures exactly what happened, after the cold
// start's document.
func TestMetricsMixedBatch(t *testing.T) {
	moto := testenv.Moto(t)
	testenv.CreateStream(t, testenv.Kinesis(t, moto), "predictions", 1)
	testenv.CreateStream(t, testenv.Kinesis(t, moto), "dead_letters", 1)
	p := faultproxy.Start(t, moto, 1)
	p.SetDown("dead_letters", true)
	c := testenv.Kinesis(t, p.URL)

	badUser := []byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": "3.66"}, "ride_id": 99}`)
	ev := kinesisEvent(
		rideRecord(1),
		aggregate(rideRecord(10), badUser, rideRecord(11)),
		[]byte("not json"),
		rideRecord(2),
	)
	var out bytes.Buffer
	h := New(Config{PredictionsStream: "predictions", DeadLetterStream: "dead_letters", Attempts: 2, MaxBackoff: time.Millisecond,
		Logger: (&logLines{}).logger(), Metrics: &out, FunctionName: "ride-duration-fn"}, tiny("v"), c)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	resp, err := h.Handle(ctx, ev)
	require.NoError(t, err)
	require.Equal(t, failures(ev, 1, 2), resp.BatchItemFailures, "the records whose dead letters were not written")

	docs := emfDocs(t, &out)
	require.Len(t, docs, 2, "the cold start's document and the invocation's")
	doc := docs[1]
	assert.Equal(t, map[string]int64{
		"RecordsIn": 4, "KPLUserRecords": 3, "RidesPredicted": 4, "BadRecords": 2, "DeadLettersWritten": 0,
		"WritesFailed": 2, "BatchItemFailures": 2, "PutRecordsCalls": 3, "EntriesResent": 2,
	}, figures(t, doc), "1 call for the predictions; 2 for the dead letters, the second resending both")
	assert.Equal(t, "ride-duration-fn", doc["FunctionName"])
	assert.Equal(t, "ride_events", doc["StreamName"], "from the eventSourceARN")
	assert.Equal(t, false, doc["test_run"])
	assert.Equal(t, "req-1", doc["request_id"])
	dir := directive(t, doc)
	assert.Equal(t, DefaultNamespace, dir["Namespace"])
	assert.Equal(t, []any{[]any{"FunctionName", "StreamName"}}, dir["Dimensions"])
	var units []string
	for _, m := range dir["Metrics"].([]any) {
		units = append(units, m.(map[string]any)["Name"].(string)+" "+m.(map[string]any)["Unit"].(string))
	}
	assert.Equal(t, []string{"RecordsIn Count", "KPLUserRecords Count", "RidesPredicted Count", "BadRecords Count",
		"DeadLettersWritten Count", "WritesFailed Count", "BatchItemFailures Count", "PutRecordsCalls Count",
		"EntriesResent Count", "PredictedDuration Seconds"}, units)

	// The four rides' durations, to the second, once each.
	dist := doc["PredictedDuration"].(map[string]any)
	var want []int64
	for _, p := range resp.Predictions {
		want = append(want, int64(math.Round(p.Prediction.RideDuration*60)))
	}
	slices.Sort(want)
	assert.Equal(t, numbers(want...), dist["Values"])
	assert.Equal(t, numbers(1, 1, 1, 1), dist["Counts"])
	assert.Equal(t, json.Number("4"), dist["Count"])

	// The dead-letter stream back: the retried batch's dead letters are
	// written. No second cold start.
	p.SetDown("dead_letters", false)
	out.Reset()
	_, err = h.Handle(ctx, kinesisEvent([]byte("not json")))
	require.NoError(t, err)
	docs = emfDocs(t, &out)
	require.Len(t, docs, 1)
	assert.Equal(t, map[string]int64{
		"RecordsIn": 1, "KPLUserRecords": 0, "RidesPredicted": 0, "BadRecords": 1, "DeadLettersWritten": 1,
		"WritesFailed": 0, "BatchItemFailures": 0, "PutRecordsCalls": 1, "EntriesResent": 0,
	}, figures(t, docs[0]))
	assert.NotContains(t, docs[0], "PredictedDuration", "no ride, no distribution")
	for _, m := range directive(t, docs[0])["Metrics"].([]any) {
		assert.NotEqual(t, "PredictedDuration", m.(map[string]any)["Name"])
	}
}

func numbers(ns ...int64) []any {
	out := make([]any, len(ns))
	for i, n := range ns {
		out[i] = json.Number(strconv.FormatInt(n, 10))
	}
	return out
}

// The cold start, as Powertools writes it: once, on the first invocation,
// a document of its own with ColdStart = 1 and the dimensions
// function_name and service, in the metrics' namespace.
func TestMetricsColdStart(t *testing.T) {
	var out bytes.Buffer
	h := New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true, Logger: (&logLines{}).logger(),
		Metrics: &out, Namespace: "Rides/Test", Service: "rides", FunctionName: "fn"}, tiny("v"), nil)
	for range 3 {
		_, err := h.Handle(context.Background(), rides(2))
		require.NoError(t, err)
	}
	docs := emfDocs(t, &out)
	require.Len(t, docs, 4, "the cold start, then one document per invocation")
	cold := docs[0]
	assert.Equal(t, map[string]any{"Namespace": "Rides/Test", "Dimensions": []any{[]any{"function_name", "service"}},
		"Metrics": []any{map[string]any{"Name": "ColdStart", "Unit": "Count"}}}, directive(t, cold))
	delete(cold, "_aws")
	assert.Equal(t, map[string]any{"function_name": "fn", "service": "rides", "ColdStart": json.Number("1")}, cold)
	for _, doc := range docs[1:] {
		assert.NotContains(t, doc, "ColdStart")
		assert.Equal(t, "Rides/Test", directive(t, doc)["Namespace"])
	}

	// Without a service, the default one.
	out.Reset()
	_, err := New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true, Logger: (&logLines{}).logger(), Metrics: &out},
		tiny("v"), nil).Handle(context.Background(), rides(1))
	require.NoError(t, err)
	docs = emfDocs(t, &out)
	assert.Equal(t, DefaultService, docs[0]["service"])
	assert.Equal(t, "unknown", docs[0]["function_name"], "outside Lambda, no AWS_LAMBDA_FUNCTION_NAME")
}

// TEST_RUN writes nothing, and the metrics say so: the invocation is
// described all the same.
func TestMetricsTestRun(t *testing.T) {
	var out bytes.Buffer
	ev := rides(5)
	ev.Records[2].Kinesis.Data = []byte("Hi test 1")
	h := New(Config{PredictionsStream: DefaultPredictionsStream, DeadLetterStream: "dead", TestRun: true,
		Logger: (&logLines{}).logger(), Metrics: &out}, tiny("v"), nil)
	_, err := h.Handle(context.Background(), ev)
	require.NoError(t, err)
	doc := emfDocs(t, &out)[1]
	assert.Equal(t, map[string]int64{
		"RecordsIn": 5, "KPLUserRecords": 0, "RidesPredicted": 4, "BadRecords": 1, "DeadLettersWritten": 0,
		"WritesFailed": 0, "BatchItemFailures": 0, "PutRecordsCalls": 0, "EntriesResent": 0,
	}, figures(t, doc))
	assert.Equal(t, true, doc["test_run"])
	assert.NotContains(t, doc, "request_id", "not invoked by Lambda")
}

// OnBatch gets the figures the metrics report; without a Metrics writer,
// nothing is written.
func TestMetricsOnBatch(t *testing.T) {
	var got []Figures
	f := &flakyKinesis{fail: func(call int, data string) string {
		if call == 0 && ride(data, "1001") {
			return "ProvisionedThroughputExceededException"
		}
		return ""
	}}
	h := New(Config{PredictionsStream: "p", MaxBackoff: time.Millisecond, Logger: (&logLines{}).logger(),
		OnBatch: func(f Figures) { got = append(got, f) }}, tiny("v"), f)
	_, err := h.Handle(context.Background(), kinesisEvent(rideRecord(0), rideRecord(1), []byte("{}")))
	require.NoError(t, err)
	assert.Equal(t, []Figures{{Records: 3, Predicted: 2, Bad: 1, Calls: 2, Resent: 1}}, got)
}

// A distribution of many rides: at most MaxValues distinct values,
// multiples of the resolution, each the nearest to the rides it counts,
// every ride counted once, Max, Min and Sum exact to the millisecond. The
// resolution is 1 s up to MaxValues rides, and never more than needed: one
// second less gives more than MaxValues values.
func TestMetricsDistribution(t *testing.T) {
	for _, n := range []int{1, 100, 101, 1000, 10_000} {
		var out bytes.Buffer
		h := New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true, Logger: (&logLines{}).logger(), Metrics: &out},
			tiny("v"), nil)
		resp, err := h.Handle(context.Background(), rides(n))
		require.NoError(t, err)
		dist := emfDocs(t, &out)[1]["PredictedDuration"].(map[string]any)
		values, counts := floats(t, dist["Values"]), floats(t, dist["Counts"])
		require.LessOrEqual(t, len(values), MaxValues)
		require.True(t, slices.IsSorted(values))

		secs := make([]float64, n)
		for i, p := range resp.Predictions {
			secs[i] = p.Prediction.RideDuration * 60
		}
		slices.Sort(secs)
		res := resolution(secs)
		assert.LessOrEqual(t, distinct(secs, res), MaxValues)
		if res > 1 {
			assert.Greater(t, distinct(secs, res-1), MaxValues, "%v s is coarser than needed", res)
		}
		if n <= MaxValues {
			assert.Equal(t, 1.0, res, "a batch of up to %d rides is exact to the second", MaxValues)
		}
		next, worst := 0, 0.0
		for i, v := range values {
			assert.Zero(t, math.Mod(v, res), "%v is a multiple of %v", v, res)
			for range int(counts[i]) {
				require.Less(t, next, n)
				worst = max(worst, math.Abs(secs[next]-v))
				assert.LessOrEqual(t, math.Abs(secs[next]-v), res/2, "ride of %v s counted as %v s", secs[next], v)
				next++
			}
		}
		assert.Equal(t, n, next, "every ride counted once")
		sum := 0.0
		for _, s := range secs {
			sum += s
		}
		assert.Equal(t, strconv.FormatFloat(secs[n-1], 'f', 3, 64), string(dist["Max"].(json.Number)))
		assert.Equal(t, strconv.FormatFloat(secs[0], 'f', 3, 64), string(dist["Min"].(json.Number)))
		assert.Equal(t, strconv.FormatFloat(sum, 'f', 3, 64), string(dist["Sum"].(json.Number)))
		t.Logf("%d rides from %.0f s to %.0f s: %d values, resolution %v s, worst error %.1f s", n, secs[0], secs[n-1], len(values), res, worst)
	}
}

func floats(t *testing.T, v any) []float64 {
	var out []float64
	for _, x := range v.([]any) {
		f, err := x.(json.Number).Float64()
		require.NoError(t, err)
		out = append(out, f)
	}
	return out
}

// The stream dimension comes from the eventSourceARN: a stream's, or an
// enhanced fan-out consumer's.
func TestMetricsStreamName(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:kinesis:us-east-1:123456789012:stream/ride_events":                            "ride_events",
		"arn:aws:kinesis:us-east-1:123456789012:stream/ride_events/consumer/lambda:1681552724": "ride_events",
		"arn:aws-cn:kinesis:cn-north-1:123456789012:stream/ride.events-2":                      "ride.events-2",
		"": "unknown",
		"arn:aws:kinesis:us-east-1:123456789012:stream/": "unknown",
		"not an arn": "unknown",
		"arn:aws:kinesis:us-east-1:123456789012:stream/r\u00e9sum\u00e9 (CloudWatch wants ASCII)": "unknown",
	} {
		assert.Equal(t, want, streamName(arn), arn)
	}
}

// The metrics cost no allocation: their buffers are the batch's reused
// scratch.
func TestMetricsAllocs(t *testing.T) {
	ev := rides(100)
	allocs := func(metrics io.Writer) float64 {
		h := New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true,
			Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: metrics}, tiny("v"), nil)
		payload, err := json.Marshal(ev)
		require.NoError(t, err)
		return testing.AllocsPerRun(50, func() { _, _ = h.Invoke(context.Background(), payload) })
	}
	without, with := allocs(nil), allocs(io.Discard)
	assert.Equal(t, without, with, "allocations without metrics, with them")
	t.Logf("%v allocations for %d records, metrics or not", with, len(ev.Records))
}
