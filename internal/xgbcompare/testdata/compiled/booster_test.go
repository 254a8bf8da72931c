package booster_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/golden"
	"github.com/rideduration/rideduration/internal/xgbcompare"

	"github.com/rideduration/rideduration/internal/xgbcompare/compiled/booster"
)

// This file is the compiled booster's test: TestCompiledBooster copies it
// next to the package it generates from the export, in a module of its own.

func loadRows(t testing.TB) []golden.Row {
	t.Helper()
	rows, err := xgbcompare.Golden()
	require.NoError(t, err)
	require.Len(t, rows, 66097, "February validation rides")
	return rows
}

// The compiled model is bit-identical to xgboost on every validation ride.
func TestBoosterAgainstXGBoost(t *testing.T) {
	for i, r := range loadRows(t) {
		golden.RequireBits(t, r.Prediction, booster.Predict(r.Features), "row %d %+v", i, r.Features)
	}
}

// BenchmarkGenerated scores the February validation rides, in file order,
// one per op, with the compiled model.
func BenchmarkGenerated(b *testing.B) {
	golden.Bench(b, loadRows(b), booster.Predict)
}
