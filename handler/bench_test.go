package handler

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
)

// BenchmarkHandler100 is one 100-record Kinesis event through the handler:
// parse, predict and encode every record, TEST_RUN (nothing written).
// Target: ≤ 30 µs/op on the 2-core CI machine, idle.
func BenchmarkHandler100(b *testing.B) {
	ev := rides(100)
	h := benchHandler()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, _ := h.Handle(ctx, ev)
		if len(resp.Predictions) != 100 {
			b.Fatalf("%d predictions", len(resp.Predictions))
		}
	}
}

// At most one allocation per record (there are 3 per batch): a count, not a
// time, so a test can hold it.
func TestHandlerAllocs(t *testing.T) {
	ev := rides(100)
	h := New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}, tiny("v"), nil)
	allocs := testing.AllocsPerRun(50, func() { _, _ = h.Handle(context.Background(), ev) })
	if allocs > float64(len(ev.Records)) {
		t.Errorf("%v allocations for %d records", allocs, len(ev.Records))
	}
	t.Logf("%v allocations for %d records", allocs, len(ev.Records))
}

// BenchmarkInvoke100 is the same event as the Lambda runtime hands it over:
// its JSON (60 KB) read, handled, and the response written. It is the
// function's CPU time per batch (the capacity model's CPUPerRide × 100),
// all but the runtime's own HTTP exchange with Lambda.
func BenchmarkInvoke100(b *testing.B) {
	benchmarkInvoke(b, benchHandler())
}

// BenchmarkInvoke100ReflectJSON is the path Invoke avoids, Invoke's
// reference: aws-lambda-go calling Handle, reading the event and writing
// the response by reflection (encoding/json).
func BenchmarkInvoke100ReflectJSON(b *testing.B) {
	benchmarkInvoke(b, lambda.NewHandler(benchHandler().Handle))
}

// benchHandler is the benchmarks' handler: TEST_RUN, logging nowhere.
func benchHandler() *Handler {
	return New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}, tiny("bench"), nil)
}

// benchmarkInvoke invokes h with the 100-ride event's JSON.
func benchmarkInvoke(b *testing.B, h lambda.Handler) {
	payload, err := json.Marshal(rides(100))
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
