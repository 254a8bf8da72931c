package export

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// For every float32 x, x <= t (compared in float64, as sklearn does) exactly
// when x <= Threshold32(t).
func TestThreshold32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		th := r.NormFloat64() * 10
		th32 := Threshold32(th)
		require.LessOrEqual(t, float64(th32), th)
		next := math.Nextafter32(th32, float32(math.Inf(1)))
		require.Greater(t, float64(next), th, "Threshold32(%v) is not the largest float32 ≤ it", th)
	}
	assert.Equal(t, float32(2.5), Threshold32(2.5))
	assert.Equal(t, float32(math.MaxFloat32), Threshold32(math.MaxFloat64))
}

func TestLoadCommittedExport(t *testing.T) {
	f, err := Load("../testdata/model.json.zst")
	require.NoError(t, err)
	assert.Equal(t, Format, f.Format)
	require.NoError(t, err)
	assert.Equal(t, 100, len(f.Trees))
	assert.Equal(t, "1.2.1", f.Metadata.SklearnVersion)
	nodes := 0
	for _, tr := range f.Trees {
		nodes += len(tr.Feature)
	}
	assert.Equal(t, 177238, nodes)
	assert.Equal(t, 6683, len(f.FeatureNames))
	require.NotNil(t, f.Columns(), "Load checks, and keeps the columns")
	assert.Equal(t, f.FeatureNames, f.Columns().Names())
	assert.Equal(t, Combine{Input: Float32, Split: LE, Absent: Zero, Sum: Float64, Base: 0, Scale: 1, Divisor: 100}, f.Combine, "a forest: the mean of its trees")
	assert.Equal(t, "RandomForestRegressor", f.Metadata.Estimator)
	assert.Equal(t, "1cc25c4db1ff0961ec7bbf03e06f6eb0397d5d71463863070dd37905168ca994", f.Metadata.TrainTableSHA256)
	assert.Equal(t, "378a2419f226432dd531baa84fc6402542c0f6d1600bbe56cca050af729936d8", f.Metadata.ValidTableSHA256)
}

// Metadata has a field for every metadata key of the committed export (and
// doc.go documents them): none is dropped on the way to the generator.
func TestMetadataKeepsEveryKey(t *testing.T) {
	file, err := os.Open("../testdata/model.json.zst")
	require.NoError(t, err)
	defer file.Close()
	zr, err := zstd.NewReader(file)
	require.NoError(t, err)
	defer zr.Close()
	var raw struct {
		Metadata map[string]json.RawMessage `json:"metadata"`
	}
	require.NoError(t, json.NewDecoder(zr).Decode(&raw))
	var exported, fields []string
	for k := range raw.Metadata {
		exported = append(exported, k)
	}
	mt := reflect.TypeFor[Metadata]()
	var optional []string // omitempty: an export may lack them (run_id, from make model)
	for i := range mt.NumField() {
		name, opts, _ := strings.Cut(mt.Field(i).Tag.Get("json"), ",")
		fields = append(fields, name)
		if opts == "omitempty" && !slices.Contains(exported, name) {
			optional = append(optional, name)
		}
	}
	slices.Sort(exported)
	slices.Sort(fields)
	assert.Equal(t, fields, slices.Sorted(slices.Values(append(slices.Clone(exported), optional...))))
	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	for _, k := range fields {
		assert.Contains(t, string(doc), k, "doc.go documents %s", k)
	}
}

func TestMetadataID(t *testing.T) {
	m := Metadata{Version: "4723ad0b98d26d3d636d19bb13604f1c"}
	assert.Equal(t, "4723ad0b98d26d3d636d19bb13604f1c", m.ID(), "trained here: the content hash")
	m.RunID = "def558fd38f44d8e9c4fc632668d3a47"
	assert.Equal(t, "def558fd38f44d8e9c4fc632668d3a47", m.ID(), "from an MLflow run: the run id")
}

func TestCheckRejects(t *testing.T) {
	good := func() *Ensemble {
		return &Ensemble{
			Format:       Format,
			Metadata:     Metadata{NEstimators: 1},
			FeatureNames: []string{"PU_DO=1_2", "trip_distance"},
			Combine:      forest(1),
			Trees: []Tree{{
				ChildrenLeft: []int32{1, Leaf, Leaf}, ChildrenRight: []int32{2, Leaf, Leaf},
				Feature: []int32{1, -2, -2}, Threshold: []float64{1.5, -2, -2},
				Value: []float64{0, 1, 2}, NNodeSamples: []int64{2, 1, 1},
			}},
		}
	}
	f := good()
	require.NoError(t, f.Check())
	require.NotNil(t, f.Columns())
	for name, breakIt := range map[string]func(f *Ensemble){
		"format":          func(f *Ensemble) { f.Format = "other/v9" },
		"n_estimators":    func(f *Ensemble) { f.Metadata.NEstimators = 2 },
		"columns":         func(f *Ensemble) { f.FeatureNames = []string{"PU_DO=1_2", "fare_amount"} },
		"input":           func(f *Ensemble) { f.Combine.Input = "float16" },
		"split":           func(f *Ensemble) { f.Combine.Split = ">" },
		"absent":          func(f *Ensemble) { f.Combine.Absent = "" },
		"sum":             func(f *Ensemble) { f.Combine.Sum = "int" },
		"divisor":         func(f *Ensemble) { f.Combine.Divisor = 0 },
		"NaN base":        func(f *Ensemble) { f.Combine.Base = math.NaN() },
		"float32 base":    func(f *Ensemble) { f.Combine.Sum = Float32; f.Combine.Base = 0.1 },
		"no missing_left": func(f *Ensemble) { f.Sparse = true; f.Combine.Absent = Missing },
		"missing lengths": func(f *Ensemble) { f.Trees[0].MissingLeft = []uint8{1} },
		"lengths":         func(f *Ensemble) { f.Trees[0].Value = f.Trees[0].Value[:2] },
		"one child":       func(f *Ensemble) { f.Trees[0].ChildrenRight[0] = Leaf },
		"child before":    func(f *Ensemble) { f.Trees[0].ChildrenLeft[0] = 0 },
		"shared child":    func(f *Ensemble) { f.Trees[0].ChildrenRight[0] = 1 },
		"column range":    func(f *Ensemble) { f.Trees[0].Feature[0] = 7 },
		"NaN threshold":   func(f *Ensemble) { f.Trees[0].Threshold[0] = math.NaN() },
		"infinite leaf":   func(f *Ensemble) { f.Trees[0].Value[1] = math.Inf(1) },
		"child past end":  func(f *Ensemble) { f.Trees[0].ChildrenLeft[0] = 3 },
		"no trees at all": func(f *Ensemble) { f.Trees = nil; f.Metadata.NEstimators = 0 },
		"link":            func(f *Ensemble) { f.Combine.Link = "numpy.log" },
		"untabled link's table": func(f *Ensemble) {
			f.Combine.Link = Exp
			f.Combine.Sum = Float32
			f.LinkTable = linkTable(NumpyExp, 1, 2)
		},
		"link table's function": func(f *Ensemble) { f.Combine.Link = NumpyExp; f.LinkTable = linkTable(NumpyExpm1, 1) },
		"link table's lengths": func(f *Ensemble) {
			f.Combine.Link = NumpyExp
			f.LinkTable = linkTable(NumpyExp, 1, 2)
			f.LinkTable.Values = f.LinkTable.Values[:1]
		},
		"link table's order":    func(f *Ensemble) { f.Combine.Link = NumpyExp; f.LinkTable = linkTable(NumpyExp, 2, 1) },
		"link table's repeat":   func(f *Ensemble) { f.Combine.Link = NumpyExp; f.LinkTable = linkTable(NumpyExp, 1, 1) },
		"link table's infinity": func(f *Ensemble) { f.Combine.Link = NumpyExp; f.LinkTable = linkTable(NumpyExp, 1000) },
		"empty link table":      func(f *Ensemble) { f.Combine.Link = NumpyExp; f.LinkTable = linkTable(NumpyExp) },
	} {
		f := good()
		require.NoError(t, f.Check())
		breakIt(f)
		assert.Error(t, f.Check(), name)
		assert.Nil(t, f.Columns(), "%s: a failed check keeps no columns", name)
	}
}

// linkTable is a link table of sums, each value math.Exp of its sum.
func linkTable(function string, sums ...float64) *LinkTable {
	l := &LinkTable{Function: function, Numpy: "1.24.2", CPU: []string{"AVX512F"}, Sums: sums}
	for _, s := range sums {
		l.Values = append(l.Values, math.Exp(s))
	}
	return l
}

// A tabled link's value is its link table's, looked up by the sum's bits
// (-0 and +0 apart: expm1 keeps the sign); a sum the table lacks ends as
// NaN, and a tabled link without a table (the exporter's first pass) checks.
func TestTabledLinkEnd(t *testing.T) {
	c := Combine{Input: Float64, Split: LE, Absent: Zero, Sum: Float64, Scale: 1, Divisor: 2, Link: NumpyExpm1}
	e := &Ensemble{Format: Format, Metadata: Metadata{NEstimators: 1}, FeatureNames: []string{"trip_distance"}, Combine: c,
		Trees: []Tree{{ChildrenLeft: []int32{Leaf}, ChildrenRight: []int32{Leaf}, Feature: []int32{-2}, Threshold: []float64{-2}, Value: []float64{3}}}}
	require.NoError(t, e.Check(), "no link table yet")
	assert.True(t, math.IsNaN(e.Combine.End(3)))
	e.LinkTable = &LinkTable{Function: NumpyExpm1, Sums: []float64{math.Copysign(0, -1), 0, 1.5}, Values: []float64{-7, 7, 2.5}}
	require.NoError(t, e.Check())
	assert.Equal(t, 2.5, e.Combine.End(3), "3 / 2, looked up")
	assert.Equal(t, -7.0, e.Combine.End(math.Copysign(0, -1)))
	assert.Equal(t, 7.0, e.Combine.End(0))
	assert.True(t, math.IsNaN(e.Combine.End(4)), "a sum the table lacks")
	assert.Equal(t, 1.5, e.Combine.Divide(3))
}
