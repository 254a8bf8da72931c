// Package training holds the Python trainer; this Go test proves that
// retraining reproduces the committed export byte for byte.
package training

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/export"
)

// Python is Debian's, which has python3-sklearn 1.2.1 and python3-pandas.
const python = "/usr/bin/python3"

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = ".."
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "%s %v:\n%s", name, args, out.String())
	return out.String()
}

// Prep, train and export again from the committed parquet files: the export
// and the golden predictions come out byte-identical to the committed ones,
// the RMSE is the original's 6.101, and export.py, given the pickled
// pipeline, exports the same model version.
func TestRetrainReproducesExport(t *testing.T) {
	if out, err := exec.Command(python, "-c", "import sklearn, pandas, zstandard; assert sklearn.__version__ == '1.2.1', sklearn.__version__").CombinedOutput(); err != nil {
		t.Fatalf("training needs Debian's python3-sklearn (1.2.1), python3-pandas, python3-zstandard: apt-get install -y python3-sklearn python3-pandas python3-zstandard\n%s", out)
	}
	tmp := t.TempDir()
	p := func(name string) string { return filepath.Join(tmp, name) }
	run(t, "go", "run", "./cmd/prep", "-o", p("train.csv"), "testdata/green_tripdata_2022-01.parquet")
	run(t, "go", "run", "./cmd/prep", "-o", p("valid.csv"), "testdata/green_tripdata_2022-02.parquet")
	out := run(t, python, "training/train.py", "--train", p("train.csv"), "--valid", p("valid.csv"),
		"--train-source", "testdata/green_tripdata_2022-01.parquet",
		"--export", p("model.json.zst"), "--golden", p("golden.csv.zst"), "--pickle", p("model.pkl"))
	t.Log(out)
	require.Contains(t, out, "RMSE on 66097 validation rides: 6.101 ")
	require.Contains(t, out, "18.321633541366506 min")

	for got, want := range map[string]string{p("model.json.zst"): "testdata/model.json.zst", p("golden.csv.zst"): "testdata/golden_predictions.csv.zst"} {
		a, err := os.ReadFile(got)
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join("..", want))
		require.NoError(t, err)
		require.True(t, bytes.Equal(a, b), "retraining changed %s: run make train and commit it with the regenerated package", want)
	}

	run(t, python, "training/export.py", "--model", p("model.pkl"), "--export", p("from-pickle.json.zst"))
	committed, err := export.Load("../testdata/model.json.zst")
	require.NoError(t, err)
	fromPickle, err := export.Load(p("from-pickle.json.zst"))
	require.NoError(t, err)
	require.Equal(t, committed.Metadata.Version, fromPickle.Metadata.Version)
	require.Equal(t, committed.Trees, fromPickle.Trees)
	require.Equal(t, committed.Metadata.TestRidePrediction, fromPickle.Metadata.TestRidePrediction)
}
