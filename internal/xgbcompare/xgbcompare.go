// Package xgbcompare holds one XGBoost model three ways, for comparing the
// compiled model with github.com/dmitryikh/leaves, the pure-Go library that
// interprets XGBoost models:
//
//   - testdata/booster.model.zst: the course's XGBoost Booster (29 trees of
//     depth 12 over PULocationID and DOLocationID as categories and
//     trip_distance), as xgboost 1.7.4 saved it (model.xgb, its binary format),
//     zstd-compressed; leaves reads it;
//   - testdata/booster.json.zst: its export, and booster/, the package
//     genmodel compiles from it (go generate ./internal/xgbcompare/booster);
//   - testdata/booster.golden.csv.zst: xgboost's own predictions for the
//     66097 February validation rides (Booster.predict on the
//     DictVectorizer's sparse rows, each float32 widened to float64).
//
// The tests hold both Go implementations to xgboost's predictions bit for
// bit; the benchmarks time one prediction each, over the same rides:
//
//	go test ./internal/xgbcompare/... -run '^$' -bench . -benchmem -count 5
//
// leaves is a test-only dependency: no binary links it.
package xgbcompare

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/rideduration/rideduration/feature"
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

// Row is one validation ride and xgboost's prediction for it.
type Row struct {
	feature.Features
	Prediction float64
}

const header = "PULocationID,DOLocationID,trip_distance,prediction"

// Golden reads xgboost's predictions for the February validation rides,
// in file order.
func Golden() ([]Row, error) {
	path := Testdata(GoldenFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	s := bufio.NewScanner(zr)
	if !s.Scan() || s.Text() != header {
		return nil, fmt.Errorf("%s: want header %q", path, header)
	}
	var rows []Row
	for line := 2; s.Scan(); line++ {
		r, err := parse(s.Text())
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		rows = append(rows, r)
	}
	return rows, s.Err()
}

func parse(line string) (Row, error) {
	f := strings.Split(line, ",")
	if len(f) != 4 {
		return Row{}, fmt.Errorf("want 4 fields, got %d", len(f))
	}
	pu, err1 := strconv.ParseInt(f[0], 10, 64)
	do, err2 := strconv.ParseInt(f[1], 10, 64)
	dist, err3 := strconv.ParseFloat(f[2], 64)
	pred, err4 := strconv.ParseFloat(f[3], 64)
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			return Row{}, err
		}
	}
	x, err := feature.New(pu, do, dist)
	return Row{Features: x, Prediction: pred}, err
}
