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
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/feature"
)

var update = flag.Bool("update", false, "rewrite the golden generated files in testdata/")

// smallForest is a hand-made forest over three keys and the distance, with
// a threshold float32 cannot hold (1.0000001 is between two float32s).
func smallForest() *export.Forest {
	const leaf = export.Leaf
	return &export.Forest{
		Format:       export.Format,
		Metadata:     export.Metadata{ModelName: "small", Version: "v1", SklearnVersion: "1.2.1", NEstimators: 2, RMSE: 1.5},
		FeatureNames: []string{"PU_DO=1_2", "PU_DO=3_4", "PU_DO=5_6", "trip_distance"},
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
	return Options{Package: "small", Source: "gen/testdata/small.json.zst", MaxTableBytes: maxTable, TreesPerFile: 1}
}

// Whole generated files compared with golden copies (go test -update rewrites them).
func TestGolden(t *testing.T) {
	for dir, maxTable := range map[string]int{"small": 1 << 20, "small_trees": 0} {
		t.Run(dir, func(t *testing.T) {
			files, err := Generate(smallForest(), smallOptions(maxTable))
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
			require.Equal(t, maxTable > 0, hasTable, "the table is generated only under the size bound")
		})
	}
}

// The table of the small forest, computed by hand: class 0 is keys other than
// 3_4 and 1_2 ... in column order: splitCols = [0 (1_2), 1 (3_4)].
func TestSmallTable(t *testing.T) {
	m := &model{Forest: smallForest(), opts: smallOptions(1 << 20), distance: 3}
	tb, err := m.table()
	require.NoError(t, err)
	require.Equal(t, []int32{0, 1}, tb.splitCols)
	require.Equal(t, []float32{math.Nextafter32(1.0000001, 0), 2.5, 7.25}, tb.thresholds)
	// intervals: x<=1.0000001-, ≤2.5, ≤7.25, >7.25
	want := []float64{
		(10 + 1.5) / 2, (10 + 2.5) / 2, (30 + 2.5) / 2, (40 + 2.5) / 2, // other keys
		(10 + 3.25) / 2, (10 + 3.25) / 2, (30 + 3.25) / 2, (40 + 3.25) / 2, // 1_2
		(20 + 1.5) / 2, (20 + 2.5) / 2, (30 + 2.5) / 2, (40 + 2.5) / 2, // 3_4
	}
	require.Equal(t, want, tb.values)
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
	require.Contains(t, src, `Version        = "def558fd38f44d8e9c4fc632668d3a47"`)

	files, err = Generate(smallForest(), smallOptions(1<<20))
	require.NoError(t, err)
	require.Contains(t, string(files["model.go"]), `Version        = "v1"`)
}

func TestGenerateRejects(t *testing.T) {
	f := smallForest()
	f.Trees[0].Threshold[1] = 1.5 // a one-hot split that is always left
	_, err := Generate(f, smallOptions(1<<20))
	require.ErrorContains(t, err, "one-hot column PU_DO=3_4 split at 1.5")

	f = smallForest()
	f.Trees[1].ChildrenLeft[1] = 0 // a cycle
	_, err = Generate(f, smallOptions(1<<20))
	require.ErrorContains(t, err, "out of order")
}

// End to end, as stringer does: compile the generated package of the small
// forest with a program that prints both backends' predictions over a grid
// of keys and distances, and compare them bit for bit with the reference walk.
// The program is a module of its own in a temporary directory, which reaches
// this one through a replace directive: nothing is written into the source
// tree, and it is built by the go command of the toolchain running the test.
func TestEndToEnd(t *testing.T) {
	forest := smallForest()
	files, err := Generate(forest, smallOptions(1<<20))
	require.NoError(t, err)
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
	pkg := filepath.Join(dir, "small")
	require.NoError(t, os.Mkdir(pkg, 0o755))
	require.NoError(t, Write(pkg, files))
	mod := fmt.Sprintf("module e2e\n\n%s\n\nrequire %s v0.0.0\n\nreplace %s => %s\n", goLine, module, module, root)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), goSum, 0o644))

	keys := []feature.Key{{PU: 1, DO: 2}, {PU: 3, DO: 4}, {PU: 5, DO: 6}, {PU: 9, DO: 9}}
	var dists []float32
	for _, th := range []float32{0, 1, 1.0000001, 2.5, 7.25} {
		dists = append(dists, math.Nextafter32(th, -1), th, math.Nextafter32(th, 10))
	}
	dists = append(dists, float32(math.Inf(1)), math.MaxFloat32, 100)
	bits := make([]uint32, len(dists))
	for i, d := range dists {
		bits[i] = math.Float32bits(d)
	}
	main := `package main

import (
	"fmt"
	"math"

	"e2e/small"
	"` + module + `/feature"
)

func main() {
	for _, k := range []feature.Key{` + fmt.Sprintf("%#v", keys)[len("[]feature.Key{"):] + ` {
		for _, d := range ` + fmt.Sprintf("%#v", bits) + ` {
			f := feature.Features{Key: k, Distance: float64(math.Float32frombits(d))}
			fmt.Println(math.Float64bits(small.Predict(f)), math.Float64bits(small.PredictTrees(f)))
		}
	}
}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o644))
	cmd := exec.Command(goTool(t), "run", ".")
	cmd.Dir = dir
	// It imports only the standard library and this module (replaced by its
	// directory): no network, no workspace, no toolchain switch.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s", stderr.String())

	v, err := feature.NewVocabulary(forest.FeatureNames)
	require.NoError(t, err)
	s := bufio.NewScanner(bytes.NewReader(out))
	for _, k := range keys {
		for _, d := range dists {
			require.True(t, s.Scan(), "output ends early")
			x := make([]float32, 4)
			if col := v.Index(k); col != feature.Unseen {
				x[col] = 1
			}
			x[3] = d
			want := strconv.FormatUint(math.Float64bits(forest.Predict(x)), 10)
			require.Equal(t, want+" "+want, s.Text(), "key %s distance %v: Predict, PredictTrees", k, d)
		}
	}
}

// goTool is the go command of the toolchain running the tests (GOROOT, else
// the root this test binary was built with), never whichever go is on PATH.
func goTool(t *testing.T) string {
	t.Helper()
	for _, root := range []string{os.Getenv("GOROOT"), runtime.GOROOT()} {
		if root == "" {
			continue
		}
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("no go command: set GOROOT to the toolchain's root")
	return ""
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

// The vocabulary is built once, by the export's check, and the generator
// uses that one; a forest nobody checked is checked by Generate.
func TestVocabularyBuiltOnce(t *testing.T) {
	f := smallForest()
	require.Nil(t, f.Vocabulary())
	require.NoError(t, f.Check())
	v := f.Vocabulary()
	m, err := newModel(f, smallOptions(1<<20))
	require.NoError(t, err)
	require.Same(t, v, m.vocab)
	require.Same(t, v, f.Vocabulary(), "not rebuilt")

	f = smallForest()
	m, err = newModel(f, smallOptions(1<<20))
	require.NoError(t, err)
	require.NotNil(t, m.vocab)
	require.Same(t, f.Vocabulary(), m.vocab)
}

// Write removes what an earlier generator wrote and this one does not: tree
// files beyond the forest's, a former table; hand-written files stay.
func TestWriteRemovesStale(t *testing.T) {
	dir := t.TempDir()
	header := "// Code generated by genmodel from x (model v0); DO NOT EDIT.\n\npackage small\n"
	for name, content := range map[string]string{
		"trees_07.go":   header,
		"table.bin.zst": "zstd",
		"extra.go":      "package small\n",
		"x_test.go":     header,
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
	require.ElementsMatch(t, append(files.Names(), "extra.go", "x_test.go"), names)
}
