package generated_test

import (
	"testing"

	"github.com/rideduration/rideduration/internal/golden"

	"github.com/rideduration/rideduration/feature"

	"github.com/rideduration/rideduration/generated"
)

// BenchmarkPredict scores the February golden rides, in file order, one per op,
// with the package's default path (the table).
func BenchmarkPredict(b *testing.B) {
	benchmarkRows(b, generated.Predict)
}

// BenchmarkPredictTrees does the same with the per-tree if/else backend.
func BenchmarkPredictTrees(b *testing.B) {
	benchmarkRows(b, generated.PredictTrees)
}

func benchmarkRows(b *testing.B, predict func(f feature.Features) float64) {
	golden.Bench(b, loadGolden(b), predict)
}
