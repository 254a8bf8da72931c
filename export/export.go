package export

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/klauspost/compress/zstd"

	"github.com/rideduration/rideduration/feature"
)

// Format is the export format this package reads.
const Format = "rideduration-forest/v1"

// Leaf marks a missing child in children_left/children_right.
const Leaf = -1

// Forest is a decoded export.
type Forest struct {
	Format       string   `json:"format"`
	Metadata     Metadata `json:"metadata"`
	FeatureNames []string `json:"feature_names"`
	Trees        []Tree   `json:"trees"`

	vocab *feature.Vocabulary // built by Check
}

// Metadata describes the model and how it was made.
type Metadata struct {
	ModelName          string         `json:"model_name"`
	Version            string         `json:"version"`
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

// Tree holds sklearn's tree_ arrays, one entry per node.
type Tree struct {
	ChildrenLeft  []int32   `json:"children_left"`
	ChildrenRight []int32   `json:"children_right"`
	Feature       []int32   `json:"feature"`
	Threshold     []float64 `json:"threshold"`
	Value         []float64 `json:"value"`
	NNodeSamples  []int64   `json:"n_node_samples"`
}

// IsLeaf reports whether node n is a leaf.
func (t *Tree) IsLeaf(n int32) bool { return t.ChildrenLeft[n] == Leaf }

// Load reads and checks the export at path.
func Load(path string) (*Forest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	forest, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return forest, nil
}

// Read decodes and checks an export.
func Read(r io.Reader) (*Forest, error) {
	zr, err := zstd.NewReader(r)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var f Forest
	if err := json.NewDecoder(zr).Decode(&f); err != nil {
		return nil, fmt.Errorf("decode export: %w", err)
	}
	if err := f.Check(); err != nil {
		return nil, err
	}
	return &f, nil
}

// Check verifies what the generator relies on: the format, a vocabulary
// package feature understands, and well-formed trees whose nodes each have
// one parent and children after them (sklearn's depth-first node order), so
// every walk ends. It keeps the vocabulary it builds: see Vocabulary.
func (f *Forest) Check() error {
	f.vocab = nil
	if f.Format != Format {
		return fmt.Errorf("export format %q, want %q", f.Format, Format)
	}
	vocab, err := feature.NewVocabulary(f.FeatureNames)
	if err != nil {
		return err
	}
	if len(f.Trees) == 0 || len(f.Trees) != f.Metadata.NEstimators {
		return fmt.Errorf("export has %d trees, metadata says n_estimators %d", len(f.Trees), f.Metadata.NEstimators)
	}
	for i := range f.Trees {
		if err := f.Trees[i].check(len(f.FeatureNames)); err != nil {
			return fmt.Errorf("tree %d: %w", i, err)
		}
	}
	f.vocab = vocab
	return nil
}

// Vocabulary returns the vocabulary of FeatureNames that the last successful
// Check built (Load and Read check), or nil if f was not checked or the check
// failed. A forest changed after its check must be checked again.
func (f *Forest) Vocabulary() *feature.Vocabulary { return f.vocab }

func (t *Tree) check(columns int) error {
	n := len(t.ChildrenLeft)
	if n == 0 || len(t.ChildrenRight) != n || len(t.Feature) != n || len(t.Threshold) != n || len(t.Value) != n || len(t.NNodeSamples) != n {
		return fmt.Errorf("node arrays differ in length or are empty")
	}
	parents := make([]int, n)
	for i := range n {
		l, r := t.ChildrenLeft[i], t.ChildrenRight[i]
		if (l == Leaf) != (r == Leaf) {
			return fmt.Errorf("node %d has one child", i)
		}
		if l == Leaf {
			if math.IsNaN(t.Value[i]) || math.IsInf(t.Value[i], 0) {
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

// Threshold32 is the largest float32 ≤ t: for every float32 x,
// x <= t exactly when x <= Threshold32(t). sklearn compares float32 inputs
// with float64 thresholds; this lets Go code compare in float32.
func Threshold32(t float64) float32 {
	f := float32(t)
	if float64(f) > t {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

// Predict is the reference evaluation, as sklearn does it, over a dense row
// of float32 inputs (one per feature column). It is slow and plain: the
// generated code is tested against it and against sklearn's own outputs.
func (f *Forest) Predict(x []float32) float64 {
	var sum float64
	for i := range f.Trees {
		t := &f.Trees[i]
		n := int32(0)
		for !t.IsLeaf(n) {
			if float64(x[t.Feature[n]]) <= t.Threshold[n] {
				n = t.ChildrenLeft[n]
			} else {
				n = t.ChildrenRight[n]
			}
		}
		sum += t.Value[n]
	}
	return sum / float64(len(f.Trees))
}
