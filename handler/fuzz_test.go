package handler

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/kpl"
	"github.com/rideduration/rideduration/wire"
)

// FuzzHandle runs the handler (TEST_RUN, the tiny model) on a whole Kinesis
// event of three records, plain or KPL-aggregated, whatever their bytes:
// it never fails or panics; every user record is either predicted or
// logged as bad, exactly once; it predicts exactly the records that
// wire.ParseRideEvent accepts for the model's input type (float32: a
// distance beyond it is bad); the response and every prediction event are
// valid JSON; nothing is retried; and no log line carries more than a
// bounded prefix of a record.
func FuzzHandle(f *testing.F) {
	good := rideRecord(1)
	hi := []byte("Hi test 1")
	f.Add(good, hi, []byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": "ride-é"}`))
	f.Add(aggregate(rideRecord(2), hi, rideRecord(3)), good, []byte{})
	f.Add(aggregate(), aggregate(good), []byte{0xf3, 0x89, 0x9a, 0xc2})
	f.Add([]byte(`{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": 1, "ride": {}}`),
		[]byte(`{"RIDE": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": 1}`),
		[]byte(`{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": "`+"\xff"+`"}`))
	beyond := []byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 1e39}, "ride_id": 1}`)
	f.Add(beyond, aggregate(good, beyond), []byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.4028235677973362e+38}, "ride_id": 2}`))
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		var logs logLines
		h := New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true, Logger: logs.logger()}, tiny("v"), nil)
		ev := kinesisEvent(a, b, c)
		resp, err := h.Handle(context.Background(), ev)
		require.NoError(t, err)
		require.Empty(t, resp.BatchItemFailures, "TEST_RUN writes nothing, so nothing fails")

		users, rides := 0, 0
		ride := func(data []byte) {
			if _, err := wire.ParseRideEvent(data, h.model.Precision); err == nil {
				rides++
			}
		}
		for _, d := range [][]byte{a, b, c} {
			records, err := kpl.Deaggregate(d)
			switch {
			case !kpl.IsAggregated(d):
				users++
				ride(d)
			case err != nil:
				users++
			default:
				users += len(records)
				for _, r := range records {
					ride(r.Data)
				}
			}
		}
		bad := logs.withMsg(t, "bad record")
		require.Equal(t, users, len(resp.Predictions)+len(bad), "each user record predicted or bad, once")
		require.Equal(t, rides, len(resp.Predictions), "the records the model's rules accept are predicted")

		out, err := json.Marshal(resp)
		require.NoError(t, err)
		require.True(t, json.Valid(out))
		for _, p := range resp.Predictions {
			e := p.AppendJSON(nil)
			require.True(t, json.Valid(e) && utf8.Valid(e), "%q", e)
		}
		for _, line := range strings.Split(strings.TrimSpace(logs.buf.String()), "\n") {
			require.LessOrEqual(t, len(line), 512, line)
		}
	})
}
