package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/kpl"
	"github.com/rideduration/rideduration/wire"
)

// lambdaResponseLimit is Lambda's limit on a synchronous response (and on
// the event an event-source mapping sends): 6 MB.
const lambdaResponseLimit = 6 << 20

// runID is a version as the deployed function labels its events: an MLflow
// run id, 32 characters.
const runID = "0e4f1d1c5a3b4d8f9e2a7b6c5d4e3f21"

// denseKPLEvent is a Kinesis event packed with rides: 4 KPL aggregates,
// each within Kinesis's 1 MiB limit on a record's data, of 11,600 compact
// ride events under one partition key. Ride i has ride id i+1.
func denseKPLEvent(t *testing.T) (ev events.KinesisEvent, rides int) {
	const aggregates, perAggregate = 4, 11_600
	data := make([][]byte, aggregates)
	for a := range data {
		users := make([]kpl.UserRecord, perAggregate)
		for j := range users {
			i := a*perAggregate + j
			users[j] = kpl.UserRecord{PartitionKey: fmt.Sprint("producer-", a), Data: compactRide(i)}
		}
		data[a] = kpl.Aggregate(users)
		require.LessOrEqual(t, len(data[a]), 1<<20, "an aggregate Kinesis takes")
	}
	return kinesisEvent(data...), aggregates * perAggregate
}

// compactRide is ride event i of denseKPLEvent: rideRecord's ride, without
// spaces, ride id i+1.
func compactRide(i int) []byte {
	return fmt.Appendf(nil, `{"ride":{"PULocationID":%d,"DOLocationID":%d,"trip_distance":%g},"ride_id":%d}`,
		1+i*37%265, 1+i*91%265, float64(i%300)/10, i+1)
}

// The predictions of a batch can take more than Lambda's 6 MB response
// limit, which it enforces after the writes: the response keeps as many
// predictions as fit, in order, and every batch item failure, and says how
// many it left out; Invoke's JSON is Handle's, byte for byte. (flakyKinesis:
// moto never fails an entry.)
func TestResponseWithinLambdaLimit(t *testing.T) {
	require.LessOrEqual(t, MaxResponseBytes, lambdaResponseLimit)
	ev, rides := denseKPLEvent(t)
	payload, err := json.Marshal(ev)
	require.NoError(t, err)
	require.LessOrEqual(t, len(payload), lambdaResponseLimit, "an event Lambda sends")
	t.Logf("%d rides, an event of %d bytes", rides, len(payload))

	// Rides 1,000 and 30,000, in the first and third aggregates, are not
	// written.
	failing := &flakyKinesis{fail: func(_ int, data string) string {
		if ride(data, "1000") || ride(data, "30000") {
			return "ProvisionedThroughputExceededException"
		}
		return ""
	}}
	for name, cfg := range map[string]Config{
		"TEST_RUN":         {PredictionsStream: DefaultPredictionsStream, TestRun: true},
		"some not written": {PredictionsStream: "p", Attempts: 1, MaxBackoff: time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			var logs logLines
			cfg.Logger = logs.logger()
			h := New(cfg, tiny(runID), failing)
			resp, err := h.Handle(context.Background(), ev)
			require.NoError(t, err)
			want := []events.KinesisBatchItemFailure{}
			if !cfg.TestRun {
				want = failures(ev, 0, 2)
			}
			assert.Equal(t, want, resp.BatchItemFailures)

			out, err := json.Marshal(resp)
			require.NoError(t, err)
			require.LessOrEqual(t, len(out), MaxResponseBytes)
			kept := len(resp.Predictions)
			require.Less(t, kept, rides)
			for i, p := range resp.Predictions {
				require.Equal(t, strconv.Itoa(i+1), string(p.Prediction.RideID), "the first rides, in order")
			}
			// As many as fit: one more would not.
			r, err := wire.ParseRideEvent(compactRide(kept), h.model.Precision)
			require.NoError(t, err)
			next := r.PredictionEvent(h.model.Name, h.model.Version, h.model.Predict(r.Features))
			assert.Greater(t, len(out)+len(",")+len(next.AppendJSON(nil)), MaxResponseBytes)

			cut := logs.withMsg(t, "predictions left out of the response")
			require.Len(t, cut, 1)
			assert.Equal(t, map[string]any{"level": "WARN", "left_out": float64(rides - kept), "in_response": float64(kept),
				"response_bytes": float64(len(out)), "max_response_bytes": float64(MaxResponseBytes)},
				pick(cut[0], "level", "left_out", "in_response", "response_bytes", "max_response_bytes"))
			assert.Contains(t, cut[0]["note"], "6 MB")
			assert.Equal(t, float64(rides), logs.withMsg(t, "batch")[0]["predicted"])

			if !cfg.TestRun {
				sent := 0
				for _, call := range failing.calls {
					sent += len(call)
				}
				assert.Equal(t, rides, sent, "every prediction written, those left out of the response too")
			}

			got, err := h.Invoke(context.Background(), payload)
			require.NoError(t, err)
			assert.True(t, json.Valid(got))
			assert.Equal(t, string(out), string(got))
		})
	}
}
