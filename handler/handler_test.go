package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/model"
	"github.com/rideduration/rideduration/putrecords"
	"github.com/rideduration/rideduration/wire"
)

// The original's test event, TEST_RUN: the original's response shape, the
// model's prediction, an empty (not null) failure list. (With the compiled
// model, the tests in lambda/ hold it to sklearn's 18.321633541366506.)
func TestHandleOriginalEvent(t *testing.T) {
	ev := loadEvent(t, "kinesis-test-event.json")
	require.Len(t, ev.Records, 1)
	// aws-lambda-go has already decoded the base64: the data is the ride.
	assert.Contains(t, string(ev.Records[0].Kinesis.Data), `"PULocationID": 130`)

	var logs logLines
	h := New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true, Logger: logs.logger()}, tiny("Test123"), nil)
	resp, err := h.Handle(context.Background(), ev)
	require.NoError(t, err)

	require.Len(t, resp.Predictions, 1)
	p := resp.Predictions[0]
	assert.Equal(t, "ride_duration_prediction_model", p.Model)
	assert.Equal(t, "Test123", p.Version)
	assert.Equal(t, "123", string(p.Prediction.RideID))
	want := tinyPredict(feature.Features{Key: feature.Key{PU: 130, DO: 205}, Distance: 3.66})
	assert.Equal(t, math.Float64bits(want), math.Float64bits(p.Prediction.RideDuration))

	got, err := json.Marshal(resp)
	require.NoError(t, err)
	assert.JSONEq(t, fmt.Sprintf(`{"predictions": [{"model": "ride_duration_prediction_model", "version": "Test123",
		"prediction": {"ride_duration": %v, "ride_id": 123}}], "batchItemFailures": []}`, want), string(got))

	batch := logs.withMsg(t, "batch")
	require.Len(t, batch, 1)
	assert.Equal(t, map[string]any{"records": 1.0, "predicted": 1.0, "bad": 0.0, "test_run": true},
		pick(batch[0], "records", "predicted", "bad", "test_run"))
	assert.Len(t, logs.lines(t), 1, "no log line per healthy record")
}

// An empty event gives empty lists, not nulls.
func TestHandleEmptyEvent(t *testing.T) {
	h := New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true, Logger: (&logLines{}).logger()}, tiny("v"), nil)
	resp, err := h.Handle(context.Background(), events.KinesisEvent{})
	require.NoError(t, err)
	got, err := json.Marshal(resp)
	require.NoError(t, err)
	assert.JSONEq(t, `{"predictions": [], "batchItemFailures": []}`, string(got))
}

// Writes go to a real (local) Kinesis: moto_server.
func TestHandleWritesToKinesis(t *testing.T) {
	endpoint := testenv.Moto(t)
	c := testenv.Kinesis(t, endpoint)

	t.Run("records and partition keys", func(t *testing.T) {
		testenv.CreateStream(t, c, "predictions_a", 2)
		ev := kinesisEvent(
			rideRecord(1),
			[]byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": "ride-é/42"}`),
			rideRecord(2),
		)
		var logs logLines
		h := New(Config{PredictionsStream: "predictions_a", Logger: logs.logger()}, tiny("run-1"), c)
		resp, err := h.Handle(context.Background(), ev)
		require.NoError(t, err)
		require.Empty(t, resp.BatchItemFailures)
		require.Len(t, resp.Predictions, 3)

		want := map[string]string{} // partition key → record
		for _, p := range resp.Predictions {
			b, err := json.Marshal(p)
			require.NoError(t, err)
			var key string
			if err := json.Unmarshal(p.Prediction.RideID, &key); err != nil {
				key = string(p.Prediction.RideID)
			}
			want[key] = string(b)
		}
		got := map[string]string{}
		for _, r := range testenv.ReadStream(t, c, "predictions_a") {
			got[aws.ToString(r.PartitionKey)] = string(r.Data)
		}
		assert.Equal(t, want, got)
		assert.Contains(t, got, "ride-é/42")
		assert.Equal(t, "run-1", resp.Predictions[1].Version)

		batch := logs.withMsg(t, "batch")
		require.Len(t, batch, 1)
		assert.Equal(t, map[string]any{"written": 3.0, "failed": 0.0, "calls": 1.0, "level": "INFO"},
			pick(batch[0], "written", "failed", "calls", "level"))
	})

	t.Run("one call per 500 records", func(t *testing.T) {
		testenv.CreateStream(t, c, "predictions_b", 1)
		var logs logLines
		h := New(Config{PredictionsStream: "predictions_b", Logger: logs.logger()}, tiny("v"), c)
		resp, err := h.Handle(context.Background(), rides(1100))
		require.NoError(t, err)
		require.Empty(t, resp.BatchItemFailures)

		recs := testenv.ReadStream(t, c, "predictions_b")
		require.Len(t, recs, 1100)
		for i, r := range recs { // one shard: in order
			want := resp.Predictions[i].AppendJSON(nil)
			require.Equal(t, string(want), string(r.Data), "record %d", i)
		}
		batch := logs.withMsg(t, "batch")
		require.Len(t, batch, 1)
		assert.Equal(t, 3.0, batch[0]["calls"], "1100 records: 500 + 500 + 100")
	})

	t.Run("TEST_RUN writes nothing", func(t *testing.T) {
		testenv.CreateStream(t, c, "predictions_c", 1)
		testenv.CreateStream(t, c, "dead_c", 1)
		h := New(Config{PredictionsStream: "predictions_c", DeadLetterStream: "dead_c", TestRun: true,
			Logger: (&logLines{}).logger()}, tiny("v"), c)
		resp, err := h.Handle(context.Background(), kinesisEvent(rideRecord(1), []byte("not json")))
		require.NoError(t, err)
		assert.Len(t, resp.Predictions, 1)
		assert.Empty(t, testenv.ReadStream(t, c, "predictions_c"))
		assert.Empty(t, testenv.ReadStream(t, c, "dead_c"))
	})
}

// Bad records are logged and dead-lettered, never retried; the other
// records of the batch go through.
func TestHandleBadRecords(t *testing.T) {
	endpoint := testenv.Moto(t)
	c := testenv.Kinesis(t, endpoint)
	testenv.CreateStream(t, c, "predictions", 1)
	testenv.CreateStream(t, c, "dead_letters", 1)

	oversized := fmt.Appendf(nil, `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 1, "pad": "%s"}`,
		strings.Repeat("x", wire.MaxEventBytes))
	cases := []struct {
		name, data, field string
	}{
		{"not JSON", "Hello, this is a test.", "record"},
		{"empty", "", "record"},
		{"truncated", `{"ride": {"PULocationID": 130`, "ride"},
		{"two values", `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 1} {}`, "record"},
		{"array", `[1, 2]`, "record"},
		{"bare NaN", `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": NaN}, "ride_id": 1}`, "ride.trip_distance"},
		{"NaN as string", `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": "NaN"}, "ride_id": 1}`, "ride.trip_distance"},
		{"distance as string", `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": "3.66"}, "ride_id": 1}`, "ride.trip_distance"},
		{"distance out of range", `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 1e400}, "ride_id": 1}`, "ride.trip_distance"},
		{"negative distance", `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": -1}, "ride_id": 1}`, "ride.trip_distance"},
		{"distance beyond float32", `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 1e39}, "ride_id": 1}`, "ride.trip_distance"},
		{"negative distance beyond float32", `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": -1e39}, "ride_id": 1}`, "ride.trip_distance"},
		{"id as a string not of its digits", `{"ride": {"PULocationID": "130.0", "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 1}`, "ride.PULocationID"},
		{"fractional id", `{"ride": {"PULocationID": 130, "DOLocationID": 205.5, "trip_distance": 3.66}, "ride_id": 1}`, "ride.DOLocationID"},
		{"zero id", `{"ride": {"PULocationID": 0, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 1}`, "ride.PULocationID"},
		{"missing ride", `{"ride_id": 1}`, "ride"},
		{"null ride", `{"ride": null, "ride_id": 1}`, "ride"},
		{"missing distance", `{"ride": {"PULocationID": 130, "DOLocationID": 205}, "ride_id": 1}`, "ride.trip_distance"},
		{"missing ride_id", `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}}`, "ride_id"},
		{"ride_id object", `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": {}}`, "ride_id"},
		{"ride_id empty", `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": ""}`, "ride_id"},
		{"ride_id too long", `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": "` + strings.Repeat("r", 257) + `"}`, "ride_id"},
		{"numeric ride_id too long", `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": ` + strings.Repeat("9", 257) + `}`, "ride_id"},
		{"oversized", string(oversized), "record"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dead := testenv.ReadStream(t, c, "dead_letters")
			ev := kinesisEvent(rideRecord(1), []byte(tc.data), rideRecord(2))
			ev.Records[1].EventID = "shardId-000000000007:" + ev.Records[1].Kinesis.SequenceNumber

			var logs logLines
			h := New(Config{PredictionsStream: "predictions", DeadLetterStream: "dead_letters", Logger: logs.logger()}, tiny("v"), c)
			resp, err := h.Handle(context.Background(), ev)
			require.NoError(t, err)
			assert.Empty(t, resp.BatchItemFailures, "a bad record is never retried")
			require.Len(t, resp.Predictions, 2, "the other records go through")
			assert.Equal(t, "1001", string(resp.Predictions[0].Prediction.RideID))
			assert.Equal(t, "1002", string(resp.Predictions[1].Prediction.RideID))

			bad := logs.withMsg(t, "bad record")
			require.Len(t, bad, 1)
			assert.Equal(t, "WARN", bad[0]["level"])
			assert.Equal(t, "shardId-000000000007", bad[0]["shard"])
			assert.Equal(t, ev.Records[1].Kinesis.SequenceNumber, bad[0]["sequence_number"])
			reason, _ := bad[0]["reason"].(string)
			assert.True(t, strings.HasPrefix(reason, tc.field+": "), "reason %q, want field %s", reason, tc.field)

			batch := logs.withMsg(t, "batch")
			require.Len(t, batch, 1)
			assert.Equal(t, map[string]any{"records": 3.0, "predicted": 2.0, "bad": 1.0, "written": 2.0, "dead_lettered": 1.0},
				pick(batch[0], "records", "predicted", "bad", "written", "dead_lettered"))

			after := testenv.ReadStream(t, c, "dead_letters")
			require.Len(t, after, len(dead)+1)
			var d wire.DeadLetter
			require.NoError(t, json.Unmarshal(after[len(dead)].Data, &d))
			assert.Equal(t, reason, d.Reason)
			assert.Equal(t, ev.Records[1].Kinesis.SequenceNumber, d.SequenceNumber)
			assert.Equal(t, ev.Records[1].EventID, d.EventID)
			assert.Equal(t, ev.Records[1].EventSourceArn, d.EventSourceARN)
			assert.Equal(t, len(tc.data), d.Size)
			if len(tc.data) > wire.MaxEventBytes {
				assert.True(t, d.Truncated)
				assert.Equal(t, tc.data[:wire.MaxEventBytes], string(d.Data))
			} else {
				assert.False(t, d.Truncated)
				assert.Equal(t, tc.data, string(d.Data))
			}
		})
	}

	t.Run("no dead-letter stream: logged only", func(t *testing.T) {
		var logs logLines
		h := New(Config{PredictionsStream: "predictions", Logger: logs.logger()}, tiny("v"), c)
		resp, err := h.Handle(context.Background(), kinesisEvent([]byte("{"), rideRecord(3)))
		require.NoError(t, err)
		assert.Empty(t, resp.BatchItemFailures)
		assert.Len(t, resp.Predictions, 1)
		assert.Len(t, logs.withMsg(t, "bad record"), 1)
		assert.NotContains(t, logs.withMsg(t, "batch")[0], "dead_lettered")
	})
}

// A transport error (nothing listens on the endpoint): the handler resends
// until its deadline (which comes before putrecords.DefaultUnreachable);
// every record is a batch item failure, in order, and the handler itself
// does not fail. The client is built as in production, from the
// environment.
func TestHandleTransportError(t *testing.T) {
	for _, kv := range testenv.AWSEnv(fmt.Sprintf("http://127.0.0.1:%d", testenv.UnusedPort(t))) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	c, err := putrecords.NewClient(context.Background())
	require.NoError(t, err)
	var logs logLines
	h := New(Config{PredictionsStream: "predictions", Logger: logs.logger()}, tiny("v"), c)
	ev := rides(3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // the function's timeout
	defer cancel()
	resp, err := h.Handle(ctx, ev)
	require.NoError(t, err)
	assert.Len(t, resp.Predictions, 3)
	assert.Equal(t, failures(ev, 0, 1, 2), resp.BatchItemFailures)
	batch := logs.withMsg(t, "batch")
	require.Len(t, batch, 1)
	assert.Equal(t, "ERROR", batch[0]["level"])
	assert.Equal(t, 3.0, batch[0]["failed"])
	assert.Equal(t, true, batch[0]["out_of_time"])
	assert.Contains(t, batch[0]["error"], "connect")
}

// The original's step-4 event, "Hi test 1", is a bad record like any other:
// a clear error, and nothing else of its batch is lost.
func TestHandleHiTestEvent(t *testing.T) {
	hi := loadEvent(t, "kinesis-hi-test-event.json")
	good := loadEvent(t, "kinesis-test-event.json")
	ev := events.KinesisEvent{Records: []events.KinesisEventRecord{good.Records[0], hi.Records[0], good.Records[0]}}
	var logs logLines
	resp, err := New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true, Logger: logs.logger()}, tiny("v"), nil).Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.Len(t, resp.Predictions, 2)
	assert.Empty(t, resp.BatchItemFailures, "a bad record is not retried")
	bad := logs.withMsg(t, "bad record")
	require.Len(t, bad, 1)
	assert.Equal(t, "49639854210870046278837730611666112709822541697829044226", bad[0]["sequence_number"])
	assert.Equal(t, "record: not valid JSON: invalid character 'H' at start of value", bad[0]["reason"])
}

// A distance beyond float32 is a bad record for a model that reads float32
// (the original's forest: scikit-learn refuses it), with the reason a
// producer reads; a model that reads float64 predicts it. Just under the
// bound, the float32 model predicts.
func TestHandleDistanceBeyondModelInput(t *testing.T) {
	record := func(dist string) []byte {
		return []byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": ` + dist + `}, "ride_id": 1}`)
	}
	below32 := math.Nextafter(feature.Float32Overflow, 0) // the largest float64 whose float32 is finite
	ev := kinesisEvent(record("1e39"), record("3.4028235677973362e+38"), record("3.4028235677973366e+38"))
	f64 := tiny("v")
	f64.Precision = feature.Float64
	for _, c := range []struct {
		m       model.Model
		predict []float64
		reasons []string
	}{
		{tiny("v"), []float64{below32}, []string{
			"ride.trip_distance: must be below 3.4028235677973366e+38 (the model reads float32), got 1e+39",
			"ride.trip_distance: must be below 3.4028235677973366e+38 (the model reads float32), got 3.4028235677973366e+38",
		}},
		{f64, []float64{1e39, below32, feature.Float32Overflow}, nil},
	} {
		var logs logLines
		resp, err := New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true, Logger: logs.logger()}, c.m, nil).Handle(context.Background(), ev)
		require.NoError(t, err)
		assert.Empty(t, resp.BatchItemFailures, "a bad record is not retried")
		require.Len(t, resp.Predictions, len(c.predict), "%v", c.m.Precision)
		for i, d := range c.predict {
			want := tinyPredict(feature.Features{Key: feature.Key{PU: 130, DO: 205}, Distance: d})
			assert.Equal(t, math.Float64bits(want), math.Float64bits(resp.Predictions[i].Prediction.RideDuration), "%v, distance %v", c.m.Precision, d)
		}
		var reasons []string
		for _, b := range logs.withMsg(t, "bad record") {
			reasons = append(reasons, b["reason"].(string))
		}
		assert.Equal(t, c.reasons, reasons, "%v", c.m.Precision)
	}
}

// A location id as a string of its digits is predicted as the number, for
// a model that reads the id as a key or a category; a model that reads it
// as a number refuses it (the original's DictVectorizer would score it as
// 0), with the reason a producer reads. Other strings are refused by every
// model.
func TestHandleIDsAsStrings(t *testing.T) {
	record := func(pu, do string) []byte {
		return []byte(`{"ride": {"PULocationID": ` + pu + `, "DOLocationID": ` + do + `, "trip_distance": 3.66}, "ride_id": 1}`)
	}
	ev := kinesisEvent(record("130", "205"), record(`"130"`, "205"), record("130", `"205"`), record(`" 130"`, "205"))
	const notDigits = `ride.PULocationID: must be an integer location id, as a number (130) or a string of its digits ("130"), got a string " 130"`
	puNumber := tiny("v")
	puNumber.NumberIDs = feature.PUNumber
	for _, c := range []struct {
		m         model.Model
		predicted int
		reasons   []string
	}{
		{tiny("v"), 3, []string{notDigits}},
		{puNumber, 2, []string{`ride.PULocationID: must be a JSON number: the model reads PULocationID as a number, got a string "130"`, notDigits}},
	} {
		var logs logLines
		resp, err := New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true, Logger: logs.logger()}, c.m, nil).Handle(context.Background(), ev)
		require.NoError(t, err)
		assert.Empty(t, resp.BatchItemFailures, "a bad record is not retried")
		require.Len(t, resp.Predictions, c.predicted, "%v", c.m.NumberIDs)
		want := tinyPredict(feature.Features{Key: feature.Key{PU: 130, DO: 205}, Distance: 3.66})
		for _, p := range resp.Predictions {
			assert.Equal(t, math.Float64bits(want), math.Float64bits(p.Prediction.RideDuration))
		}
		var reasons []string
		for _, b := range logs.withMsg(t, "bad record") {
			reasons = append(reasons, b["reason"].(string))
		}
		assert.Equal(t, c.reasons, reasons, "%v", c.m.NumberIDs)
	}
}

func failures(ev events.KinesisEvent, idx ...int) []events.KinesisBatchItemFailure {
	out := []events.KinesisBatchItemFailure{}
	for _, i := range idx {
		out = append(out, events.KinesisBatchItemFailure{ItemIdentifier: ev.Records[i].Kinesis.SequenceNumber})
	}
	return out
}

// pick returns the given keys of a log line.
func pick(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// The real client is what New takes.
var _ putrecords.API = (*kinesis.Client)(nil)
