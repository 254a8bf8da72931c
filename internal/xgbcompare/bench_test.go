package xgbcompare_test

import (
	"testing"

	"github.com/rideduration/rideduration/internal/golden"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/internal/xgbcompare/booster"
)

// BenchmarkGenerated scores the February validation rides, in file order,
// one per op, with the compiled model.
func BenchmarkGenerated(b *testing.B) {
	benchmarkRows(b, booster.Predict)
}

// BenchmarkLeaves scores the same rides with leaves: per op, the ride's
// entries set in a NaN row (its categories' columns looked up in id-indexed
// slices), PredictSingle over all trees, the entries reset.
func BenchmarkLeaves(b *testing.B) {
	l := newLeavesRide(b, loadLeaves(b), booster.FeatureNames)
	benchmarkRows(b, l.predict)
}

func benchmarkRows(b *testing.B, predict func(f feature.Features) float64) {
	golden.Bench(b, loadRows(b), predict)
}
