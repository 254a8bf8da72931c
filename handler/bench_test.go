package handler

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// BenchmarkHandler100 is one 100-record Kinesis event through the handler:
// parse, predict and encode every record, TEST_RUN (nothing written).
// Target: ≤ 30 µs/op on the 2-core CI machine, idle.
func BenchmarkHandler100(b *testing.B) {
	ev := rides(100)
	h := New(Config{PredictionsStream: DefaultPredictionsStream, TestRun: true,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}, tiny("bench"), nil)
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
