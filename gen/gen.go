// Package gen turns a forest export into plain Go source that predicts
// exactly what scikit-learn predicts.
//
// It writes two backends into one package:
//
//   - trees: one if/else function per tree, readable, for any forest over
//     the one-hot PU_DO columns and trip_distance;
//   - table: the forest evaluated in advance. Over one one-hot key and one
//     numeric feature, the forest is a step function of the distance for each
//     key class (each key some tree splits on, plus "every other key"), with
//     steps only at the trees' distance thresholds. The generator evaluates
//     every (key class, threshold interval) and stores the table as its
//     distinct values plus an index per cell (lookup.Table), in a blob the
//     package embeds and reads in place (lookup.View): nothing is decoded at
//     start-up. Prediction is a key lookup, a branch-free search for the
//     distance's interval (a bucket, then a few integer steps) and two loads.
//     Used by Predict when the table fits Options.MaxTableBytes, else Predict
//     uses the trees.
//
// Exactness follows sklearn: the distance is cast to float32 and compared
// with float64 thresholds (here: the largest float32 ≤ each threshold, which
// decides every float32 the same way), tree outputs are summed in estimator
// order from 0 and divided by the number of trees.
package gen

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/lookup"
)

// Options steer the generator.
type Options struct {
	Package string // package name of the output
	// Source names the export in the generated files' headers, e.g.
	// "testdata/model.json.zst" (a path relative to the module, not the machine).
	Source string
	// MaxTableBytes bounds the table, counted as one float64 per cell (what
	// it would take without its encoding, which is smaller); a larger table
	// is not generated and Predict uses the trees.
	MaxTableBytes int
	// TreesPerFile splits the tree functions over files, to keep each file
	// small enough to read and the build within a few seconds.
	TreesPerFile int
}

// DefaultOptions are what go generate uses.
var DefaultOptions = Options{Package: "generated", MaxTableBytes: 64 << 20, TreesPerFile: 10}

const (
	featurePkg = "github.com/rideduration/rideduration/feature"
	generator  = "github.com/rideduration/rideduration/cmd/genmodel"
)

// Files is generated output: file name → content.
type Files map[string][]byte

// Names returns the file names in order.
func (fs Files) Names() []string {
	names := make([]string, 0, len(fs))
	for n := range fs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// model is the checked export with what both backends need.
type model struct {
	*export.Forest
	opts     Options
	vocab    *feature.Vocabulary
	distance int32 // trip_distance's column
}

// Generate writes the Go package for forest f. A forest from export.Load
// or export.Read is checked already; any other is checked here.
func Generate(f *export.Forest, opts Options) (Files, error) {
	m, err := newModel(f, opts)
	if err != nil {
		return nil, err
	}
	files := Files{}
	if err := m.trees(files); err != nil {
		return nil, err
	}
	table, err := m.table()
	if err != nil {
		return nil, err
	}
	fast := table.bytes() <= opts.MaxTableBytes
	if fast {
		if err := table.write(m, files); err != nil {
			return nil, err
		}
	}
	if err := m.writeFile(files, "model.go", m.modelFile(fast, table)); err != nil {
		return nil, err
	}
	_, _, dense := m.vocab.Dense()
	files[VocabularyFile], _ = lookup.Append(nil, dense)
	return files, nil
}

// newModel checks f, unless it was checked, and takes the vocabulary its
// check built: the vocabulary is built once from export to generated code.
func newModel(f *export.Forest, opts Options) (*model, error) {
	if f.Vocabulary() == nil {
		if err := f.Check(); err != nil {
			return nil, err
		}
	}
	vocab := f.Vocabulary()
	m := &model{Forest: f, opts: opts, vocab: vocab, distance: int32(vocab.DistanceIndex())}
	if err := m.checkSplits(); err != nil {
		return nil, err
	}
	return m, nil
}

// checkSplits makes sure every one-hot split is "key is not k": sklearn puts
// the threshold of a 0/1 column at 0.5; anything in [0, 1) means the same.
func (m *model) checkSplits() error {
	for i := range m.Trees {
		t := &m.Trees[i]
		for n := range t.Feature {
			if t.IsLeaf(int32(n)) || t.Feature[n] == m.distance {
				continue
			}
			if th := t.Threshold[n]; !(th >= 0 && th < 1) {
				return fmt.Errorf("tree %d node %d: one-hot column %s split at %v, want a threshold in [0, 1)", i, n, m.FeatureNames[t.Feature[n]], th)
			}
		}
	}
	return nil
}

// newFile starts a generated file with the standard header, naming the
// generator, the export and the model version.
func (m *model) newFile() *jen.File {
	f := jen.NewFile(m.opts.Package)
	f.HeaderComment(fmt.Sprintf("Code generated by %s from %s (model %s); DO NOT EDIT.", path.Base(generator), m.opts.Source, m.Metadata.Version))
	return f
}

func (m *model) writeFile(files Files, name string, f *jen.File) error {
	var buf bytes.Buffer
	if err := f.Render(&buf); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	files[name] = buf.Bytes()
	return nil
}

func (m *model) modelFile(fast bool, t *table) *jen.File {
	f := m.newFile()
	f.PackageComment(fmt.Sprintf("Package %s predicts ride durations with model %s: a scikit-learn %s\n"+
		"RandomForestRegressor of %d trees over %d one-hot PU_DO columns and trip_distance,\n"+
		"generated from %s by %s. Its predictions are bit-identical to sklearn's.%s",
		m.opts.Package, m.Metadata.Version, m.Metadata.SklearnVersion, len(m.Trees), m.vocab.Len()-1, m.opts.Source, generator, m.provenance()))
	f.Comment("Model metadata, from the export.")
	f.Const().Defs(
		jen.Id("ModelName").Op("=").Lit(m.Metadata.ModelName),
		jen.Comment(versionDoc(&m.Metadata)),
		jen.Id("Version").Op("=").Lit(m.Metadata.ID()),
		jen.Id("SklearnVersion").Op("=").Lit(m.Metadata.SklearnVersion),
		jen.Comment("RMSE is the model's root mean squared error on the validation month, in minutes."),
		jen.Id("RMSE").Op("=").Lit(m.Metadata.RMSE),
		jen.Id("NEstimators").Op("=").Lit(len(m.Trees)),
	)
	f.Line()
	f.Anon("embed")
	distance, maxID, dense := m.vocab.Dense()
	f.Comment("Vocabulary maps a ride's PU_DO key to its one-hot column (DictVectorizer.feature_names_).")
	f.Comment("Its dense key → column table was built by the generator and is read in place from")
	f.Comment(VocabularyFile + " (lookup.View): start-up builds nothing.")
	f.Var().Id("Vocabulary").Op("=").Qual(featurePkg, "MustVocabularyFromDense").Call(jen.Id("columns"), jen.Lit(distance),
		jen.Lit(int(maxID)), jen.Qual(lookupPkg, "View").Types(jen.Int32()).Call(jen.Id("vocabularyBin"), jen.Lit(0), jen.Lit(len(dense))))
	f.Line()
	f.Comment("//go:embed " + VocabularyFile)
	f.Var().Id("vocabularyBin").String()
	f.Line()
	names := make([]jen.Code, len(m.FeatureNames))
	for i, n := range m.FeatureNames {
		names[i] = jen.Lit(n)
	}
	f.Var().Id("columns").Op("=").Index().String().Values(names...)
	f.Line()
	backend, why := "predictTable", fmt.Sprintf("It reads a precomputed table (%d key classes × %d distance intervals).", t.classes(), t.intervals())
	if !fast {
		backend, why = "PredictTrees", fmt.Sprintf("It walks the trees: the table (%d bytes) exceeds the %d-byte bound.", t.bytes(), m.opts.MaxTableBytes)
	}
	f.Comment("Predict returns the ride's duration in minutes, bit-identical to sklearn's")
	f.Comment("RandomForestRegressor.predict, without allocating. " + why)
	f.Func().Id("Predict").Params(jen.Id("f").Qual(featurePkg, "Features")).Float64().Block(
		jen.Return(jen.Id(backend).Call(jen.Id("f"))),
	)
	return f
}

// versionDoc says what the Version constant holds.
func versionDoc(md *export.Metadata) string {
	if md.RunID != "" {
		return "Version is the id of the MLflow run the model came from (content hash " + md.Version + ")."
	}
	return "Version is the model version id: a hash of the exported trees and vocabulary."
}

// provenance names the data the model was trained and validated on, as the
// export's metadata records it, for the package comment: "" if it records none.
func (m *model) provenance() string {
	md := m.Metadata
	var lines []string
	if md.TrainData != "" || md.TrainDataSHA256 != "" {
		lines = append(lines, fmt.Sprintf("Training data: %s, sha256 %s.", md.TrainData, md.TrainDataSHA256))
	}
	if md.TrainTableSHA256 != "" {
		lines = append(lines, fmt.Sprintf("Training table (%d rows): sha256 %s.", md.TrainRows, md.TrainTableSHA256))
	}
	if md.ValidTableSHA256 != "" {
		lines = append(lines, fmt.Sprintf("Validation table (%d rows): sha256 %s.", md.ValidRows, md.ValidTableSHA256))
	}
	if len(lines) == 0 {
		return ""
	}
	return "\n\n" + strings.Join(lines, "\n")
}

// Write replaces the generated files in dir with files: stale generated
// files (a trees file or table no longer produced) are removed.
func Write(dir string, files Files) error {
	old, err := Generated(dir)
	if err != nil {
		return err
	}
	for _, name := range old {
		if _, ok := files[name]; !ok {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return err
			}
		}
	}
	for _, name := range files.Names() {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// formerTableFiles are tables earlier generators wrote (table.bin.zst: the
// table zstd-compressed, decoded at init), listed so that Write removes them
// and the staleness test notices one left behind.
var formerTableFiles = []string{"table.bin.zst"}

// VocabularyFile is the vocabulary's dense key → column table, int32
// little-endian (lookup.Append), which the generated package embeds.
const VocabularyFile = "vocabulary.bin"

// Generated lists the files in dir that the generator wrote: Go files with
// its header, and the table (current or former).
func Generated(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if name == TableFile || name == VocabularyFile || slices.Contains(formerTableFiles, name) {
			names = append(names, name)
			continue
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(b, []byte("// Code generated by "+path.Base(generator))) {
			names = append(names, name)
		}
	}
	return names, nil
}

// SourceName names an export as generated headers show it: a clean slash
// path without its leading "../" elements, so that a path relative to a
// package directory (go generate runs in generated/, one level down) names
// the file as it is named from the module's root: "../testdata/m.json.zst"
// and "testdata/m.json.zst" are both "testdata/m.json.zst". Only whole
// elements go: ".cache/m" stays ".cache/m". An absolute path stays absolute.
func SourceName(in string) string {
	s := filepath.ToSlash(filepath.Clean(in))
	for strings.HasPrefix(s, "../") {
		s = s[len("../"):]
	}
	if s == ".." {
		s = "."
	}
	return s
}
