package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/kpl"
	"github.com/rideduration/rideduration/wire"
)

// aggregate packs ride records as a KPL producer would, each under its own
// partition key.
func aggregate(records ...[]byte) []byte {
	users := make([]kpl.UserRecord, len(records))
	for i, r := range records {
		users[i] = kpl.UserRecord{PartitionKey: "user-key-" + string(rune('a'+i)), Data: r}
	}
	return kpl.Aggregate(users)
}

// KPL aggregates, on a real (local) Kinesis: every user record is a ride,
// its prediction keyed by its ride id; a bad user record is dead-lettered
// on its own, with its index in the aggregate; a damaged aggregate is one
// bad record; the other records are untouched.
func TestHandleKPLAggregates(t *testing.T) {
	badUser := []byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": "3.66"}, "ride_id": 99}`)
	damaged := aggregate(rideRecord(20), rideRecord(21))
	damaged[len(damaged)-1] ^= 0xff // the MD5
	ev := kinesisEvent(
		rideRecord(1),
		aggregate(rideRecord(10), badUser, rideRecord(11), rideRecord(12)),
		damaged,
		rideRecord(2),
	)
	run := onMoto(t)
	c, logs := run.c, &run.logs
	resp, err := run.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.Empty(t, resp.BatchItemFailures)

	var ids []string
	for _, p := range resp.Predictions {
		ids = append(ids, string(p.Prediction.RideID))
	}
	assert.Equal(t, []string{"1001", "1010", "1011", "1012", "1002"}, ids, "in order, user records in place of their aggregate")

	got := map[string]string{} // partition key → prediction event
	for _, r := range testenv.ReadStream(t, c, "predictions") {
		got[aws.ToString(r.PartitionKey)] = string(r.Data)
	}
	require.Len(t, got, 5)
	for _, p := range resp.Predictions {
		assert.Equal(t, string(p.AppendJSON(nil)), got[string(p.Prediction.RideID)], "partition key = ride id")
	}

	bad := logs.withMsg(t, "bad record")
	require.Len(t, bad, 2)
	assert.Equal(t, map[string]any{"sequence_number": ev.Records[1].Kinesis.SequenceNumber, "sub_sequence_number": 1.0,
		"reason": `ride.trip_distance: must be a JSON number, got a string "3.66"`},
		pick(bad[0], "sequence_number", "sub_sequence_number", "reason"))
	assert.Equal(t, map[string]any{"sequence_number": ev.Records[2].Kinesis.SequenceNumber,
		"reason": "record: KPL aggregated record: its MD5 does not match its content (damaged in transit or not written by a KPL)"},
		pick(bad[1], "sequence_number", "sub_sequence_number", "reason"))
	assert.Equal(t, map[string]any{"records": 4.0, "predicted": 5.0, "bad": 2.0, "written": 5.0, "dead_lettered": 2.0},
		pick(logs.withMsg(t, "batch")[0], "records", "predicted", "bad", "written", "dead_lettered"))

	dead := testenv.ReadStream(t, c, "dead_letters")
	require.Len(t, dead, 2)
	var user, whole wire.DeadLetter
	require.NoError(t, json.Unmarshal(dead[0].Data, &user))
	require.NoError(t, json.Unmarshal(dead[1].Data, &whole))
	require.NotNil(t, user.SubSequenceNumber)
	assert.Equal(t, 1, *user.SubSequenceNumber)
	assert.Equal(t, string(badUser), string(user.Data), "the user record, not the aggregate")
	assert.Equal(t, ev.Records[1].Kinesis.SequenceNumber, user.SequenceNumber)
	assert.Nil(t, whole.SubSequenceNumber)
	assert.Equal(t, damaged, whole.Data)
	assert.NotContains(t, string(dead[1].Data), "sub_sequence_number")

	// A user record's dead letter is keyed by the user record's own
	// partition key (from the aggregate's table), as its ride would have
	// been; a whole aggregate's by the aggregate's.
	assert.Equal(t, "user-key-b", user.PartitionKey)
	assert.Equal(t, "user-key-b", aws.ToString(dead[0].PartitionKey))
	assert.Equal(t, ev.Records[2].Kinesis.PartitionKey, whole.PartitionKey)
	assert.Equal(t, ev.Records[2].Kinesis.PartitionKey, aws.ToString(dead[1].PartitionKey))
}

// An aggregate larger than a KPL writes in one record (kpl.MaxAggregate),
// here 174,000 one-byte user records, is one bad record: one log line and
// one dead letter for the whole Kinesis record, its user records never
// decoded. The records around it are predicted as usual.
func TestHandleKPLAggregateTooManyRecords(t *testing.T) {
	users := make([]kpl.UserRecord, 174_000)
	for i := range users {
		users[i] = kpl.UserRecord{PartitionKey: "k", Data: []byte{'x'}}
	}
	hostile := kpl.Aggregate(users)
	ev := kinesisEvent(rideRecord(1), hostile, rideRecord(2))
	run := onMoto(t)
	resp, err := run.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.Empty(t, resp.BatchItemFailures)
	assert.Len(t, resp.Predictions, 2)

	reason := fmt.Sprintf("record: KPL aggregated record of %d bytes: more than the 1048576 a KPL writes in one record", len(hostile))
	lines := run.logs.lines(t)
	require.Len(t, lines, 2, "one bad record and the batch")
	assert.Equal(t, map[string]any{"msg": "bad record", "sequence_number": ev.Records[1].Kinesis.SequenceNumber, "reason": reason},
		pick(lines[0], "msg", "sequence_number", "sub_sequence_number", "reason"))
	assert.Equal(t, map[string]any{"bad": 1.0, "dead_lettered": 1.0}, pick(lines[1], "bad", "dead_lettered"))

	dead := testenv.ReadStream(t, run.c, "dead_letters")
	require.Len(t, dead, 1)
	var d wire.DeadLetter
	require.NoError(t, json.Unmarshal(dead[0].Data, &d))
	assert.Equal(t, reason, d.Reason)
	assert.Nil(t, d.SubSequenceNumber)
	assert.Equal(t, ev.Records[1].Kinesis.SequenceNumber, d.SequenceNumber)
	assert.Equal(t, len(hostile), d.Size)
	assert.True(t, d.Truncated)
	assert.Equal(t, hostile[:wire.MaxEventBytes], d.Data)

	assert.Equal(t, map[string]int64{
		"RecordsIn": 3, "KPLUserRecords": 0, "RidesPredicted": 2, "BadRecords": 1, "DeadLettersWritten": 1,
		"WritesFailed": 0, "BatchItemFailures": 0, "PutRecordsCalls": 2, "EntriesResent": 0,
	}, run.figures(t))
}

// If any user record of an aggregate is not written, the aggregate's
// sequence number is reported, once: Lambda re-delivers the aggregate.
// (flakyKinesis: moto never fails an entry.)
func TestHandleKPLPartialFailure(t *testing.T) {
	f := &flakyKinesis{fail: func(_ int, data string) string {
		if ride(data, "1011") || ride(data, "1012") || ride(data, "1030") {
			return "ProvisionedThroughputExceededException"
		}
		return ""
	}}
	ev := kinesisEvent(
		aggregate(rideRecord(10), rideRecord(11), rideRecord(12)),
		rideRecord(20),
		aggregate(rideRecord(30)),
		aggregate(rideRecord(40), rideRecord(41)),
	)
	var logs logLines
	h := New(Config{PredictionsStream: "p", Attempts: 2, MaxBackoff: 1, Logger: logs.logger()}, tiny("v"), f)
	resp, err := h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.Len(t, resp.Predictions, 7)
	assert.Equal(t, failures(ev, 0, 2), resp.BatchItemFailures)
	assert.Equal(t, 3.0, logs.withMsg(t, "batch")[0]["failed"], "user records not written")
}

// A log line never carries more than a bounded prefix of a bad record,
// however large the record and wherever the bad value is.
func TestBadRecordLogBounded(t *testing.T) {
	huge := strings.Repeat("7", wire.MaxEventBytes-200)
	records := [][]byte{
		[]byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": "` + huge + `"}, "ride_id": 1}`),
		[]byte(`{"ride": {"PULocationID": ` + huge + `, "DOLocationID": 205, "trip_distance": 1}, "ride_id": 1}`),
		[]byte(`{"ride": {"PULocationID": 1, "DOLocationID": 205, "trip_distance": 1}, "ride_id": "` + huge + `"}`),
		[]byte(`{"` + huge + `": 1, "` + huge + `": 2}`),
		[]byte(`{"ride": {"PULocationID": 1, "DOLocationID": 205, "trip_distance": 1}, "ride_id": 1, "x": "` + huge + "\xff" + `"}`),
		[]byte(huge + huge),
		aggregate([]byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": "` + huge + `"}, "ride_id": 1}`)),
		append(aggregate([]byte(huge)), 0),
	}
	var logs logLines
	resp, err := New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true, Logger: logs.logger()}, tiny("v"), nil).
		Handle(context.Background(), kinesisEvent(records...))
	require.NoError(t, err)
	assert.Empty(t, resp.Predictions)
	lines := strings.Split(strings.TrimSpace(logs.buf.String()), "\n")
	require.Len(t, lines, len(records)+1, "a line per bad record and the batch line")
	for _, line := range lines {
		assert.LessOrEqual(t, len(line), 512, line)
		assert.NotContains(t, line, strings.Repeat("7", 41), "quotes at most 40 bytes of the record")
	}
}

// The original's step-4 event, "Hi test 1", inside an aggregate is a bad
// user record like any other.
func TestHandleHiTestInAggregate(t *testing.T) {
	hi := loadEvent(t, "kinesis-hi-test-event.json").Records[0]
	good := loadEvent(t, "kinesis-test-event.json").Records[0]
	hi.Kinesis.Data = aggregate(good.Kinesis.Data, hi.Kinesis.Data)
	var logs logLines
	resp, err := New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true, Logger: logs.logger()}, tiny("v"), nil).
		Handle(context.Background(), events.KinesisEvent{Records: []events.KinesisEventRecord{hi}})
	require.NoError(t, err)
	require.Len(t, resp.Predictions, 1)
	assert.Equal(t, "123", string(resp.Predictions[0].Prediction.RideID))
	bad := logs.withMsg(t, "bad record")
	require.Len(t, bad, 1)
	assert.Equal(t, "record: not valid JSON: invalid character 'H' at start of value", bad[0]["reason"])
	assert.Equal(t, 1.0, bad[0]["sub_sequence_number"])
}

// A user record's dead letter is written under the user record's key when
// Kinesis takes it as a partition key (1 to 256 characters of UTF-8), and
// under its Kinesis record's otherwise: the aggregate is the producer's,
// and one key Kinesis refuses fails the whole PutRecords call.
func TestDeadLetterUserRecordKey(t *testing.T) {
	ev := kinesisEvent([]byte("aggregate"))
	for key, want := range map[string]string{
		"user-key":               "user-key",
		strings.Repeat("é", 256): strings.Repeat("é", 256),
		"":                       "0",
		strings.Repeat("k", 257): "0",
		"not UTF-8 \xff":         "0",
	} {
		out := deadLetters(ev.Records, []badRecord{{userRecord: userRecord{index: 0, sub: 3, key: key, data: []byte("x")}, reason: "r"}})
		require.Len(t, out, 1)
		assert.Equal(t, want, out[0].Key, "%.20q", key)
		var d wire.DeadLetter
		require.NoError(t, json.Unmarshal(out[0].Data, &d))
		assert.Equal(t, want, d.PartitionKey, "%.20q", key)
	}
}
