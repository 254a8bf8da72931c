package generated_test

import (
	"testing"

	"github.com/rideduration/rideduration/feature"

	"github.com/rideduration/rideduration/generated"
)

// sink keeps the compiler from dropping the predictions.
var sink float64

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
	rows := loadGolden(b)
	b.ReportAllocs()
	b.ResetTimer()
	s := 0.0
	for i := 0; b.Loop(); i++ {
		s += predict(rows[i%len(rows)].Features)
	}
	sink = s
}
