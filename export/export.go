package export

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/klauspost/compress/zstd"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/lookup"
)

// Format is the export format this package reads.
const Format = "rideduration-forest/v2"

// Leaf marks a missing child in children_left/children_right.
const Leaf = -1

// Ensemble is a decoded export: trees, and how their outputs combine.
type Ensemble struct {
	Format       string   `json:"format"`
	Metadata     Metadata `json:"metadata"`
	FeatureNames []string `json:"feature_names"`
	Sparse       bool     `json:"sparse"`
	Combine      Combine  `json:"ensemble"`
	Trees        []Tree   `json:"trees"`
	// LinkTable holds a tabled link's values (Combine.Tabled), as the
	// exporter computed them; nil for any other link, and for a tabled
	// link before the exporter's second pass.
	LinkTable *LinkTable `json:"link_table,omitempty"`

	columns feature.Columns // built by Check
}

// Combine says how the library evaluates its trees: see doc.go.
type Combine struct {
	Input   string  `json:"input"`  // "float32" or "float64"
	Split   string  `json:"split"`  // "<=" or "<"
	Absent  string  `json:"absent"` // "zero" or "missing"
	Sum     string  `json:"sum"`    // "float64" or "float32"
	Base    float64 `json:"base"`
	Scale   float64 `json:"scale"`
	Divisor float64 `json:"divisor"`
	// Link is the function of the divided sum that the library returns:
	// "" (the identity), Exp, NumpyExp or NumpyExpm1.
	Link string `json:"link,omitempty"`

	table *LinkTable // the ensemble's LinkTable, set by Check
}

// LinkTable is a tabled link (Combine.Tabled) at every sum a generated
// table can hold: the exporter computed each value with the library's own
// function, in the run's environment, on the machine that ran it.
type LinkTable struct {
	Function string   `json:"function"` // the link: Combine.Link
	Numpy    string   `json:"numpy"`    // numpy's version
	CPU      []string `json:"cpu"`      // the CPU features numpy dispatched on
	// Sums are the divided sums, ascending in lookup.Order64's order (-0
	// before +0), each once; Values[i] is the library's link of Sums[i].
	Sums   []float64 `json:"sums"`
	Values []float64 `json:"values"`
}

// Value returns the library's link of the divided sum s, and whether the
// table holds s.
func (l *LinkTable) Value(s float64) (float64, bool) {
	if l == nil {
		return 0, false
	}
	i, ok := slices.BinarySearchFunc(l.Sums, s, func(x, s float64) int { return cmp.Compare(lookup.Order64(x), lookup.Order64(s)) })
	if !ok {
		return 0, false
	}
	return l.Values[i], true
}

func (l *LinkTable) check(link string) error {
	switch {
	case l.Function != link:
		return fmt.Errorf("link table of %q, but the ensemble's link is %q", l.Function, link)
	case len(l.Sums) == 0 || len(l.Values) != len(l.Sums):
		return fmt.Errorf("link table of %d sums and %d values: want as many, at least one", len(l.Sums), len(l.Values))
	}
	for i, s := range l.Sums {
		if !finite(s) || !finite(l.Values[i]) {
			return fmt.Errorf("link table: sum %v has value %v: want finite numbers", s, l.Values[i])
		}
		if i > 0 && lookup.Order64(l.Sums[i-1]) >= lookup.Order64(s) {
			return fmt.Errorf("link table: sum %v after %v: want them ascending, each once", s, l.Sums[i-1])
		}
	}
	return nil
}

// The values of Combine's fields.
const (
	Float32 = "float32"
	Float64 = "float64"
	LE      = "<="
	LT      = "<"
	Zero    = "zero"
	Missing = "missing"
	// Exp is the link of XGBoost's log-link objectives: the C library's
	// expf of the float32 sum (link.Expf).
	Exp = "exp"
	// NumpyExp and NumpyExpm1 are numpy's exp and expm1 of the sum, as
	// scikit-learn applies them (a log-link loss of HistGradientBoosting, a
	// TransformedTargetRegressor's inverse_func): numpy's SIMD kernels,
	// chosen by the CPU, which no Go function reproduces. They are tabled:
	// the export's LinkTable holds their values.
	NumpyExp   = "numpy.exp"
	NumpyExpm1 = "numpy.expm1"
)

// Tabled reports whether the link's values come from the export's
// LinkTable rather than from a function the generated code calls.
func (c *Combine) Tabled() bool { return c.Link == NumpyExp || c.Link == NumpyExpm1 }

// Metadata describes the model and how it was made.
type Metadata struct {
	ModelName          string         `json:"model_name"`
	Version            string         `json:"version"`
	Estimator          string         `json:"estimator"`
	Library            string         `json:"library"`
	LibraryVersion     string         `json:"library_version"`
	SklearnVersion     string         `json:"sklearn_version"`
	NEstimators        int            `json:"n_estimators"`
	Params             map[string]any `json:"params"`
	RMSE               float64        `json:"rmse"`
	TrainRows          int            `json:"train_rows"`
	ValidRows          int            `json:"valid_rows"`
	TrainData          string         `json:"train_data"`
	TrainDataSHA256    string         `json:"train_data_sha256"`
	TrainTableSHA256   string         `json:"train_table_sha256"`
	ValidTableSHA256   string         `json:"valid_table_sha256"`
	TestRidePrediction float64        `json:"test_ride_prediction"`
	// RunID is the MLflow run the model came from (make model), empty for
	// a model trained here.
	RunID string `json:"run_id,omitempty"`
}

// ID is the model's version as prediction events carry it: the MLflow run
// id when the model came from a run, else the content hash Version.
func (m *Metadata) ID() string {
	if m.RunID != "" {
		return m.RunID
	}
	return m.Version
}

// Tree holds a tree's node arrays, one entry per node.
type Tree struct {
	ChildrenLeft  []int32   `json:"children_left"`
	ChildrenRight []int32   `json:"children_right"`
	Feature       []int32   `json:"feature"`
	Threshold     []float64 `json:"threshold"`
	Value         []float64 `json:"value"`
	MissingLeft   []uint8   `json:"missing_left,omitempty"`
	NNodeSamples  []int64   `json:"n_node_samples,omitempty"`
}

// IsLeaf reports whether node n is a leaf.
func (t *Tree) IsLeaf(n int32) bool { return t.ChildrenLeft[n] == Leaf }

// Nodes is the number of nodes.
func (t *Tree) Nodes() int { return len(t.ChildrenLeft) }

// Load reads and checks the export at path.
func Load(path string) (*Ensemble, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	e, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

// Read decodes and checks an export, as the repository keeps it: zstd.
func Read(r io.Reader) (*Ensemble, error) {
	zr, err := zstd.NewReader(r)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return Decode(zr)
}

// Decode decodes and checks an export's JSON, as training/export.py
// writes it (uncompressed).
func Decode(r io.Reader) (*Ensemble, error) {
	var e Ensemble
	if err := json.NewDecoder(r).Decode(&e); err != nil {
		return nil, fmt.Errorf("decode export: %w", err)
	}
	if err := e.Check(); err != nil {
		return nil, err
	}
	return &e, nil
}

// Compress writes data (an export's JSON, or its golden predictions' CSV)
// as the repository keeps it: zstd at the best compression, with a
// checksum, in one thread, so that the same data always gives the same
// bytes.
func Compress(w io.Writer, data []byte) error {
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(true))
	if err != nil {
		return err
	}
	if _, err := zw.Write(data); err != nil {
		zw.Close()
		return err
	}
	return zw.Close()
}

// Check verifies what the generator relies on: the format, columns a ride
// can feed (feature.NewColumns), a combination rule this package knows, and
// well-formed trees whose nodes each have one parent and children after
// them, so every walk ends. It keeps the columns it builds: see Columns.
func (e *Ensemble) Check() error {
	e.columns = nil
	if e.Format != Format {
		return fmt.Errorf("export format %q, want %q", e.Format, Format)
	}
	cols, err := feature.NewColumns(e.FeatureNames)
	if err != nil {
		return fmt.Errorf("the model's %w", err)
	}
	if err := e.Combine.check(); err != nil {
		return err
	}
	e.Combine.table = nil
	if e.LinkTable != nil {
		if !e.Combine.Tabled() {
			return fmt.Errorf("the export has a link table, but its link %q is not tabled", e.Combine.Link)
		}
		if err := e.LinkTable.check(e.Combine.Link); err != nil {
			return err
		}
		e.Combine.table = e.LinkTable
	}
	if len(e.Trees) == 0 || len(e.Trees) != e.Metadata.NEstimators {
		return fmt.Errorf("export has %d trees, metadata says n_estimators %d", len(e.Trees), e.Metadata.NEstimators)
	}
	missing := e.Sparse && e.Combine.Absent == Missing
	for i := range e.Trees {
		if err := e.Trees[i].check(len(e.FeatureNames), missing); err != nil {
			return fmt.Errorf("tree %d: %w", i, err)
		}
	}
	e.columns = cols
	return nil
}

func (c *Combine) check() error {
	switch {
	case c.Input != Float32 && c.Input != Float64:
		return fmt.Errorf("ensemble input %q: want float32 or float64", c.Input)
	case c.Split != LE && c.Split != LT:
		return fmt.Errorf("ensemble split %q: want <= or <", c.Split)
	case c.Absent != Zero && c.Absent != Missing:
		return fmt.Errorf("ensemble absent %q: want zero or missing", c.Absent)
	case c.Sum != Float32 && c.Sum != Float64:
		return fmt.Errorf("ensemble sum %q: want float32 or float64", c.Sum)
	case !finite(c.Base) || !finite(c.Scale) || !finite(c.Divisor) || c.Divisor == 0:
		return fmt.Errorf("ensemble base %v, scale %v, divisor %v: want finite numbers, a divisor not 0", c.Base, c.Scale, c.Divisor)
	case c.Sum == Float32 && (float64(float32(c.Base)) != c.Base || float64(float32(c.Scale)) != c.Scale || float64(float32(c.Divisor)) != c.Divisor):
		return fmt.Errorf("ensemble sums in float32, but base %v, scale %v or divisor %v is not a float32", c.Base, c.Scale, c.Divisor)
	case c.Link != "" && c.Link != Exp && !c.Tabled():
		return fmt.Errorf("ensemble link %q: want none, %q, %q or %q", c.Link, Exp, NumpyExp, NumpyExpm1)
	case c.Link == Exp && c.Sum != Float32:
		return fmt.Errorf("ensemble link %q takes a float32 sum (expf), not %s", c.Link, c.Sum)
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Columns returns the columns of FeatureNames that the last successful
// Check built (Load and Read check), or nil if e was not checked or the
// check failed. An ensemble changed after its check must be checked again.
func (e *Ensemble) Columns() feature.Columns { return e.columns }

func (t *Tree) check(columns int, missing bool) error {
	n := len(t.ChildrenLeft)
	if n == 0 || len(t.ChildrenRight) != n || len(t.Feature) != n || len(t.Threshold) != n || len(t.Value) != n ||
		(t.MissingLeft != nil && len(t.MissingLeft) != n) || (t.NNodeSamples != nil && len(t.NNodeSamples) != n) {
		return fmt.Errorf("node arrays differ in length or are empty")
	}
	if missing && t.MissingLeft == nil {
		return fmt.Errorf("absent entries are missing values, but the tree has no missing_left")
	}
	parents := make([]int, n)
	for i := range n {
		l, r := t.ChildrenLeft[i], t.ChildrenRight[i]
		if (l == Leaf) != (r == Leaf) {
			return fmt.Errorf("node %d has one child", i)
		}
		if l == Leaf {
			if !finite(t.Value[i]) {
				return fmt.Errorf("leaf %d has value %v", i, t.Value[i])
			}
			continue
		}
		if int(l) <= i || int(r) <= i || int(l) >= n || int(r) >= n {
			return fmt.Errorf("node %d has children %d, %d out of order", i, l, r)
		}
		if f := t.Feature[i]; f < 0 || int(f) >= columns {
			return fmt.Errorf("node %d tests column %d of %d", i, f, columns)
		}
		if math.IsNaN(t.Threshold[i]) {
			return fmt.Errorf("node %d has threshold NaN", i)
		}
		parents[l]++
		parents[r]++
	}
	for i := 1; i < n; i++ {
		if parents[i] != 1 {
			return fmt.Errorf("node %d has %d parents", i, parents[i])
		}
	}
	return nil
}
