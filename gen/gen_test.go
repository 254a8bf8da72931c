package gen

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/link"
)

var update = flag.Bool("update", false, "rewrite the golden generated files in testdata/")

// smallForest is a hand-made forest over three keys and the distance, with
// a threshold float32 cannot hold (1.0000001 is between two float32s).
func smallForest() *export.Ensemble {
	const leaf = export.Leaf
	return &export.Ensemble{
		Format: export.Format,
		Metadata: export.Metadata{ModelName: "small", Version: "v1", SklearnVersion: "1.2.1", NEstimators: 2, RMSE: 1.5,
			Estimator: "RandomForestRegressor", Library: "scikit-learn", LibraryVersion: "1.2.1"},
		FeatureNames: []string{"PU_DO=1_2", "PU_DO=3_4", "PU_DO=5_6", "trip_distance"},
		Combine:      export.Combine{Input: export.Float32, Split: export.LE, Absent: export.Zero, Sum: export.Float64, Base: 0, Scale: 1, Divisor: 2},
		Trees: []export.Tree{
			{ // x <= 2.5 ? (key != 3_4 ? 10 : 20) : (x <= 7.25 ? 30 : 40)
				ChildrenLeft:  []int32{1, 2, leaf, leaf, 5, leaf, leaf},
				ChildrenRight: []int32{4, 3, leaf, leaf, 6, leaf, leaf},
				Feature:       []int32{3, 1, -2, -2, 3, -2, -2},
				Threshold:     []float64{2.5, 0.5, -2, -2, 7.25, -2, -2},
				Value:         []float64{0, 0, 10, 20, 0, 30, 40},
				NNodeSamples:  []int64{40, 20, 10, 10, 20, 10, 10},
			},
			{ // key != 1_2 ? (x <= 1.0000001 ? 1.5 : 2.5) : 3.25
				ChildrenLeft:  []int32{1, 2, leaf, leaf, leaf},
				ChildrenRight: []int32{4, 3, leaf, leaf, leaf},
				Feature:       []int32{0, 3, -2, -2, -2},
				Threshold:     []float64{0.5, 1.0000001, -2, -2, -2},
				Value:         []float64{0, 0, 1.5, 2.5, 3.25},
				NNodeSamples:  []int64{40, 30, 15, 15, 10},
			},
		},
	}
}

func smallOptions(maxTable int) Options {
	return Options{Package: "small", Source: "gen/testdata/small.json.zst", MaxTableBytes: maxTable, TreesPerFile: 1, MaxTreeNodes: 100}
}

// tableFlatOptions serve the table and write the trees, for the tests, as
// node arrays.
func tableFlatOptions() Options {
	o := flatOptions()
	o.MaxTableBytes = 1 << 20
	return o
}

// raggedOptions bound the table below the full table's size (its search
// buckets alone take 512 KiB) and above each class's own intervals: the
// ragged table serves.
func raggedOptions() Options { return smallOptions(1 << 18) }

// flatOptions write the small forest's trees as node arrays: no table, and
// fewer nodes allowed as code than it has.
func flatOptions() Options {
	o := smallOptions(0)
	o.MaxTreeNodes = 4
	return o
}

// Whole generated files compared with golden copies (go test -update rewrites them).
func TestGolden(t *testing.T) {
	for dir, opts := range map[string]Options{"small": smallOptions(1 << 20), "small_ragged": raggedOptions(), "small_trees": smallOptions(0), "small_flat": flatOptions(), "small_table_flat": tableFlatOptions()} {
		t.Run(dir, func(t *testing.T) {
			files, err := Generate(smallForest(), opts)
			require.NoError(t, err)
			golden := filepath.Join("testdata", dir)
			if *update {
				require.NoError(t, os.RemoveAll(golden))
				require.NoError(t, os.MkdirAll(golden, 0o755))
				for _, name := range files.Names() {
					require.NoError(t, os.WriteFile(filepath.Join(golden, name+".golden"), files[name], 0o644))
				}
			}
			entries, err := os.ReadDir(golden)
			require.NoError(t, err)
			var names []string
			for _, e := range entries {
				names = append(names, strings.TrimSuffix(e.Name(), ".golden"))
			}
			require.Equal(t, files.Names(), names)
			for _, name := range names {
				want, err := os.ReadFile(filepath.Join(golden, name+".golden"))
				require.NoError(t, err)
				require.Equal(t, string(want), string(files[name]), "%s differs from its golden copy (go test ./gen -update)", name)
			}
			_, hasTable := files[TableFile]
			require.Equal(t, opts.MaxTableBytes > 0, hasTable, "the table is generated only under the size bound")
		})
	}
}

// The table of the small forest, computed by hand: class 0 is keys other than
// 1_2 and 3_4, then one class for each.
func TestSmallTable(t *testing.T) {
	e := smallForest()
	require.NoError(t, e.Check())
	m := &model{Ensemble: e, opts: smallOptions(1 << 20), cols: e.Columns()}
	tb, why := m.table()
	require.NotNil(t, tb, why)
	require.Equal(t, []feature.Key{{}, {PU: 1, DO: 2}, {PU: 3, DO: 4}}, tb.reps, "other keys, then the keys split on")
	require.Equal(t, []float64{float64(math.Nextafter32(1.0000001, 0)), 2.5, 7.25}, tb.thresholds)
	// intervals: x<=1.0000001-, ≤2.5, ≤7.25, >7.25
	want := []float64{
		(10 + 1.5) / 2, (10 + 2.5) / 2, (30 + 2.5) / 2, (40 + 2.5) / 2, // other keys
		(10 + 3.25) / 2, (10 + 3.25) / 2, (30 + 3.25) / 2, (40 + 3.25) / 2, // 1_2
		(20 + 1.5) / 2, (20 + 2.5) / 2, (30 + 2.5) / 2, (40 + 2.5) / 2, // 3_4
	}
	full, err := tb.each.fullTable(tb.thresholds)
	require.NoError(t, err)
	got := make([]float64, len(full.Cells))
	for i, c := range full.Cells {
		got[i] = full.Values[c]
	}
	require.Equal(t, want, got)
}

// A model from an MLflow run (make model) is versioned by its run id; one
// trained here keeps its content hash.
func TestVersionIsTheRunID(t *testing.T) {
	f := smallForest()
	f.Metadata.RunID = "def558fd38f44d8e9c4fc632668d3a47"
	files, err := Generate(f, smallOptions(1<<20))
	require.NoError(t, err)
	src := string(files["model.go"])
	require.Contains(t, src, "\t// Version is the id of the MLflow run the model came from (content hash v1).\n")
	require.Contains(t, src, `Version = "def558fd38f44d8e9c4fc632668d3a47"`)

	files, err = Generate(smallForest(), smallOptions(1<<20))
	require.NoError(t, err)
	require.Contains(t, string(files["model.go"]), `Version = "v1"`)
}

// The package says what type the model reads its numbers in, so that the
// mains check rides against it (feature.Precision.Check): the export's
// ensemble input, float32 for forests and XGBoost, float64 for
// HistGradientBoosting.
func TestPrecision(t *testing.T) {
	for e, want := range map[*export.Ensemble]string{smallForest(): "Float32", boosted(): "Float32", histogram(): "Float64"} {
		files, err := Generate(e, smallOptions(1<<20))
		require.NoError(t, err)
		require.Contains(t, string(files["model.go"]), "\tPrecision = feature."+want+"\n", e.Metadata.ModelName)
	}
}

// An export that records the library's prediction for the original's ride
// gets a runnable example with that output, which go test checks; one that
// records none gets no example.
func TestExample(t *testing.T) {
	f := smallForest()
	f.Metadata.TestRidePrediction = 18.321633541366506
	files, err := Generate(f, smallOptions(1<<20))
	require.NoError(t, err)
	src := string(files["example_test.go"])
	require.Contains(t, src, "func ExamplePredict() {")
	require.Contains(t, src, "wire.ParseRideEvent([]byte(`"+TestRide+"`), Precision)")
	require.Contains(t, src, "\t// Output: 18.321633541366506\n}")

	files, err = Generate(smallForest(), smallOptions(1<<20))
	require.NoError(t, err)
	require.NotContains(t, files, "example_test.go")
}

func TestGenerateRejects(t *testing.T) {
	f := smallForest()
	f.FeatureNames[2] = "fare_amount"
	_, err := Generate(f, smallOptions(1<<20))
	require.ErrorContains(t, err, `the model's feature 2 "fare_amount": not something a ride event carries`)

	f = smallForest()
	f.Trees[1].ChildrenLeft[1] = 0 // a cycle
	_, err = Generate(f, smallOptions(1<<20))
	require.ErrorContains(t, err, "out of order")
}

// boosted is a hand-made XGBoost-like ensemble over every form of the
// ride's features: sparse rows whose cold one-hot columns are missing
// (sent by missing_left), splits x < t, a float32 sum from a base.
func boosted() *export.Ensemble {
	const leaf = export.Leaf
	return &export.Ensemble{
		Format:       export.Format,
		Metadata:     export.Metadata{ModelName: "boosted", Version: "v1", NEstimators: 3, Estimator: "Booster", Library: "xgboost", LibraryVersion: "1.7.4"},
		FeatureNames: []string{"DOLocationID", "PULocationID=3", "PU_DO=1_2", "trip_distance"},
		Sparse:       true,
		Combine:      export.Combine{Input: export.Float32, Split: export.LT, Absent: export.Missing, Sum: export.Float32, Base: 0.5, Scale: 1, Divisor: 1},
		Trees: []export.Tree{
			{ // PU=3 ? (x < 2.5 ? .1 : .2) : DO < 4.5 ? .3 : .4   (cold PU goes right: missing_left 0)
				ChildrenLeft:  []int32{1, 2, leaf, leaf, 5, leaf, leaf},
				ChildrenRight: []int32{4, 3, leaf, leaf, 6, leaf, leaf},
				Feature:       []int32{1, 3, -2, -2, 0, -2, -2},
				Threshold:     []float64{-9.5367431640625e-07, 2.5, -2, -2, 4.5, -2, -2},
				Value:         []float64{0, 0, 0.125, 0.25, 0, 0.375, 0.5},
				MissingLeft:   []uint8{0, 1, 0, 0, 1, 0, 0},
			},
			{ // PU_DO=1_2 ? 1e-8 : (x < 1.0000001 ? 3 : 4)   (cold goes left)
				ChildrenLeft:  []int32{1, leaf, 3, leaf, leaf},
				ChildrenRight: []int32{2, leaf, 4, leaf, leaf},
				Feature:       []int32{2, -2, 3, -2, -2},
				Threshold:     []float64{1, -2, float64(float32(1.0000001)), -2, -2},
				Value:         []float64{0, 1e-8, 0, 3, 4},
				MissingLeft:   []uint8{1, 0, 0, 0, 0},
			},
			{ // a single leaf
				ChildrenLeft: []int32{leaf}, ChildrenRight: []int32{leaf}, Feature: []int32{-2},
				Threshold: []float64{-2}, Value: []float64{0.1}, MissingLeft: []uint8{0},
			},
		},
	}
}

// histogram is a hand-made HistGradientBoosting-like ensemble: float64
// inputs over the ids and the distance as numbers, a threshold float32
// cannot hold, a split every ride takes one way.
func histogram() *export.Ensemble {
	const leaf = export.Leaf
	return &export.Ensemble{
		Format:       export.Format,
		Metadata:     export.Metadata{ModelName: "histogram", Version: "v1", NEstimators: 2, Estimator: "HistGradientBoostingRegressor"},
		FeatureNames: []string{"DOLocationID", "PULocationID", "trip_distance"},
		Combine:      export.Combine{Input: export.Float64, Split: export.LE, Absent: export.Zero, Sum: export.Float64, Base: 14.079986764102754, Scale: 1, Divisor: 1},
		Trees: []export.Tree{
			{ // PU <= 100.5 ? (x <= 1.0000001 ? -1.5 : 2.25) : (DO <= 1e308 ? 0.7 : 9)
				ChildrenLeft:  []int32{1, 2, leaf, leaf, 5, leaf, leaf},
				ChildrenRight: []int32{4, 3, leaf, leaf, 6, leaf, leaf},
				Feature:       []int32{1, 2, -2, -2, 0, -2, -2},
				Threshold:     []float64{100.5, 1.0000001, -2, -2, 1e308, -2, -2},
				Value:         []float64{0, 0, -1.5, 2.25, 0, 0.7, 9},
				MissingLeft:   []uint8{0, 1, 0, 0, 1, 0, 0},
			},
			{ // x <= 7.25 ? 0.001 : 0.002
				ChildrenLeft: []int32{1, leaf, leaf}, ChildrenRight: []int32{2, leaf, leaf}, Feature: []int32{2, -2, -2},
				Threshold: []float64{7.25, -2, -2}, Value: []float64{0, 0.001, 0.002}, MissingLeft: []uint8{0, 0, 0},
			},
		},
	}
}

// gradient is a hand-made GradientBoosting-like ensemble: a learning rate
// (each leaf scaled, the product rounded, then added), a base, categories of
// both ids.
func gradient() *export.Ensemble {
	const leaf = export.Leaf
	return &export.Ensemble{
		Format:       export.Format,
		Metadata:     export.Metadata{ModelName: "gradient", Version: "v1", NEstimators: 2, Estimator: "GradientBoostingRegressor"},
		FeatureNames: []string{"DOLocationID=4", "PULocationID=1", "trip_distance"},
		Sparse:       true,
		Combine:      export.Combine{Input: export.Float32, Split: export.LE, Absent: export.Zero, Sum: export.Float64, Base: 13.7, Scale: 0.1, Divisor: 1},
		Trees: []export.Tree{
			{ // DO=4 ? 0.7 : (x <= 2.5 ? 0.3 : 1.1)
				ChildrenLeft:  []int32{1, leaf, 3, leaf, leaf},
				ChildrenRight: []int32{2, leaf, 4, leaf, leaf},
				Feature:       []int32{0, -2, 2, -2, -2},
				Threshold:     []float64{0.5, -2, 2.5, -2, -2},
				Value:         []float64{0, 1.1, 0, 0.3, 0.7},
			},
			{ // PU=1 ? -0.35 : 0.45
				ChildrenLeft: []int32{1, leaf, leaf}, ChildrenRight: []int32{2, leaf, leaf}, Feature: []int32{1, -2, -2},
				Threshold: []float64{0.5, -2, -2}, Value: []float64{0, 0.45, -0.35},
			},
		},
	}
}

// logLink is a hand-made XGBoost-like ensemble of a log-link objective
// (reg:gamma): the float32 margin from a base, returned through expf. Its
// margins include 2 + 14·2⁻²² and 2 + 181·2⁻²², whose expf differs from
// math.Exp rounded to float32. Its second tree's leaves are dart's: each
// leaf already multiplied by the tree's weight, the product rounded to
// float32.
func logLink() *export.Ensemble {
	const leaf = export.Leaf
	w := float32(0.90909094)
	return &export.Ensemble{
		Format:       export.Format,
		Metadata:     export.Metadata{ModelName: "loglink", Version: "v1", NEstimators: 2, Estimator: "XGBRegressor", Library: "xgboost", LibraryVersion: "1.7.4"},
		FeatureNames: []string{"PU_DO=1_2", "trip_distance"},
		Sparse:       true,
		Combine:      export.Combine{Input: export.Float32, Split: export.LT, Absent: export.Missing, Sum: export.Float32, Base: 2, Scale: 1, Divisor: 1, Link: export.Exp},
		Trees: []export.Tree{
			{ // x < 2.5 ? 14·2⁻²² : 181·2⁻²²
				ChildrenLeft: []int32{1, leaf, leaf}, ChildrenRight: []int32{2, leaf, leaf}, Feature: []int32{1, -2, -2},
				Threshold: []float64{2.5, -2, -2}, Value: []float64{0, 14.0 / (1 << 22), 181.0 / (1 << 22)}, MissingLeft: []uint8{1, 0, 0},
			},
			{ // PU_DO=1_2 ? w·0.75 : w·0   (cold goes left)
				ChildrenLeft: []int32{1, leaf, leaf}, ChildrenRight: []int32{2, leaf, leaf}, Feature: []int32{0, -2, -2},
				Threshold: []float64{1, -2, -2}, Value: []float64{0, float64(w * 0), float64(w * 0.75)}, MissingLeft: []uint8{1, 0, 0},
			},
		},
	}
}

// TestLogLink: the reference walk returns expf of the margin, which for
// these margins is not math.Exp rounded to float32.
func TestLogLink(t *testing.T) {
	e := logLink()
	require.NoError(t, e.Check())
	for _, c := range []struct {
		d      float64
		margin float32
	}{{0, 2 + 14.0/(1<<22)}, {3, 2 + 181.0/(1<<22)}} {
		got := e.Predict(feature.Features{Key: feature.Key{PU: 9, DO: 9}, Distance: c.d})
		require.Equal(t, math.Float64bits(float64(link.Expf(c.margin))), math.Float64bits(got), "distance %v", c.d)
		require.NotEqual(t, math.Float64bits(float64(float32(math.Exp(float64(c.margin))))), math.Float64bits(got), "distance %v", c.d)
	}
}

// numpyLink is histogram with a tabled link, numpy's expm1 of the sum, as
// HistGradientBoosting's log link or a TransformedTargetRegressor applies
// it: its link table is what LinkSums asks for, each value math.Expm1 of
// the sum and one ulp up, standing in for the library's function (any
// values are data the exporter wrote; the ulp tells them from Go's).
func numpyLink() *export.Ensemble {
	e := histogram()
	e.Metadata.ModelName = "numpylink"
	e.Combine.Link = export.NumpyExpm1
	e.Combine.Base = 1.5
	sums, err := LinkSums(e, smallOptions(1<<20))
	if err != nil {
		panic(err)
	}
	e.LinkTable = &export.LinkTable{Function: export.NumpyExpm1, Numpy: "1.24.2", CPU: []string{"AVX512F", "AVX512_SKX"}, Sums: sums}
	for _, s := range sums {
		e.LinkTable.Values = append(e.LinkTable.Values, math.Nextafter(math.Expm1(s), math.Inf(1)))
	}
	if err := e.Check(); err != nil {
		panic(err)
	}
	return e
}

// A tabled link is served by the table only: the trees cannot compute it,
// and the generator says so; and the export must hold its values.
func TestTabledLink(t *testing.T) {
	sums, err := LinkSums(numpyLink(), smallOptions(1<<20))
	require.NoError(t, err)
	require.Equal(t, []float64{0.001, 2.201, 2.202, 3.751, 3.752}, sums, "1.5 + each path's leaves, ascending, each once")
	for name, opts := range map[string]Options{"trees": smallOptions(0), "flat": flatOptions()} {
		_, err := Generate(numpyLink(), opts)
		require.ErrorContains(t, err, "the model's link is numpy.expm1, whose values the exporter computes with the library's own function for each prediction of the table, and no table serves: the table (", name)
		require.ErrorContains(t, err, "It cannot be compiled bit for bit", name)
		_, err = LinkSums(numpyLink(), opts)
		require.ErrorContains(t, err, "no table serves", name)
	}
	e := numpyLink()
	e.LinkTable = nil
	_, err = Generate(e, smallOptions(1<<20))
	require.ErrorContains(t, err, "the model's link is numpy.expm1, whose values the exporter computes (make model-export), and the export has no link table")
	e = numpyLink()
	e.LinkTable.Sums, e.LinkTable.Values = e.LinkTable.Sums[1:], e.LinkTable.Values[1:]
	_, err = Generate(e, smallOptions(1<<20))
	require.ErrorContains(t, err, "the export's link table has no value for a sum of the table")
	files, err := Generate(numpyLink(), smallOptions(1<<20))
	require.NoError(t, err)
	require.Contains(t, string(files["model.go"]), "Its link, numpy.expm1, is numpy 1.24.2's, computed by the exporter for each of the table's 5 distinct sums on a CPU with AVX512F, AVX512_SKX")
	require.Contains(t, string(files["trees_test.go"]), "return linkOf(s)")
}

// End to end, as stringer does: compile the generated packages of
// hand-made ensembles of each library's arithmetic, each with the table (when
// it can serve), the trees and the flat trees serving, with the program
// testdata/e2e/main.go, which prints every package's predictions for the
// rides it reads (a grid of keys and distances), and compare them bit for
// bit with the reference walk. The program is a module of its own in a
// temporary directory, which reaches this one through a
// replace directive: nothing is written into the source tree, and it is built
// by the go command of the toolchain running the test.
func TestEndToEnd(t *testing.T) {
	ensembles := map[string]*export.Ensemble{"small": smallForest(), "boosted": boosted(), "histogram": histogram(), "gradient": gradient(), "loglink": logLink(), "numpylink": numpyLink()}
	backends := map[string]Options{"table": smallOptions(1 << 20), "ragged": raggedOptions(), "trees": smallOptions(0), "flat": flatOptions()}
	dir := tempModule(t)
	var names []string
	for name, e := range ensembles {
		for backend, opts := range backends {
			if e.Combine.Tabled() && (backend == "trees" || backend == "flat") {
				continue // TestTabledLink
			}
			opts.Package = name + backend
			files, err := Generate(e, opts)
			require.NoError(t, err, opts.Package)
			_, table := files[TableFile]
			_, flat := files[FlatFile]
			require.Equal(t, backend == "flat", flat, "%s: flat trees", opts.Package)
			require.Equal(t, backend == "table" || backend == "ragged", table, "%s: table", opts.Package)
			require.Equal(t, backend == "ragged", bytes.Contains(files["table.go"], []byte("lookup.Rank")), "%s: each class's own intervals", opts.Package)
			pkg := filepath.Join(dir, opts.Package)
			require.NoError(t, os.Mkdir(pkg, 0o755))
			require.NoError(t, Write(pkg, files))
			names = append(names, opts.Package)
		}
	}
	slices.Sort(names)

	keys := []feature.Key{{PU: 1, DO: 2}, {PU: 3, DO: 4}, {PU: 5, DO: 6}, {PU: 9, DO: 9}, {PU: 1, DO: 4}, {PU: 3, DO: 2}, {PU: 100, DO: 5}, {PU: 101, DO: 4}, {PU: 1 << 30, DO: 1 << 30}}
	var dists []float64
	for _, th := range []float64{0, 1, 1.0000001, 2.5, 7.25} {
		dists = append(dists, float64(math.Nextafter32(float32(th), -1)), th, math.Nextafter(th, -1), math.Nextafter(th, 10), float64(math.Nextafter32(float32(th), 10)))
	}
	dists = append(dists, math.Inf(1), math.MaxFloat32, 100)
	var rides strings.Builder
	for _, k := range keys {
		for _, d := range dists {
			fmt.Fprintln(&rides, k.PU, k.DO, math.Float64bits(d))
		}
	}
	prog, err := os.ReadFile(filepath.Join("testdata", "e2e", "main.go"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), prog, 0o644))
	cmd := goCmd(t, dir, "run", ".")
	cmd.Stdin = strings.NewReader(rides.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s", stderr.String())

	// A tabled link's trees, in the tests, end with linkOf: they agree with
	// the table.
	agree, err := os.ReadFile(filepath.Join("testdata", "e2e", "agree_test.go"))
	require.NoError(t, err)
	var tabled []string
	for _, n := range names {
		if ensembles[trimBackend(n)].Combine.Tabled() {
			test := bytes.Replace(agree, []byte("\npackage agree\n"), []byte("\npackage "+n+"\n"), 1)
			require.NoError(t, os.WriteFile(filepath.Join(dir, n, "agree_test.go"), test, 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, n, "rides.txt"), []byte(rides.String()), 0o644))
			tabled = append(tabled, "./"+n)
		}
	}
	b, err := goCmd(t, dir, append([]string{"test"}, tabled...)...).CombinedOutput()
	require.NoError(t, err, "%s", b)

	s := bufio.NewScanner(bytes.NewReader(out))
	for _, k := range keys {
		for _, d := range dists {
			for _, n := range names {
				require.True(t, s.Scan(), "output ends early")
				e := ensembles[trimBackend(n)]
				want := n + " " + strconv.FormatUint(math.Float64bits(e.Predict(feature.Features{Key: k, Distance: d})), 10)
				require.Equal(t, want, s.Text(), "key %s distance %v", k, d)
			}
		}
	}
	require.False(t, s.Scan(), "more output than predictions")
}

// trimBackend is the ensemble's name of a TestEndToEnd package.
func trimBackend(pkg string) string {
	for _, b := range []string{"table", "ragged", "trees", "flat"} {
		pkg = strings.TrimSuffix(pkg, b)
	}
	return pkg
}

// tempModule returns a temporary directory holding module e2e, which
// reaches this module through a replace directive.
func tempModule(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	goSum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	module := strings.TrimSuffix(featurePkg, "/feature") // what generated code imports
	goLine := regexp.MustCompile(`(?m)^go [0-9.]+$`).Find(goMod)
	require.NotNil(t, goLine, "go directive in go.mod")
	dir := t.TempDir()
	mod := fmt.Sprintf("module e2e\n\n%s\n\nrequire %s v0.0.0\n\nreplace %s => %s\n", goLine, module, module, root)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), goSum, 0o644))
	return dir
}

// goCmd is the go command of the toolchain running the test, run in a
// tempModule, its stderr kept in the error. The module imports only the
// standard library and this module (replaced by its directory): no network,
// no workspace, no toolchain switch.
func goCmd(t *testing.T, dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(testenv.GoTool(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	return cmd
}

// Code generated for a layout of lookup or flat other than the one they
// read does not compile.
func TestGuardRefusesOtherLayout(t *testing.T) {
	dir := tempModule(t)
	files, err := Generate(smallForest(), tableFlatOptions())
	require.NoError(t, err)
	pkg := filepath.Join(dir, "small")
	require.NoError(t, os.Mkdir(pkg, 0o755))
	require.NoError(t, Write(pkg, files))
	out, err := goCmd(t, dir, "vet", "./small").CombinedOutput()
	require.NoError(t, err, "as generated: %s", out)
	for file, runtime := range map[string]string{"table.go": "lookup", "flat_test.go": "flat"} {
		src := files[file]
		older := bytes.ReplaceAll(src, []byte(runtime+".EnforceLayout(1 - "), []byte(runtime+".EnforceLayout(0 - "))
		newer := bytes.ReplaceAll(src, []byte(runtime+".MaxLayout - 1)"), []byte(runtime+".MaxLayout - 2)"))
		for _, b := range [][]byte{newer, older} {
			require.NotEqual(t, src, b, "%s carries the guard", file)
			require.NoError(t, os.WriteFile(filepath.Join(pkg, file), b, 0o644))
			out, err := goCmd(t, dir, "vet", "./small").CombinedOutput()
			require.Error(t, err, "%s built against a %s of another layout", file, runtime)
			require.Contains(t, string(out), "overflows "+runtime+".EnforceLayout", "%s", out)
		}
		require.NoError(t, os.WriteFile(filepath.Join(pkg, file), src, 0o644))
	}
}

func TestSourceName(t *testing.T) {
	for in, want := range map[string]string{
		"../testdata/model.json.zst":    "testdata/model.json.zst",
		"testdata/model.json.zst":       "testdata/model.json.zst",
		"./testdata/model.json.zst":     "testdata/model.json.zst",
		"../../testdata/model.json.zst": "testdata/model.json.zst",
		".cache/m":                      ".cache/m",
		"./.cache/m":                    ".cache/m",
		"../.cache/m":                   ".cache/m",
		"..model.json.zst":              "..model.json.zst",
		"a/../b/./m":                    "b/m",
		"/abs/testdata/m":               "/abs/testdata/m",
		"..":                            ".",
	} {
		require.Equal(t, want, SourceName(filepath.FromSlash(in)), "SourceName(%q)", in)
	}
}

// Foreign names every entry of a package directory that is neither a file
// the generator writes nor a hand-written one, whatever its header or kind.
func TestForeign(t *testing.T) {
	dir := t.TempDir()
	files, err := Generate(smallForest(), smallOptions(1<<20))
	require.NoError(t, err)
	require.NoError(t, Write(dir, files))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x_test.go"), []byte("package small\n"), 0o644))
	foreign, err := Foreign(dir, files, "x_test.go")
	require.NoError(t, err)
	require.Empty(t, foreign, "generated and hand-written files only")

	header := "// Code generated by genmodel from x (model v0); DO NOT EDIT.\n\npackage small\n"
	for name, content := range map[string]string{
		"zz_hook.go":   "package small\n\nfunc init() {}\n",
		"trees_99.go":  header,
		"hook_amd64.s": "TEXT ·hook(SB),0,$0\n",
		"hook.syso":    "object",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.Rename(filepath.Join(dir, "x_test.go"), filepath.Join(dir, "y_test.go")))
	require.NoError(t, os.Symlink("y_test.go", filepath.Join(dir, "x_test.go")))
	foreign, err = Foreign(dir, files, "x_test.go")
	require.NoError(t, err)
	require.Equal(t, []string{"hook.syso", "hook_amd64.s", "sub/", "trees_99.go", "x_test.go", "y_test.go", "zz_hook.go"}, foreign,
		"a Go file, a generated-looking file the generator did not write, assembly, an object, a directory, a link, an unnamed test")
}

// Write removes what an earlier generator wrote and this one does not: tree
// files beyond the forest's, generated tests, a former table; hand-written
// files stay.
func TestWriteRemovesStale(t *testing.T) {
	dir := t.TempDir()
	header := "// Code generated by genmodel from x (model v0); DO NOT EDIT.\n\npackage small\n"
	for name, content := range map[string]string{
		"trees_07.go":   header,
		"table.bin.zst": "zstd",
		"extra.go":      "package small\n",
		"x_test.go":     header,
		"y_test.go":     "package small\n",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	files, err := Generate(smallForest(), smallOptions(1<<20))
	require.NoError(t, err)
	require.NoError(t, Write(dir, files))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.ElementsMatch(t, append(files.Names(), "extra.go", "y_test.go"), names)

	stale, err := Stale(dir, files)
	require.NoError(t, err)
	require.Empty(t, stale, "just written")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.go"), []byte(header), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "trees_09.go"), []byte(header), 0o644))
	require.NoError(t, os.Remove(filepath.Join(dir, TableFile)))
	stale, err = Stale(dir, files)
	require.NoError(t, err)
	require.Equal(t, []string{"model.go", TableFile, "trees_09.go"}, stale, "changed, missing, left over")
}

// The size the backend choice compares with the bound is what the table's
// blob stores, to the byte, laid out in full or as each class's own intervals.
func TestTableBytesCounted(t *testing.T) {
	for name, e := range map[string]*export.Ensemble{"small": smallForest(), "boosted": boosted(), "histogram": histogram(), "gradient": gradient()} {
		require.NoError(t, e.Check())
		for _, opts := range []Options{smallOptions(1 << 20), raggedOptions()} {
			m := &model{Ensemble: e, opts: opts, cols: e.Columns()}
			tb, why := m.table()
			require.NotNil(t, tb, "%s: %s", name, why)
			l, err := tb.layout()
			require.NoError(t, err)
			counted := tb.denseBytes()
			if tb.rag != nil {
				counted = tb.raggedBytes(tb.rag)
			}
			require.Equal(t, counted, len(l.blob), "%s, bound %d", name, opts.MaxTableBytes)
		}
	}
}

// Where both tables fit the bound, the full one serves unless it takes more
// than RaggedFactor times the ragged one's bytes and more than RaggedFloor:
// the small forest's full table, 524,573 bytes (its buckets' 512 KiB), is
// 1,754 times its ragged one's 299.
func TestRaggedPreferred(t *testing.T) {
	e := smallForest()
	require.NoError(t, e.Check())
	for _, c := range []struct {
		factor float64
		floor  int
		ragged bool
		why    string
	}{
		{1.5, 0, true, "524573 bytes, 1754.42 times as much: the faster full table serves only up to 1.5 times and 0 bytes"},
		{1.5, 1 << 20, false, "(524573 bytes; each class's own intervals would take 299: the faster full table serves up to 1.5 times that or 1048576 bytes)"},
		{2000, 0, false, "(524573 bytes; each class's own intervals would take 299: the faster full table serves up to 2000 times that or 0 bytes)"},
		{0, 0, false, "Predict reads a precomputed table: 3 key classes × 4 distance intervals.\n"},
	} {
		opts := smallOptions(1 << 20)
		opts.RaggedFactor, opts.RaggedFloor = c.factor, c.floor
		files, err := Generate(e, opts)
		require.NoError(t, err)
		require.Equal(t, c.ragged, bytes.Contains(files["table.go"], []byte("lookup.Rank")), "factor %g, floor %d: each class's own intervals", c.factor, c.floor)
		require.Contains(t, string(files["model.go"]), c.why, "factor %g, floor %d", c.factor, c.floor)
	}
}
