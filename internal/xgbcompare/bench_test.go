package xgbcompare_test

import (
	"testing"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/internal/xgbcompare/booster"
)

// sink keeps the compiler from dropping the predictions.
var sink float64

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
	rows := loadRows(b)
	b.ReportAllocs()
	s := 0.0
	for i := 0; b.Loop(); i++ {
		s += predict(rows[i%len(rows)].Features)
	}
	sink = s
}
