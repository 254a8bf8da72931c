// Package gen turns a tree-ensemble export into plain Go source that
// predicts exactly what the library that trained it predicts: decision
// trees, forests, gradient boosting and XGBoost alike, over any columns a
// ride event can feed (package feature).
//
// It chooses one of three backends to serve Predict (choose, which records
// why), and says which in the generated package's documentation:
//
//   - table: the ensemble evaluated in advance. Over the ride's key (its
//     pickup and drop-off ids) and one number (trip_distance, as the
//     ensemble reads it: float32 or float64), the ensemble is a step
//     function of the distance for each key class (keys that every split
//     treats alike), with steps only at the trees' distance thresholds. The
//     generator evaluates every (key class, threshold interval) and stores
//     the table as its distinct values plus an index per cell
//     (lookup.Table), in a blob the package embeds and reads in place
//     (lookup.View): nothing is decoded at start-up. Prediction is a key
//     lookup, a branch-free search for the distance's interval and two
//     loads. Used when the trees split on no id too large for a key array
//     and the table fits Options.MaxTableBytes. When the full table does
//     not, but the table of each class's own intervals (the thresholds its
//     key reaches, where the prediction changes) does, that serves, and the
//     search is over the class's thresholds (lookup.Rank). It serves too in
//     place of a full table that fits but takes more than
//     Options.RaggedFactor times its bytes and more than
//     Options.RaggedFloor: the full table's search is the faster.
//   - trees: one if/else function per tree, readable. Used otherwise, when
//     the trees have at most Options.MaxTreeNodes nodes.
//   - flat: the trees as node arrays in an embedded blob, walked by package
//     flat. Used otherwise: more nodes than the Go compiler builds as code
//     in reasonable time and memory.
//
// The trees are always generated, as code or as node arrays: when the table
// serves, into _test.go files, where the tests hold the table to them, and
// production builds do not compile them.
//
// Analysis comes before emission: choose and (*table).layout compute what
// is written (the table, the blob's offsets), and the write functions only
// lay out Go source. Code that reads lookup or flat carries a compile-time
// guard against the layout it was generated for (lookup.EnforceLayout,
// flat.EnforceLayout).
//
// Exactness follows each library's arithmetic as the export records it
// (export.Combine): inputs converted to float32 or float64, thresholds
// compared as the library compares them (here: the largest float32 on the
// same side, which decides every float32 the same way), leaves scaled,
// added in tree order in the library's type, divided at the end.
package gen

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/flat"
)

// Options steer the generator.
type Options struct {
	Package string // package name of the output
	// Source names the export in the generated files' headers, e.g.
	// "testdata/model.json.zst" (a path relative to the module, not the machine).
	Source string
	// MaxTableBytes bounds the table, counted as the bytes its blob stores
	// (every array and the predictions' text). The full table serves if it
	// fits, else the table of each key class's own intervals if that fits,
	// else the trees. 128 MiB keeps a function's zip (the blob compresses
	// to about a third) under Lambda's 50 MB direct upload.
	MaxTableBytes int
	// RaggedFactor and RaggedFloor choose between the two tables when both
	// fit MaxTableBytes: the full table, the faster, serves unless it takes
	// more than RaggedFactor times the bytes of each class's own intervals
	// and more than RaggedFloor bytes (docs/model.md measures both). A zero
	// RaggedFactor serves the full table whenever it fits.
	RaggedFactor float64
	RaggedFloor  int
	// TreesPerFile splits the tree functions over files, to keep each file
	// small enough to read and the build within a few seconds.
	TreesPerFile int
	// MaxTreeNodes bounds the nodes written as if/else code, which the Go
	// compiler needs time and memory for (885,476 nodes: 2 minutes and
	// 3.4 GB, see docs/model.md). Above it the trees are written as node
	// arrays that package flat walks.
	MaxTreeNodes int
}

// DefaultOptions are what go generate uses.
var DefaultOptions = Options{Package: "generated", MaxTableBytes: 128 << 20, RaggedFactor: 4, RaggedFloor: 16 << 20,
	TreesPerFile: 10, MaxTreeNodes: 400_000}

const (
	featurePkg = "github.com/rideduration/rideduration/feature"
	wirePkg    = "github.com/rideduration/rideduration/wire"
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

// model is the checked export with what every backend needs.
type model struct {
	*export.Ensemble
	opts Options
	cols feature.Columns
	// used marks the ride values some split reads, indexed by feature.Input:
	// the generated input struct has a field for each.
	used [len(feature.Inputs)]bool
	flat *flat.Trees // the trees as package flat lays them out, once made (flatTrees)
	// sums: the table's cells hold the divided sums, before a tabled link
	// (LinkSums).
	sums bool
}

// backend is how a generated package computes a prediction.
type backend int

const (
	tableBackend backend = iota // the ensemble evaluated in advance, read from a lookup.Table
	treesBackend                // one if/else function per tree
	flatBackend                 // the trees as node arrays, walked by package flat
)

// predictFunc is the generated function that predicts with b.
func (b backend) predictFunc() string {
	return [...]string{tableBackend: "predictTable", treesBackend: "predictTrees", flatBackend: "predictFlat"}[b]
}

// how says how b predicts, for Predict's doc comment.
func (b backend) how() string {
	return [...]string{tableBackend: "It reads the precomputed table.", treesBackend: "It walks the trees.", flatBackend: "It walks the trees' node arrays."}[b]
}

// plan is what the generator chose for an ensemble, decided before anything
// is written.
type plan struct {
	serve backend // serves Predict
	trees backend // the form of the trees, treesBackend or flatBackend: written always, into test files when the table serves
	table *table  // when the table serves
	why   string  // the choice, for the package comment
}

// choose decides how the package predicts.
func (m *model) choose() *plan {
	tb, why := m.table()
	nodes := 0
	for i := range m.Trees {
		nodes += m.Trees[i].Nodes()
	}
	p := &plan{table: tb, why: why, trees: treesBackend}
	if nodes > m.opts.MaxTreeNodes {
		// Too large to compile as code in reasonable time and memory.
		p.trees = flatBackend
		p.why += fmt.Sprintf(" The trees' %d nodes are more than the %d written as code: package flat walks them as node arrays.", nodes, m.opts.MaxTreeNodes)
	}
	switch {
	case tb != nil:
		// The table fits Options.MaxTableBytes: Predict reads it, and the
		// tests hold it to the trees.
		p.serve = tableBackend
	default:
		// No table: Predict walks the trees, in the form they are written.
		p.serve = p.trees
	}
	return p
}

// treesServe reports whether the trees serve Predict, rather than only the tests.
func (p *plan) treesServe() bool { return p.serve != tableBackend }

// Generate writes the Go package for ensemble e. An ensemble from
// export.Load or export.Read is checked already; any other is checked here.
func Generate(e *export.Ensemble, opts Options) (Files, error) {
	m, err := newModel(e, opts)
	if err != nil {
		return nil, err
	}
	if m.Combine.Tabled() && m.LinkTable == nil {
		return nil, fmt.Errorf("the model's link is %s, whose values the exporter computes (make model-export), and the export has no link table", m.Combine.Link)
	}
	p := m.choose()
	if m.Combine.Tabled() {
		if p.serve != tableBackend {
			return nil, m.untabled(p.why)
		}
		if err := m.checkLinked(p.table); err != nil {
			return nil, err
		}
		p.why += m.linkDoc()
	}
	files := Files{}
	switch p.trees {
	case flatBackend:
		err = m.writeFlat(files, p)
	default:
		err = m.writeTrees(files, p)
	}
	if err != nil {
		return nil, err
	}
	if p.serve == tableBackend {
		l, err := p.table.layout()
		if err != nil {
			return nil, err
		}
		if err := m.writeTable(files, p.table, l); err != nil {
			return nil, err
		}
	}
	if err := m.writeFile(files, "model.go", m.modelFile(p)); err != nil {
		return nil, err
	}
	if m.Combine.Tabled() {
		if err := m.writeLink(files); err != nil {
			return nil, err
		}
	}
	if m.Metadata.TestRidePrediction != 0 {
		if err := m.writeFile(files, "example_test.go", m.exampleFile()); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// newModel checks e, if it is not checked yet, and finds the ride values
// its splits read.
func newModel(e *export.Ensemble, opts Options) (*model, error) {
	if e.Columns() == nil {
		if err := e.Check(); err != nil {
			return nil, err
		}
	}
	m := &model{Ensemble: e, opts: opts, cols: e.Columns()}
	for i := range m.Trees {
		t := &m.Trees[i]
		for n, col := range t.Feature {
			if !t.IsLeaf(int32(n)) {
				m.used[m.cols[col].Input] = true
			}
		}
	}
	return m, nil
}

// TestRide is the original walkthrough's ride event, whose prediction an
// export records (test_ride_prediction): the generated package's example.
const TestRide = `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`

// exampleFile is the package's runnable example: the original's ride event
// parsed as the function parses it, and predicted, with the library's
// prediction for it as the expected output, so that go test checks it and
// go doc shows it.
func (m *model) exampleFile() *jen.File {
	f := m.newFile()
	f.Comment("A ride event, as a producer puts it on the stream, to its duration in minutes:")
	f.Comment("the library's prediction for it, to the bit.")
	f.Func().Id("ExamplePredict").Params().Block(
		jen.List(jen.Id("ride"), jen.Err()).Op(":=").Qual(wirePkg, "ParseRideEvent").Call(
			jen.Index().Byte().Call(jen.Op("`"+TestRide+"`")), jen.Id("Precision")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Panic(jen.Err())),
		jen.Qual("fmt", "Println").Call(jen.Id("Predict").Call(jen.Id("ride").Dot("Features"))),
		jen.Comment("Output: "+strconv.FormatFloat(m.Metadata.TestRidePrediction, 'g', -1, 64)),
	)
	return f
}

// newFile starts a generated file with the standard header, naming the
// generator, the export and the model version.
func (m *model) newFile() *jen.File {
	f := jen.NewFile(m.opts.Package)
	f.HeaderComment(fmt.Sprintf("Code generated by %s from %s (model %s); DO NOT EDIT.", path.Base(generator), m.opts.Source, m.Metadata.Version))
	return f
}

// guard writes the compile-time check that the runtime package at pkg
// (lookup or flat) reads layout, the one the code is generated for:
//
//	const (
//		_ = lookup.EnforceLayout(1 - lookup.MinLayout)
//		_ = lookup.EnforceLayout(lookup.MaxLayout - 1)
//	)
func guard(f *jen.File, pkg string, layout int) {
	name := path.Base(pkg)
	f.Comment(fmt.Sprintf("This code reads layout %d of package %s: it does not compile against a %s", layout, name, name))
	f.Comment("that reads no such layout.")
	f.Const().Defs(
		jen.Id("_").Op("=").Qual(pkg, "EnforceLayout").Call(jen.Lit(layout).Op("-").Qual(pkg, "MinLayout")),
		jen.Id("_").Op("=").Qual(pkg, "EnforceLayout").Call(jen.Qual(pkg, "MaxLayout").Op("-").Lit(layout)),
	)
	f.Line()
}

func (m *model) writeFile(files Files, name string, f *jen.File) error {
	var buf bytes.Buffer
	if err := f.Render(&buf); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	files[name] = buf.Bytes()
	return nil
}

// describe says what the model is, for the package comment: "a
// scikit-learn 1.2.1 RandomForestRegressor of 100 trees over 6682 PU_DO
// categories and trip_distance".
func (m *model) describe() string {
	lib := m.Metadata.Library
	if lib == "" {
		lib = "scikit-learn"
	}
	if v := m.Metadata.LibraryVersion; v != "" {
		lib += " " + v
	}
	var cats [len(feature.Inputs)]int
	var over []string
	for _, c := range m.cols {
		if c.OneHot {
			cats[c.Input]++
		}
	}
	for i, name := range feature.Inputs {
		switch {
		case cats[i] > 0:
			over = append(over, fmt.Sprintf("%d %s categories", cats[i], name))
		case slices.ContainsFunc(m.cols, func(c feature.Column) bool { return !c.OneHot && c.Input == feature.Input(i) }):
			over = append(over, name)
		}
	}
	trees := "trees"
	if len(m.Trees) == 1 {
		trees = "tree"
	}
	list := strings.Join(over, ", ")
	if len(over) > 1 {
		list = strings.Join(over[:len(over)-1], ", ") + " and " + over[len(over)-1]
	}
	return fmt.Sprintf("a %s %s of %d %s over %s", lib, m.Metadata.Estimator, len(m.Trees), trees, list)
}

// precision names the feature.Precision of the ensemble's input.
func (m *model) precision() string {
	if m.Combine.Input == export.Float32 {
		return "Float32"
	}
	return "Float64"
}

func (m *model) modelFile(p *plan) *jen.File {
	f := m.newFile()
	f.PackageComment(fmt.Sprintf("Package %s predicts ride durations with model %s:\n%s,\n"+
		"generated from %s by %s. Its predictions are bit-identical to the library's.\n\n%s%s",
		m.opts.Package, m.Metadata.Version, m.describe(), m.opts.Source, generator, p.why, m.provenance()))
	f.Comment("Model metadata, from the export.")
	f.Const().Defs(
		jen.Id("ModelName").Op("=").Lit(m.Metadata.ModelName),
		jen.Comment(versionDoc(&m.Metadata)),
		jen.Id("Version").Op("=").Lit(m.Metadata.ID()),
		jen.Comment("Estimator is the class of the model the library trained."),
		jen.Id("Estimator").Op("=").Lit(m.Metadata.Estimator),
		jen.Id("SklearnVersion").Op("=").Lit(m.Metadata.SklearnVersion),
		jen.Comment("RMSE is the model's root mean squared error on the validation month, in minutes."),
		jen.Id("RMSE").Op("=").Lit(m.Metadata.RMSE),
		jen.Id("NEstimators").Op("=").Lit(len(m.Trees)),
		jen.Comment("Precision is the type the model reads its numbers in, the export's ensemble input: a ride"),
		jen.Comment("whose distance it cannot hold is a bad record, as the library refuses it (feature.Precision.Check)."),
		jen.Id("Precision").Op("=").Qual(featurePkg, m.precision()),
	)
	f.Line()
	names := make([]jen.Code, len(m.FeatureNames))
	for i, n := range m.FeatureNames {
		names[i] = jen.Lit(n)
	}
	f.Comment("FeatureNames are the model's columns, DictVectorizer.feature_names_ (see feature.NewColumns).")
	f.Var().Id("FeatureNames").Op("=").Index().String().Values(names...)
	f.Line()
	predict := func() jen.Code { return jen.Id(p.serve.predictFunc()).Call(jen.Id("f")) }
	f.Comment("Predict returns the ride's duration in minutes, bit-identical to the library's")
	f.Comment("predict, without allocating. " + p.serve.how())
	f.Func().Id("Predict").Params(jen.Id("f").Qual(featurePkg, "Features")).Float64().Block(
		jen.Return(predict()),
	)
	if p.treesServe() { // the table writes its own PredictText, which keeps each prediction's text
		f.Line()
		f.Comment("PredictText returns Predict(f), and \"\": the trees keep no text of their")
		f.Comment("predictions, so the caller formats it (model.Model's PredictText).")
		f.Func().Id("PredictText").Params(jen.Id("f").Qual(featurePkg, "Features")).Params(jen.Float64(), jen.String()).Block(
			jen.Return(predict(), jen.Lit("")),
		)
	}
	return f
}

// versionDoc says what the Version constant holds.
func versionDoc(md *export.Metadata) string {
	if md.RunID != "" {
		return "Version is the id of the MLflow run the model came from (content hash " + md.Version + ")."
	}
	return "Version is the model version id: a hash of the exported trees and columns."
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

// floatLit renders v as a Go constant that converts back to v exactly in
// its type: the shortest decimal (Go rounds an untyped constant to the
// nearest value of the type), so the code reads "x <= 2.345". Infinities
// and −0, which constants cannot hold, are spelled with package math.
func floatLit(v float64, bits int) jen.Code {
	switch {
	case math.IsInf(v, 0):
		return jen.Qual("math", "Inf").Call(jen.Lit(int(math.Copysign(1, v))))
	case v == 0 && math.Signbit(v):
		return jen.Qual("math", "Copysign").Call(jen.Lit(0), jen.Lit(-1))
	}
	s := strconv.FormatFloat(v, 'g', -1, bits)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return jen.Op(s)
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

// formerFiles are data files earlier generators wrote (table.bin.zst: the
// table zstd-compressed, decoded at init; vocabulary.bin: a PU_DO key →
// column table), listed so that Write removes them and the staleness test
// notices one left behind.
var formerFiles = []string{"table.bin.zst", "vocabulary.bin"}

// Generated lists the files in dir that the generator wrote: Go files (test
// files too) with its header, the table (current or former), the node
// arrays and the link table.
func Generated(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if name == TableFile || name == FlatFile || name == LinkFile || slices.Contains(formerFiles, name) {
			names = append(names, name)
			continue
		}
		if !strings.HasSuffix(name, ".go") {
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

// Foreign lists the entries of dir that are not regular files named in files
// or in handWritten: a Go file without the generator's header, an assembly
// or object file, a symbolic link, a directory (its name ends in "/"). The
// go tool builds a package from every file its directory holds, so a
// generated package is what the generator writes, its hand-written files and
// nothing else. Empty means dir holds nothing foreign.
func Foreign(dir string, files Files, handWritten ...string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var foreign []string
	for _, e := range entries {
		name := e.Name()
		_, generated := files[name]
		switch {
		case e.IsDir():
			foreign = append(foreign, name+"/")
		case !e.Type().IsRegular(), !generated && !slices.Contains(handWritten, name):
			foreign = append(foreign, name)
		}
	}
	return foreign, nil
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

// Stale lists what regenerating dir would change: the files of files that
// dir lacks or holds with other bytes, and the generated files in dir that
// files does not hold. Empty means dir is current.
func Stale(dir string, files Files) ([]string, error) {
	var stale []string
	for _, name := range files.Names() {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		if err != nil || !bytes.Equal(b, files[name]) {
			stale = append(stale, name)
		}
	}
	old, err := Generated(dir)
	if err != nil {
		return nil, err
	}
	for _, name := range old {
		if _, ok := files[name]; !ok {
			stale = append(stale, name)
		}
	}
	return stale, nil
}
