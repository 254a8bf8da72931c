package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/wire"
)

// More bad records than MaxBadRecordLines, plain and in an aggregate, on a
// real (local) Kinesis: the first MaxBadRecordLines are logged one a line,
// then one line counts them all by reason; the metrics and the dead
// letters, one per bad record, are exact.
func TestBadRecordLogSummary(t *testing.T) {
	const (
		notJSON   = "record: not valid JSON: invalid character 'H' at start of value"
		noRide    = "ride: missing"
		badRideID = "ride_id: must be a JSON number or string, got true"
	)
	var data [][]byte
	data = append(data, rideRecord(1))
	for range 60 {
		data = append(data, []byte("Hi test 1"))
	}
	var users [][]byte
	for i := range 50 {
		if i%10 == 0 {
			users = append(users, rideRecord(100+i))
			continue
		}
		users = append(users, []byte(`{"ride_id": 1}`))
	}
	data = append(data, aggregate(users...))
	for range 20 {
		data = append(data, []byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 1}, "ride_id": true}`))
	}
	data = append(data, rideRecord(2))
	ev := kinesisEvent(data...)

	run := onMoto(t)
	resp, err := run.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.Empty(t, resp.BatchItemFailures)
	assert.Len(t, resp.Predictions, 7)

	lines := run.logs.lines(t)
	require.Len(t, lines, MaxBadRecordLines+2, "the first bad records, the summary, the batch")
	for i, l := range lines[:MaxBadRecordLines] {
		want := notJSON
		if i >= 60 {
			want = noRide
		}
		require.Equal(t, "bad record", l["msg"], "line %d", i)
		require.Equal(t, want, l["reason"], "line %d", i)
	}
	assert.Equal(t, map[string]any{
		"msg": "bad records", "level": "WARN", "bad": 125.0, "logged": float64(MaxBadRecordLines),
		"by_reason": map[string]any{notJSON: 60.0, noRide: 45.0, badRideID: 20.0},
	}, pick(lines[MaxBadRecordLines], "msg", "level", "bad", "logged", "by_reason", "other_reasons"))
	assert.Equal(t, map[string]any{"msg": "batch", "bad": 125.0, "dead_lettered": 125.0},
		pick(lines[MaxBadRecordLines+1], "msg", "bad", "dead_lettered"))

	assert.Equal(t, map[string]int64{
		"RecordsIn": 83, "KPLUserRecords": 50, "RidesPredicted": 7, "BadRecords": 125, "DeadLettersWritten": 125,
		"WritesFailed": 0, "BatchItemFailures": 0, "PutRecordsCalls": 2, "EntriesResent": 0,
	}, run.figures(t))

	reasons := map[string]int{}
	for _, r := range testenv.ReadStream(t, run.c, "dead_letters") {
		var d wire.DeadLetter
		require.NoError(t, json.Unmarshal(r.Data, &d))
		reasons[d.Reason]++
	}
	assert.Equal(t, map[string]int{notJSON: 60, noRide: 45, badRideID: 20}, reasons, "a dead letter per bad record")
}

// The "bad records" line names the most frequent reasons only, and counts
// the others together: 12 reasons, 9 to 20 records each.
func TestBadRecordLogSummaryOtherReasons(t *testing.T) {
	var data [][]byte
	for n := 9; n <= 20; n++ {
		for range n {
			data = append(data, fmt.Appendf(nil, `{"ride": %d, "ride_id": 1}`, n))
		}
	}
	var logs logLines
	_, err := New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true, Logger: logs.logger()}, tiny("v"), nil).
		Handle(context.Background(), kinesisEvent(data...))
	require.NoError(t, err)
	summary := logs.withMsg(t, "bad records")
	require.Len(t, summary, 1)
	want := map[string]any{}
	for n := 11; n <= 20; n++ {
		want[fmt.Sprintf("ride: must be a JSON object, got %d", n)] = float64(n)
	}
	assert.Equal(t, map[string]any{"bad": 174.0, "logged": float64(MaxBadRecordLines), "by_reason": want, "other_reasons": 19.0},
		pick(summary[0], "bad", "logged", "by_reason", "other_reasons"))
	assert.Len(t, logs.withMsg(t, "bad record"), MaxBadRecordLines)
}
