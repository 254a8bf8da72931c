package training

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/export"
)

// kinds are the models training/kinds.py trains, small, one of each kind a
// user brings: every estimator the generator compiles, over every form of
// the ride's features.
var kinds = []string{"dt", "rf", "et", "gb", "gb-huber", "gb-quantile", "gb-absolute", "hgb", "xgb", "booster"}

var mlmodelRunID = regexp.MustCompile(`(?m)^run_id: (\S+)$`)

// Each kind goes the whole way a user's run goes: from an MLflow model
// directory through make model (fetch, check, export with the library's
// golden predictions, generate, golden tests), to the compiled model
// predicting the original's ride through predict; then the golden tests
// again, built for arm64 (the template's default architecture, where Go
// may fuse a multiply and an add) and run under qemu.
func TestKinds(t *testing.T) {
	fitDir, _ := trained(t)
	qemu, err := exec.LookPath("qemu-aarch64-static")
	require.NoError(t, err, "the arm64 golden tests run under qemu-aarch64-static: apt-get install qemu-user-static (make deps)")
	models := t.TempDir()
	start := time.Now()
	t.Log(run(t, python, "training/kinds.py", "--train", filepath.Join(fitDir, "train.csv"), "--out", models))
	t.Logf("training/kinds.py: %.1f s", time.Since(start).Seconds())

	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(models, kind)
			if _, err := os.Stat(filepath.Join(dir, "MLmodel")); err != nil {
				dir = filepath.Join(dir, "artifacts", "models_mlflow") // the course's layout: the preprocessor beside it
			}
			m := mlmodelRunID.FindSubmatch(readFile(t, filepath.Join(dir, "MLmodel")))
			require.NotNil(t, m, "run_id in %s/MLmodel", dir)
			runID := string(m[1])

			repo := copyRepo(t)
			require.NoError(t, os.MkdirAll(filepath.Join(repo, "build"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(repo, "build/valid.csv"), readFile(t, filepath.Join(fitDir, "valid.csv")), 0o644))
			out, err := makeIn(t, repo, "", "model", "RUN_ID="+runID, "MODEL_URI="+dir)
			require.NoError(t, err, out)
			assert.Contains(t, out, "ok  \tgithub.com/rideduration/rideduration/generated")
			e, err := export.Load(filepath.Join(repo, "testdata/model.json.zst"))
			require.NoError(t, err)
			assert.Equal(t, runID, e.Metadata.RunID)

			// The compiled model serves the original's ride as the library predicted it.
			version, duration := predictTestRide(t, repo)
			assert.Equal(t, runID, version)
			assert.Equal(t, math.Float64bits(e.Metadata.TestRidePrediction), math.Float64bits(duration),
				"the original's ride: %v, want the library's %v", duration, e.Metadata.TestRidePrediction)

			// The golden tests on arm64, under qemu.
			test := filepath.Join(repo, "build", "generated.arm64.test")
			build := exec.Command("go", "test", "-c", "-o", test, "./generated")
			build.Dir = repo
			build.Env = append(os.Environ(), "GOARCH=arm64", "CGO_ENABLED=0")
			b, err := build.CombinedOutput()
			require.NoError(t, err, "%s", b)
			golden := exec.Command(qemu, test, "-test.run", "Golden|TestRide|Keys|Thresholds")
			golden.Dir = filepath.Join(repo, "generated")
			b, err = golden.CombinedOutput()
			require.NoError(t, err, "arm64 golden tests:\n%s", b)
			assert.Contains(t, string(b), "PASS")
		})
	}
}
