package handler

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/model"
)

// Invoke answers what aws-lambda-go answered, byte for byte: the event read
// by encoding/json, handed to Handle, the response written by json.Marshal.
// Good rides, bad records, KPL aggregates, write failures.
func TestInvoke(t *testing.T) {
	ctx := context.Background()
	mixed := rides(20)
	mixed.Records[3].Kinesis.Data = []byte("Hi test 1")
	mixed.Records[7].Kinesis.Data = aggregate(rideRecord(70), []byte(`{"ride": {}}`), rideRecord(71))
	cases := map[string]events.KinesisEvent{
		"the original's":    loadEvent(t, "kinesis-test-event.json"),
		"Hi test":           loadEvent(t, "kinesis-hi-test-event.json"),
		"100 rides":         rides(100),
		"mixed":             mixed,
		"no records":        {Records: []events.KinesisEventRecord{}},
		"HTML in a ride":    kinesisEvent([]byte(`{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": "<a&b>"}`)),
		"escapes in a ride": kinesisEvent([]byte(`{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": "a\u00e9\"b"}`)),
	}
	// Writes that fail, so that there are batch item failures.
	failing := &flakyKinesis{fail: func(_ int, data string) string {
		if ride(data, "1004") || ride(data, "1011") {
			return "InternalFailure"
		}
		return ""
	}}
	for name, ev := range cases {
		for _, h := range []*Handler{
			New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true, Logger: (&logLines{}).logger()}, tiny("v"), nil),
			New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true, Logger: (&logLines{}).logger()}, tinyText("v"), nil),
			New(Config{PredictionsStream: "p", Attempts: 2, MaxBackoff: time.Millisecond, Logger: (&logLines{}).logger()}, tiny("v"), failing),
		} {
			payload, err := json.Marshal(ev)
			require.NoError(t, err)
			var decoded events.KinesisEvent
			require.NoError(t, json.Unmarshal(payload, &decoded))
			resp, err := h.Handle(ctx, decoded)
			require.NoError(t, err)
			want, err := json.Marshal(resp)
			require.NoError(t, err)

			got, err := h.Invoke(ctx, payload)
			require.NoError(t, err, name)
			assert.Equal(t, string(want), string(got), name)
		}
	}
	// The failures did show up in some response.
	resp, err := New(Config{PredictionsStream: "p", Attempts: 1, Logger: (&logLines{}).logger()}, tiny("v"), failing).Handle(ctx, mixed)
	require.NoError(t, err)
	assert.NotEmpty(t, resp.BatchItemFailures)
}

// tinyText is tiny with its predictions' text, as a compiled model keeps it.
func tinyText(version string) model.Model {
	m := tiny(version)
	m.PredictText = func(f feature.Features) (float64, string) {
		x := tinyPredict(f)
		return x, strconv.FormatFloat(x, 'f', -1, 64)
	}
	return m
}

// An invocation whose payload is no Kinesis event fails, with
// encoding/json's error, as in aws-lambda-go.
func TestInvokeNotAnEvent(t *testing.T) {
	h := New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true, Logger: (&logLines{}).logger()}, tiny("v"), nil)
	for _, payload := range []string{`{"Records": "x"}`, `not json`, ``} {
		var ev events.KinesisEvent
		want := json.Unmarshal([]byte(payload), &ev)
		_, err := h.Invoke(context.Background(), []byte(payload))
		require.Error(t, err, payload)
		assert.EqualError(t, err, want.Error(), payload)
	}
}
