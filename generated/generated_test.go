package generated_test

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/gen"
	"github.com/rideduration/rideduration/generated"
	"github.com/rideduration/rideduration/internal/compiled"
	"github.com/rideduration/rideduration/internal/golden"
	"github.com/rideduration/rideduration/wire"
)

const exportPath = "../testdata/model.json.zst"

// The golden tests generate the package again (TestGeneratedIsCurrent):
// for a big model, in bounded memory.
func init() { gen.LimitMemory() }

// loaded is the committed export, read once: a big model's takes a second
// to decode, and every test reads it.
var loaded struct {
	once sync.Once
	e    *export.Ensemble
	err  error
}

// loadExport returns the committed export. The tests only read it.
func loadExport(t testing.TB) *export.Ensemble {
	t.Helper()
	loaded.once.Do(func() { loaded.e, loaded.err = export.Load(exportPath) })
	require.NoError(t, loaded.err)
	return loaded.e
}

func loadGolden(t testing.TB) []golden.Row {
	t.Helper()
	rows, err := golden.Load()
	require.NoError(t, err)
	require.Len(t, rows, 66097, "February validation rows")
	return rows
}

// originalModel is the content hash (export metadata version) of the
// original's forest, trained here from the committed data or fetched from
// its MLflow run (make model): the model whose figures the original states.
const originalModel = "4723ad0b98d26d3d636d19bb13604f1c"

// The original walkthrough's test ride: both backends give sklearn's
// prediction, recorded in the export; for the original's model that is the
// original's 18.321633541366506.
func TestTestRide(t *testing.T) {
	m := loadExport(t).Metadata
	ride := golden.TestRide.Features
	golden.RequireBits(t, m.TestRidePrediction, generated.Predict(ride), "Predict")
	golden.RequireBits(t, m.TestRidePrediction, generated.PredictTrees(ride), "PredictTrees")
	if m.Version != originalModel {
		t.Logf("model %s is not the original's %s: its own test ride prediction is %v", m.Version, originalModel, m.TestRidePrediction)
		return
	}
	golden.RequireBits(t, 18.321633541366506, golden.TestRide.Prediction, "golden constant")
	golden.RequireBits(t, golden.TestRide.Prediction, m.TestRidePrediction, "export metadata (sklearn)")
}

// Every February validation ride, every backend, bit-identical to the library.
func TestPredictGolden(t *testing.T) {
	for i, r := range loadGolden(t) {
		golden.RequireBits(t, r.Prediction, generated.Predict(r.Features), "Predict, row %d %+v", i, r.Features)
		golden.RequireBits(t, r.Prediction, generated.PredictTrees(r.Features), "PredictTrees, row %d %+v", i, r.Features)
		x, text := generated.PredictText(r.Features)
		golden.RequireBits(t, r.Prediction, x, "PredictText, row %d %+v", i, r.Features)
		// Predictions are minutes: no exponent. The trees keep no text: "".
		if want := strconv.FormatFloat(x, 'f', -1, 64); text != want && text != "" {
			require.Failf(t, "PredictText's text", "row %d: %q, want %q", i, text, want)
		}
	}
}

// The export package's plain reference walk agrees with the library too, so
// it can stand as the reference for rides the library did not score.
func TestReferenceGolden(t *testing.T) {
	e := loadExport(t)
	for i, r := range loadGolden(t)[:2000] {
		golden.RequireBits(t, r.Prediction, e.Predict(r.Features), "reference, row %d", i)
	}
}

// keys are rides' keys worth checking: a key of each category some column
// holds (its own id on the other side, and 1), and keys no column holds.
func keys(e *export.Ensemble) []feature.Key {
	ks := []feature.Key{{PU: 130, DO: 205}, {PU: 1, DO: 1}, {PU: 265, DO: 265}, {PU: 999, DO: 999}, {PU: 1, DO: 100000}, {PU: math.MaxInt32, DO: math.MaxInt32}}
	for _, c := range e.Columns() {
		switch {
		case !c.OneHot:
		case c.Input == feature.InputPU:
			ks = append(ks, feature.Key{PU: c.Category.PU, DO: 1}, feature.Key{PU: c.Category.PU, DO: c.Category.PU})
		case c.Input == feature.InputDO:
			ks = append(ks, feature.Key{PU: 1, DO: c.Category.DO}, feature.Key{PU: c.Category.DO, DO: c.Category.DO})
		default:
			ks = append(ks, c.Category)
		}
	}
	return ks
}

// references memoizes the reference walk, which takes a millisecond a ride
// through a big forest's chains of key splits: the tests below ask it for
// the same rides again.
var references = struct {
	sync.Mutex
	of map[feature.Features]float64
}{of: map[feature.Features]float64{}}

// reference is e.Predict(f), memoized.
func reference(e *export.Ensemble, f feature.Features) float64 {
	references.Lock()
	defer references.Unlock()
	v, ok := references.of[f]
	if !ok {
		v = e.Predict(f)
		references.of[f] = v
	}
	return v
}

// Every category's key, and keys no column holds: Predict finds the key's
// class as the trees and the reference find its columns. Predict and the
// trees agree at every distance below; the reference walk, a millisecond a
// ride through a big forest, is held to them at the test ride's distance
// (TestIDsAsStringsGolden asks it too) and at one other, in turn.
func TestKeysGolden(t *testing.T) {
	e := loadExport(t)
	distances := []float64{0, 0.5, 12, 3.66}
	for i, k := range keys(e) {
		for j, d := range distances {
			in := feature.Features{Key: k, Distance: d}
			want := generated.PredictTrees(in)
			if j == i%(len(distances)-1) || d == 3.66 {
				golden.RequireBits(t, reference(e, in), want, "trees: key %s, distance %v", k, d)
			}
			golden.RequireBits(t, want, generated.Predict(in), "key %s, distance %v", k, d)
		}
	}
}

// The backends agree where it is hardest: at every distance threshold and
// one step either side (in the type the model compares), for a few keys.
func TestBackendsAgreeAtThresholds(t *testing.T) {
	e := loadExport(t)
	var thresholds []float64
	for i := range e.Trees {
		tr := &e.Trees[i]
		for n, col := range tr.Feature {
			if !tr.IsLeaf(int32(n)) && e.Columns()[col].Input == feature.InputDistance {
				thresholds = append(thresholds, e.Threshold(tr, int32(n)))
			}
		}
	}
	slices.Sort(thresholds)
	thresholds = slices.Compact(thresholds)
	step := func(x, to float64) float64 {
		if e.Combine.Input == export.Float32 {
			return float64(math.Nextafter32(float32(x), float32(to)))
		}
		return math.Nextafter(x, to)
	}
	ks := keys(e)
	ks = ks[:min(len(ks), 8)]
	// A forest of unpruned trees has hundreds of thousands of thresholds:
	// each key takes every stride-th, from its own offset, so that the keys
	// together cover up to len(ks) × maxPerKey of them in bounded time.
	const maxPerKey = 4096
	stride := max(1, len(thresholds)/maxPerKey)
	for ki, k := range ks {
		for i := ki % stride; i < len(thresholds); i += stride {
			th := thresholds[i]
			for _, x := range []float64{step(th, math.Inf(-1)), th, step(th, math.Inf(1))} {
				in := feature.Features{Key: k, Distance: x}
				golden.RequireBits(t, generated.PredictTrees(in), generated.Predict(in), "key %s, distance %v", k, x)
			}
		}
	}
}

func TestMetadata(t *testing.T) {
	m := loadExport(t).Metadata
	assert.Equal(t, "ride_duration_prediction_model", generated.ModelName)
	assert.Equal(t, m.ID(), generated.Version, "the run id, or the content hash of a model trained here")
	assert.Equal(t, m.SklearnVersion, generated.SklearnVersion)
	assert.Equal(t, m.Estimator, generated.Estimator)
	assert.Equal(t, m.RMSE, generated.RMSE)
	assert.Equal(t, m.NEstimators, generated.NEstimators)
	if m.Version == originalModel {
		assert.Equal(t, "6.101", strconv.FormatFloat(generated.RMSE, 'f', 3, 64), "the original's RMSE")
		assert.Equal(t, 100, generated.NEstimators)
	}
}

// The package reads its numbers in its export's input type, and says so:
// a ride whose distance that type cannot hold is a bad record, as the
// library refuses it (scikit-learn: "Input X contains infinity or a value
// too large for dtype('float32')"), and one just under the bound is
// predicted as the library predicts it (the reference walk, which converts
// to float32 as it does). For a float32 model the bound is
// feature.Float32Overflow; a float64 model refuses only what JSON cannot
// carry as a finite float64.
func TestPrecisionBound(t *testing.T) {
	e := loadExport(t)
	require.Equal(t, map[string]feature.Precision{export.Float32: feature.Float32, export.Float64: feature.Float64}[e.Combine.Input], generated.Precision)
	const beyond = "ride.trip_distance: must be below 3.4028235677973366e+38 (the model reads float32), got "
	for _, c := range []struct {
		dist     string
		float32s string // the error for a float32 model, "" if it predicts the ride
	}{
		{"3.4028234663852886e+38", ""}, // math.MaxFloat32
		{"3.4028235677973362e+38", ""}, // the largest float64 under the bound: float32 MaxFloat32
		{"3.4028235677973366e+38", beyond + "3.4028235677973366e+38"},
		{"1e39", beyond + "1e+39"},
		{"1e300", beyond + "1e+300"},
		{"1e400", "ride.trip_distance: must be a finite number, got 1e400"},
		{"-1e39", "ride.trip_distance: must be ≥ 0, got -1e+39"},
	} {
		data := `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": ` + c.dist + `}, "ride_id": 1}`
		ride, err := wire.ParseRideEvent([]byte(data), generated.Precision)
		want := c.float32s
		if x, perr := strconv.ParseFloat(c.dist, 64); generated.Precision == feature.Float64 && perr == nil && x >= 0 {
			want = ""
		}
		if want != "" {
			require.EqualError(t, err, want, c.dist)
			continue
		}
		require.NoError(t, err, c.dist)
		golden.RequireBits(t, e.Predict(ride.Features), generated.Predict(ride.Features), "distance %s", c.dist)
		golden.RequireBits(t, e.Predict(ride.Features), generated.PredictTrees(ride.Features), "trees, distance %s", c.dist)
	}
}

// A ride that sends a location id as a string of its digits ("130") is
// predicted as the ride that sends the number, bit for bit, when the model
// reads that id as a key (PU_DO, '%s_%s') or a category (PULocationID=130,
// str), as the original does; a model that reads the id as a number (a
// column "PULocationID") refuses it, since the original's DictVectorizer
// would one-hot the string into a column the model does not have. Which
// ids are numbers comes from the export's columns; the model as the
// function serves it (compiled.Model) parses the rides.
func TestIDsAsStringsGolden(t *testing.T) {
	e := loadExport(t)
	number := map[string]bool{}
	for _, c := range e.Columns() {
		if !c.OneHot && c.Input != feature.InputDistance {
			number[c.Input.String()] = true
		}
	}
	m := compiled.Model()
	for _, k := range keys(e) {
		pu, do := strconv.Itoa(int(k.PU)), strconv.Itoa(int(k.DO))
		for _, c := range []struct{ pu, do string }{{`"` + pu + `"`, do}, {pu, `"` + do + `"`}, {`"` + pu + `"`, `"` + do + `"`}} {
			data := `{"ride": {"PULocationID": ` + c.pu + `, "DOLocationID": ` + c.do + `, "trip_distance": 3.66}, "ride_id": 1}`
			ride, err := wire.ParseRideEventFor([]byte(data), m.Precision, m.NumberIDs)
			var refused []string
			for key, sent := range map[string]string{feature.PULocationID: c.pu, feature.DOLocationID: c.do} {
				if number[key] && sent[0] == '"' {
					refused = append(refused, "ride."+key+": must be a JSON number: the model reads "+key+" as a number, got a string "+sent)
				}
			}
			if len(refused) > 0 {
				require.Error(t, err, data)
				assert.Contains(t, refused, err.Error(), data)
				continue
			}
			require.NoError(t, err, data)
			want := feature.Features{Key: k, Distance: 3.66}
			require.Equal(t, want, ride.Features, data)
			golden.RequireBits(t, reference(e, want), m.Predict(ride.Features), "%s", data)
		}
	}
}

func TestPredictDoesNotAllocate(t *testing.T) {
	r := golden.TestRide.Features
	assert.Zero(t, testing.AllocsPerRun(100, func() { generated.Predict(r) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { generated.PredictText(r) }))
	assert.Zero(t, testing.AllocsPerRun(10, func() { generated.PredictTrees(r) }))
}

// handWritten are the package's files the generator does not write: tests
// only, which the function's build never compiles.
var handWritten = []string{"bench_test.go", "generate_test.go", "generated_test.go"}

// notCurrent lists what makes the package in dir other than what the
// generator writes from the committed export: generated files missing,
// changed or left over, and every entry that is neither generated nor
// hand-written (a Go file, an assembly file, a directory, ...), which would
// be built into the function, or shipped beside it, unseen.
func notCurrent(t *testing.T, dir string) []string {
	t.Helper()
	files := generate(t)
	stale, err := gen.Stale(dir, files)
	require.NoError(t, err)
	foreign, err := gen.Foreign(dir, files, handWritten...)
	require.NoError(t, err)
	return slices.Compact(slices.Sorted(slices.Values(append(stale, foreign...))))
}

// generatedOnce is what the generator writes from the committed export, made
// once: a big model takes seconds to generate.
var generatedOnce struct {
	once  sync.Once
	files gen.Files
	err   error
}

// generate returns what the generator writes from the committed export.
func generate(t *testing.T) gen.Files {
	t.Helper()
	e := loadExport(t)
	generatedOnce.once.Do(func() {
		opts := gen.DefaultOptions
		opts.Source = gen.SourceName(exportPath)
		generatedOnce.files, generatedOnce.err = gen.Generate(e, opts)
	})
	require.NoError(t, generatedOnce.err)
	return generatedOnce.files
}

// The committed package is what the generator writes from the committed
// export today, byte for byte, and nothing else but the hand-written tests.
func TestGeneratedIsCurrent(t *testing.T) {
	require.Empty(t, notCurrent(t, "."), "stale generated files; run go generate ./generated")
}

// A file the generator does not write is not current, whatever it holds: an
// init function in generated/ would run inside the function.
func TestGeneratedIsCurrentRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(".")))
	require.Empty(t, notCurrent(t, dir), "the package, copied")
	hook := "package generated\n\nfunc init() { println(\"hook\") }\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "zz_hook.go"), []byte(hook), 0o644))
	require.Equal(t, []string{"zz_hook.go"}, notCurrent(t, dir))
}

// The package's columns are the export's.
func TestFeatureNames(t *testing.T) {
	require.Equal(t, loadExport(t).FeatureNames, generated.FeatureNames)
}
