package generated_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/gen"
	"github.com/rideduration/rideduration/generated"
	"github.com/rideduration/rideduration/internal/golden"
)

const exportPath = "../testdata/model.json.zst"

func loadExport(t testing.TB) *export.Forest {
	t.Helper()
	f, err := export.Load(exportPath)
	require.NoError(t, err)
	return f
}

func loadGolden(t testing.TB) []golden.Row {
	t.Helper()
	rows, err := golden.Load()
	require.NoError(t, err)
	require.Len(t, rows, 66097, "February validation rows")
	return rows
}

// requireBits fails unless got and want are the same float64, bit for bit.
func requireBits(t *testing.T, want, got float64, msg string, args ...any) {
	t.Helper()
	if math.Float64bits(want) != math.Float64bits(got) {
		require.Failf(t, "prediction differs from sklearn's", "got %v (%#x), want %v (%#x): "+msg,
			append([]any{got, math.Float64bits(got), want, math.Float64bits(want)}, args...)...)
	}
}

// originalModel is the content hash (export metadata version) of the
// original's forest, trained here from the committed data or fetched from
// its MLflow run (make model): the model whose figures the original states.
const originalModel = "a994c01e34f10df5d7958989a533fd5b"

// The original walkthrough's test ride: both backends give sklearn's
// prediction, recorded in the export; for the original's model that is the
// original's 18.321633541366506.
func TestTestRide(t *testing.T) {
	m := loadExport(t).Metadata
	ride := golden.TestRide.Features
	requireBits(t, m.TestRidePrediction, generated.Predict(ride), "Predict")
	requireBits(t, m.TestRidePrediction, generated.PredictTrees(ride), "PredictTrees")
	if m.Version != originalModel {
		t.Logf("model %s is not the original's %s: its own test ride prediction is %v", m.Version, originalModel, m.TestRidePrediction)
		return
	}
	requireBits(t, 18.321633541366506, golden.TestRide.Prediction, "golden constant")
	requireBits(t, golden.TestRide.Prediction, m.TestRidePrediction, "export metadata (sklearn)")
}

// Every February validation ride, both backends, bit-identical to sklearn.
func TestPredictGolden(t *testing.T) {
	for i, r := range loadGolden(t) {
		requireBits(t, r.Prediction, generated.Predict(r.Features), "Predict, row %d %+v", i, r.Features)
		requireBits(t, r.Prediction, generated.PredictTrees(r.Features), "PredictTrees, row %d %+v", i, r.Features)
		x, text := generated.PredictText(r.Features)
		requireBits(t, r.Prediction, x, "PredictText, row %d %+v", i, r.Features)
		if want := strconv.FormatFloat(x, 'f', -1, 64); text != want { // predictions are minutes: no exponent
			require.Failf(t, "PredictText's text", "row %d: %q, want %q", i, text, want)
		}
	}
}

// The export package's plain reference walk agrees with sklearn too, so it can
// stand as the reference for forests sklearn did not score.
func TestReferenceGolden(t *testing.T) {
	f := loadExport(t)
	v := generated.Vocabulary
	x := make([]float32, v.Len())
	for i, r := range loadGolden(t)[:2000] {
		clear(x)
		if col := v.Index(r.Key); col != feature.Unseen {
			x[col] = 1
		}
		x[v.DistanceIndex()] = float32(r.Distance)
		requireBits(t, r.Prediction, f.Predict(x), "reference, row %d", i)
	}
}

// The table and the trees agree where it is hardest: at every distance
// threshold and one float32 step either side, for the "other keys" class and
// for keys the trees split on.
func TestTableMatchesTreesAtThresholds(t *testing.T) {
	f := loadExport(t)
	var thresholds []float32
	for _, tr := range f.Trees {
		for n, col := range tr.Feature {
			if !tr.IsLeaf(int32(n)) && int(col) == generated.Vocabulary.DistanceIndex() {
				thresholds = append(thresholds, export.Threshold32(tr.Threshold[n]))
			}
		}
	}
	keys := []feature.Key{{PU: 999, DO: 999}, {PU: 130, DO: 205}, {PU: 74, DO: 75}, {PU: 193, DO: 193}, {PU: 145, DO: 145}}
	for _, k := range keys {
		for _, th := range thresholds {
			for _, x := range []float32{math.Nextafter32(th, -1), th, math.Nextafter32(th, math.MaxFloat32)} {
				in := feature.Features{Key: k, Distance: float64(x)}
				requireBits(t, generated.PredictTrees(in), generated.Predict(in), "key %s, distance %v", k, x)
			}
		}
	}
}

// Feature hashing golden: every key of the vocabulary maps to its column;
// keys outside it, of any id, are Unseen and scored as the class of all
// unsplit keys.
func TestVocabularyGolden(t *testing.T) {
	f := loadExport(t)
	v := generated.Vocabulary
	require.Equal(t, f.FeatureNames, v.Names())
	require.Equal(t, "trip_distance", f.FeatureNames[v.DistanceIndex()])
	for i, name := range f.FeatureNames {
		s, ok := strings.CutPrefix(name, feature.KeyPrefix)
		if !ok {
			continue
		}
		k, err := feature.ParseKey(s)
		require.NoError(t, err)
		require.Equal(t, s, k.String(), "key renders as Python's '%%s_%%s'")
		require.Equal(t, i, v.Index(k), name)
		for _, d := range []float64{0.5, 3.66, 12} { // Predict finds the key's class as the trees find its column
			in := feature.Features{Key: k, Distance: d}
			requireBits(t, generated.PredictTrees(in), generated.Predict(in), "key %s, distance %v", k, d)
		}
	}
	for _, k := range []feature.Key{{PU: 1, DO: 2}, {PU: 266, DO: 1}, {PU: 1, DO: 100000}, {PU: 0, DO: 0}, {PU: -1, DO: 5}, {PU: math.MaxInt32, DO: math.MaxInt32}} {
		assert.Equal(t, feature.Unseen, v.Index(k), k.String())
		in := feature.Features{Key: k, Distance: 3.66}
		requireBits(t, generated.PredictTrees(in), generated.Predict(in), "unseen key %s", k)
	}
	unseen := feature.Features{Key: feature.Key{PU: 1, DO: 2}, Distance: 3.66}
	other := unseen
	other.Key = feature.Key{PU: 264, DO: 264}
	requireBits(t, generated.PredictTrees(unseen), generated.Predict(unseen), "unseen key")
	requireBits(t, generated.Predict(other), generated.Predict(unseen), "unseen and unsplit keys score alike")
}

func TestMetadata(t *testing.T) {
	m := loadExport(t).Metadata
	assert.Equal(t, "ride_duration_prediction_model", generated.ModelName)
	assert.Equal(t, m.ID(), generated.Version, "the run id, or the content hash of a model trained here")
	assert.Equal(t, m.SklearnVersion, generated.SklearnVersion)
	assert.Equal(t, m.RMSE, generated.RMSE)
	assert.Equal(t, m.NEstimators, generated.NEstimators)
	if m.Version == originalModel {
		assert.Equal(t, "6.101", strconv.FormatFloat(generated.RMSE, 'f', 3, 64), "the original's RMSE")
		assert.Equal(t, 100, generated.NEstimators)
	}
}

func TestPredictDoesNotAllocate(t *testing.T) {
	r := golden.TestRide.Features
	assert.Zero(t, testing.AllocsPerRun(100, func() { generated.Predict(r) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { generated.PredictText(r) }))
	assert.Zero(t, testing.AllocsPerRun(10, func() { generated.PredictTrees(r) }))
}

// The committed package is what the generator writes from the committed
// export today: regenerate into a temporary directory and compare every
// generated file, byte for byte, and the file lists.
func TestGeneratedIsCurrent(t *testing.T) {
	opts := gen.DefaultOptions
	opts.Source = gen.SourceName(exportPath)
	files, err := gen.Generate(loadExport(t), opts)
	require.NoError(t, err)
	tmp := t.TempDir()
	require.NoError(t, gen.Write(tmp, files))
	fresh, err := gen.Generated(tmp)
	require.NoError(t, err)
	committed, err := gen.Generated(".")
	require.NoError(t, err)
	require.Equal(t, fresh, committed, "generated files; run go generate ./generated")
	for _, name := range fresh {
		want, err := os.ReadFile(filepath.Join(tmp, name))
		require.NoError(t, err)
		got, err := os.ReadFile(name)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got), "%s is stale; run go generate ./generated", name)
	}
}

// The vocabulary embedded by the generator is the one NewVocabulary builds
// from the columns.
func TestEmbeddedVocabulary(t *testing.T) {
	built, err := feature.NewVocabulary(loadExport(t).FeatureNames)
	require.NoError(t, err)
	require.Equal(t, built, generated.Vocabulary)
}
