// Package training holds the Python trainer and exporter. Its Go tests prove
// that retraining reproduces the committed export byte for byte, and take an
// MLflow run's model from (moto's) S3 to golden-tested Go with make model.
package training

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/internal/testenv"
)

// Python is Debian's, which has python3-sklearn 1.2.1 and python3-pandas.
const python = "/usr/bin/python3"

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	if name == python {
		needPython(t)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = ".."
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "%s %v:\n%s", name, args, out.String())
	return out.String()
}

// pythonModules is what the tests import in Debian's python3: the packages
// make deps installs (python3-sklearn 1.2.1, python3-xgboost, python3-yaml).
const pythonModules = "import numpy, sklearn, xgboost, yaml; assert sklearn.__version__ == '1.2.1', 'scikit-learn ' + sklearn.__version__ + ', not 1.2.1'"

// pythonProbe is whether python has pythonModules, asked once per test
// binary: what is missing, with the last line python printed, or "".
var pythonProbe struct {
	once    sync.Once
	missing string
}

// needPython skips the test without Debian's python3 and the packages it
// imports (fails it with CI set), naming what is missing.
func needPython(t testing.TB) {
	t.Helper()
	pythonProbe.once.Do(func() {
		if _, err := os.Stat(python); err != nil {
			pythonProbe.missing = python + " is missing"
			return
		}
		if out, err := exec.Command(python, "-c", pythonModules).CombinedOutput(); err != nil {
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			pythonProbe.missing = python + ": " + lines[len(lines)-1]
		}
	})
	if pythonProbe.missing != "" {
		testenv.Missing(t, "Debian's python3 with python3-sklearn 1.2.1, python3-xgboost and python3-yaml "+
			"(apt-get install python3-sklearn python3-xgboost python3-yaml: make deps); "+pythonProbe.missing)
	}
}

// fit is the original's pipeline, prepped, trained and exported once per
// test binary by train.py (≈ 30 s), in a directory TestMain removes: the
// retrain test checks it, the make model test ships its pickle as an MLflow
// run's model.
var fit struct {
	once sync.Once
	dir  string // train.csv, valid.csv, model.json, golden.csv, model.json.zst, golden.csv.zst, model.pkl
	out  string // train.py's output
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "training-")
	if err != nil {
		panic(err)
	}
	fit.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// trained returns the fit's directory and train.py's output.
func trained(t *testing.T) (dir, out string) {
	t.Helper()
	needPython(t)
	fit.once.Do(func() {
		p := func(name string) string { return filepath.Join(fit.dir, name) }
		steps := [][]string{
			{"go", "run", "./cmd/prep", "-o", p("train.csv"), "testdata/green_tripdata_2022-01.parquet"},
			{"go", "run", "./cmd/prep", "-o", p("valid.csv"), "testdata/green_tripdata_2022-02.parquet"},
			{python, "training/train.py", "--train", p("train.csv"), "--valid", p("valid.csv"),
				"--train-source", "testdata/green_tripdata_2022-01.parquet",
				"--export", p("model.json"), "--golden", p("golden.csv"), "--pickle", p("model.pkl")},
			{"go", "run", "./cmd/packmodel", "-in", fit.dir, "-export", p("model.json.zst"), "-golden", p("golden.csv.zst")},
		}
		for _, s := range steps {
			start := time.Now()
			cmd := exec.Command(s[0], s[1:]...)
			cmd.Dir = ".."
			b, err := cmd.CombinedOutput()
			if err != nil {
				fit.err = fmt.Errorf("%s: %v\n%s", strings.Join(s, " "), err, b)
				return
			}
			if s[0] == python {
				fit.out = string(b)
			}
			t.Logf("%s: %.1f s", strings.Join(s[:3], " "), time.Since(start).Seconds())
		}
	})
	require.NoError(t, fit.err)
	return fit.dir, fit.out
}

// Prep, train and export again from the committed parquet files: the export
// and the golden predictions come out byte-identical to the committed ones,
// the RMSE is the original's 6.101, and export.py, given the pickled
// pipeline, exports the same model version.
func TestRetrainReproducesExport(t *testing.T) {
	committed, err := export.Load("../testdata/model.json.zst")
	require.NoError(t, err)
	if committed.Metadata.RunID != "" {
		t.Skipf("the committed model is MLflow run %s's (make model): retraining here reproduces only a model train.py made from the committed data", committed.Metadata.RunID)
	}
	tmp, out := trained(t)
	p := func(name string) string { return filepath.Join(tmp, name) }
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

	exported := filepath.Join(t.TempDir(), "from-pickle.json")
	run(t, python, "training/export.py", "--model", p("model.pkl"), "--export", exported)
	f, err := os.Open(exported)
	require.NoError(t, err)
	defer f.Close()
	fromPickle, err := export.Decode(f)
	require.NoError(t, err)
	require.Equal(t, committed.Metadata.Version, fromPickle.Metadata.Version)
	require.Equal(t, committed.Trees, fromPickle.Trees)
	require.Equal(t, committed.Metadata.TestRidePrediction, fromPickle.Metadata.TestRidePrediction)
}
