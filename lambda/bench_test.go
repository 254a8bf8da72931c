package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rideduration/rideduration/handler"
	"github.com/rideduration/rideduration/internal/compiled"
	"github.com/rideduration/rideduration/internal/golden"
)

// February's first 100 validation rides as a Kinesis event, in the
// original's spelling, and the function as deployed: the compiled model,
// its metrics (written nowhere), TEST_RUN (nothing written). handler's benchmarks use a tiny model; these
// are the production path, the forest's table included.
func benchFunction(b *testing.B) (*handler.Handler, events.KinesisEvent) {
	rows, err := golden.Load()
	if err != nil {
		b.Fatal(err)
	}
	ev := events.KinesisEvent{Records: make([]events.KinesisEventRecord, 100)}
	for i := range ev.Records {
		r := rows[i]
		seq := fmt.Sprintf("4963008166608487929058118563032477039860870488080252%04d", i)
		ev.Records[i] = events.KinesisEventRecord{
			EventID: "shardId-000000000000:" + seq, EventName: "aws:kinesis:record", EventSource: "aws:kinesis",
			EventSourceArn: "arn:aws:kinesis:us-east-1:123456789012:stream/ride_events", EventVersion: "1.0", AwsRegion: "us-east-1",
			Kinesis: events.KinesisRecord{
				Data: fmt.Appendf(nil, `{"ride": {"PULocationID": %d, "DOLocationID": %d, "trip_distance": %v}, "ride_id": %d}`,
					r.PU, r.DO, r.Distance, 1000+i),
				PartitionKey: fmt.Sprint(1000 + i), SequenceNumber: seq, KinesisSchemaVersion: "1.0",
				ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: time.Unix(1681552724, int64(i)*1e6)},
			},
		}
	}
	h := handler.New(handler.Config{PredictionsStream: handler.DefaultPredictionsStream, TestRun: true,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: io.Discard}, compiled.Model(), nil)
	return h, ev
}

// BenchmarkHandle100 is BenchmarkHandler100 with the compiled model and
// real rides.
func BenchmarkHandle100(b *testing.B) {
	h, ev := benchFunction(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp, _ := h.Handle(ctx, ev); len(resp.Predictions) != 100 {
			b.Fatalf("%d predictions", len(resp.Predictions))
		}
	}
}

// BenchmarkInvoke100 is one invocation as the runtime makes it: the event's
// JSON in, the response's out.
func BenchmarkInvoke100(b *testing.B) {
	h, ev := benchFunction(b)
	payload, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := h.Invoke(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
}
