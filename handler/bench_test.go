package handler

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

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

// benchHandler is the benchmarks' handler: TEST_RUN, logging and writing
// its metrics nowhere.
func benchHandler() *Handler {
	return New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: io.Discard}, tiny("bench"), nil)
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

// BenchmarkMetrics100 is the metrics' share of BenchmarkInvoke100: an
// invocation document for the 100 rides, their durations sorted and
// bucketed, written nowhere.
func BenchmarkMetrics100(b *testing.B) {
	h := benchHandler()
	resp, _ := h.Handle(context.Background(), rides(100))
	// The rides' durations in no order, as a batch's are (rides(100)'s
	// grow with their index).
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(resp.Predictions), func(i, j int) {
		resp.Predictions[i], resp.Predictions[j] = resp.Predictions[j], resp.Predictions[i]
	})
	secs := make([]float64, 0, len(resp.Predictions))
	f := Figures{Records: 100, Predicted: len(resp.Predictions)}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		secs = secs[:0]
		for _, p := range resp.Predictions {
			secs = append(secs, p.Prediction.RideDuration*60)
		}
		slices.Sort(secs)
		buf = h.emf.appendInvocation(buf[:0], time.Now(), streamName("arn:aws:kinesis:us-east-1:123456789012:stream/ride_events"), &f, secs, true, "")
	}
}
