package xgbcompare_test

import (
	"testing"

	"github.com/rideduration/rideduration/internal/golden"

	"github.com/rideduration/rideduration/feature"
)

// BenchmarkLeaves scores the same rides with leaves: per op, the ride's
// entries set in a NaN row (its categories' columns looked up in id-indexed
// slices), PredictSingle over all trees, the entries reset.
func BenchmarkLeaves(b *testing.B) {
	l := newLeavesRide(b, loadLeaves(b), loadExport(b).FeatureNames)
	benchmarkRows(b, l.predict)
}

func benchmarkRows(b *testing.B, predict func(f feature.Features) float64) {
	golden.Bench(b, loadRows(b), predict)
}
