// Package xgbcompare holds one XGBoost model three ways, for comparing the
// compiled model with github.com/dmitryikh/leaves, the pure-Go library that
// interprets XGBoost models:
//
//   - testdata/booster.model.zst: the course's XGBoost Booster (29 trees of
//     depth 12 over PULocationID and DOLocationID as categories and
//     trip_distance), as xgboost 1.7.4 saved it (model.xgb, its binary format),
//     zstd-compressed; leaves reads it;
//   - testdata/booster.json.zst: its export, from which TestCompiledBooster
//     generates the compiled package when it runs, into a temporary module,
//     with its test testdata/compiled/booster_test.go;
//   - testdata/booster.golden.csv.zst: xgboost's own predictions for the
//     66097 February validation rides (Booster.predict on the
//     DictVectorizer's sparse rows, each float32 widened to float64).
//
// The tests hold both Go implementations to xgboost's predictions bit for
// bit; the benchmarks time one prediction each, over the same rides:
//
//	go test ./internal/xgbcompare -run TestCompiledBooster -bench . -benchmem -count 5
//
// leaves is a test-only dependency: no binary links it.
package xgbcompare

import (
	"path/filepath"
	"runtime"

	"github.com/rideduration/rideduration/internal/golden"
)

// The files in testdata/.
const (
	ExportFile = "booster.json.zst"       // the export genmodel compiles
	GoldenFile = "booster.golden.csv.zst" // xgboost's predictions
	ModelFile  = "booster.model.zst"      // xgboost's model.xgb, zstd-compressed
)

// Testdata returns the path of a file in testdata/, found from this source
// file so that tests in any package can use it.
func Testdata(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", name)
}

// Golden reads xgboost's predictions for the February validation rides,
// in file order.
func Golden() ([]golden.Row, error) { return golden.LoadFile(Testdata(GoldenFile)) }
