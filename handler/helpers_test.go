package handler

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/model"
	"github.com/rideduration/rideduration/putrecords"
)

// tiny is the hand-made model of the handler's tests: any ride's duration
// is a plain function of its features, so a test can tell the rides apart
// and compute what each must get. It reads float32, as the original's
// forest does. (The compiled forest is wired into the handler by lambda,
// and tested there.)
func tiny(version string) model.Model {
	return model.Model{Name: "ride_duration_prediction_model", Version: version, Precision: feature.Float32, Predict: tinyPredict}
}

func tinyPredict(f feature.Features) float64 {
	return 2 + 4*f.Distance + float64(f.PU)/1000 + float64(f.DO)/1e6
}

// loadEvent reads a Kinesis event fixture from testdata/.
func loadEvent(t testing.TB, name string) events.KinesisEvent {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	var ev events.KinesisEvent
	require.NoError(t, json.Unmarshal(b, &ev))
	return ev
}

// rideRecord returns the JSON of ride event i of a made-up batch: varied
// zones and distances, numeric ride ids.
func rideRecord(i int) []byte {
	return fmt.Appendf(nil, `{"ride": {"PULocationID": %d, "DOLocationID": %d, "trip_distance": %g}, "ride_id": %d}`,
		1+i*37%265, 1+i*91%265, float64(i%300)/10, 1000+i)
}

// kinesisEvent wraps record data as one shard's Kinesis event, with
// increasing sequence numbers as Kinesis would give them.
func kinesisEvent(data ...[]byte) events.KinesisEvent {
	ev := events.KinesisEvent{Records: make([]events.KinesisEventRecord, len(data))}
	for i, d := range data {
		seq := fmt.Sprintf("4963008166608487929058118563032477039860870488080252%04d", i)
		ev.Records[i] = events.KinesisEventRecord{
			EventID:        "shardId-000000000000:" + seq,
			EventName:      "aws:kinesis:record",
			EventSource:    "aws:kinesis",
			EventSourceArn: "arn:aws:kinesis:us-east-1:123456789012:stream/ride_events",
			Kinesis: events.KinesisRecord{
				Data:           d,
				PartitionKey:   fmt.Sprint(i),
				SequenceNumber: seq,
			},
		}
	}
	return ev
}

// rides returns an event of n good ride records.
func rides(n int) events.KinesisEvent {
	data := make([][]byte, n)
	for i := range data {
		data[i] = rideRecord(i)
	}
	return kinesisEvent(data...)
}

// logLines captures a handler's JSON log lines.
type logLines struct{ buf bytes.Buffer }

func (l *logLines) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(&l.buf, nil)) }

// lines decodes every line logged so far.
func (l *logLines) lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "log line %s", sc.Text())
		out = append(out, m)
	}
	return out
}

// withMsg returns the lines whose msg is msg.
func (l *logLines) withMsg(t testing.TB, msg string) []map[string]any {
	var out []map[string]any
	for _, m := range l.lines(t) {
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// serial makes a client's PutRecords calls one at a time. The handler
// writes predictions and dead letters at once, and moto gives calls made
// at the same time the same sequence numbers: a test that counts the
// records it reads back has them written one call after the other.
type serial struct {
	mu sync.Mutex
	c  putrecords.API
}

func (s *serial) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.PutRecords(ctx, in, optFns...)
}

// motoRun is a handler on a fresh moto: it writes to the streams
// "predictions" and "dead_letters" (serially, so that every record can be
// read back), its log and metrics captured.
type motoRun struct {
	h       *Handler
	c       *kinesis.Client
	logs    logLines
	metrics bytes.Buffer
}

func onMoto(t *testing.T) *motoRun {
	t.Helper()
	r := &motoRun{c: testenv.Kinesis(t, testenv.Moto(t))}
	testenv.CreateStream(t, r.c, "predictions", 1)
	testenv.CreateStream(t, r.c, "dead_letters", 1)
	r.h = New(Config{PredictionsStream: "predictions", DeadLetterStream: "dead_letters", Logger: r.logs.logger(), Metrics: &r.metrics},
		tiny("v"), &serial{c: r.c})
	return r
}

// figures returns the count metrics of the run's one invocation.
func (r *motoRun) figures(t *testing.T) map[string]int64 {
	t.Helper()
	docs := emfDocs(t, &r.metrics)
	require.Len(t, docs, 2, "the cold start's document and the invocation's")
	return figures(t, docs[1])
}
