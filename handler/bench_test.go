package handler

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// BenchmarkHandler100 is one 100-record Kinesis event through the handler:
// parse, predict and encode every record, TEST_RUN (nothing written).
// Target: ≤ 150 µs/op on the 2-core CI machine.
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
