package training

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/internal/testenv"
)

// kinds are the models training/kinds.py trains, small, one of each kind a
// user brings: every estimator the generator compiles, over every form of
// the ride's features.
// xgb-gamma and booster-poisson are dart boosters with the log link, in
// each layout (inplace_predict's sum, and predict's on a DMatrix);
// hgb-poisson, hgb-gamma and the ttr kinds have a link numpy computes,
// which the exporter tables.
var kinds = []string{"dt", "rf", "et", "gb", "gb-huber", "gb-quantile", "gb-absolute", "hgb", "xgb", "booster",
	"xgb-gamma", "booster-poisson", "rf-poisson", "hgb-poisson", "hgb-gamma", "ttr-log", "ttr-log1p", "ttr-xgb"}

// kindNeeds names the kinds an environment's libraries lack, and why.
var kindNeeds = map[string]map[string]string{
	"debian12": {"hgb-gamma": "scikit-learn 1.2's HistGradientBoostingRegressor has no loss='gamma' (1.3+)"},
}

var mlmodelRunID = regexp.MustCompile(`(?m)^run_id: (\S+)$`)

// libraryEnv is a real environment of the libraries a user trains with.
type libraryEnv struct {
	name   string
	python func(testing.TB) string
}

// libraryEnvs: this machine's Debian 12 (Python 3.11, scikit-learn 1.2.1,
// xgboost 1.7.4, numpy 1.24) and Debian 13 (Python 3.13, scikit-learn
// 1.4.2, xgboost 3.0.0, numpy 2.2; make debian13).
var libraryEnvs = []libraryEnv{
	{"debian12", func(t testing.TB) string { needPython(t); return python }},
	{"debian13", testenv.Debian13Python},
}

// kindModels trains the kinds once per environment and test binary, as
// MLflow model directories: the directory of each.
var kindModels = map[string]*struct {
	once sync.Once
	dir  string
	err  error
}{"debian12": {}, "debian13": {}}

func trainedKinds(t *testing.T, env libraryEnv) string {
	t.Helper()
	fitDir, _ := trained(t)
	py := env.python(t)
	k := kindModels[env.name]
	k.once.Do(func() {
		k.dir = filepath.Join(fit.dir, "kinds-"+env.name)
		start := time.Now()
		cmd := exec.Command(py, "training/kinds.py", "--train", filepath.Join(fitDir, "train.csv"), "--out", k.dir)
		cmd.Dir = ".."
		b, err := cmd.CombinedOutput()
		if err != nil {
			k.err = err
		}
		t.Logf("%s training/kinds.py: %.1f s\n%s", env.name, time.Since(start).Seconds(), b)
	})
	require.NoError(t, k.err)
	return k.dir
}

// kindDir is kind's MLflow model directory among models, and its run id.
func kindDir(t *testing.T, models, kind string) (dir, runID string) {
	t.Helper()
	dir = filepath.Join(models, kind)
	if _, err := os.Stat(filepath.Join(dir, "MLmodel")); err != nil {
		dir = filepath.Join(dir, "artifacts", "models_mlflow") // the course's layout: the preprocessor beside it
	}
	m := mlmodelRunID.FindSubmatch(readFile(t, filepath.Join(dir, "MLmodel")))
	require.NotNil(t, m, "run_id in %s/MLmodel", dir)
	return dir, string(m[1])
}

// newRepo is a copy of the repository with the validation table the fit
// was made with, as make prep writes it: newer than its sources, so make
// does not write it again.
func newRepo(t *testing.T) string {
	t.Helper()
	fitDir, _ := trained(t)
	repo := copyRepo(t)
	require.NoError(t, os.MkdirAll(filepath.Join(repo, "build"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "build/valid.csv"), readFile(t, filepath.Join(fitDir, "valid.csv")), 0o644))
	return repo
}

// Each kind, trained in each library environment, goes the whole way a
// user's run goes: from an MLflow model directory through make model in
// that environment (PYTHON: fetch, check, export with the library's golden
// predictions, pack, generate, golden tests), to the compiled model
// predicting the original's ride through predict exactly as that library
// did; then the golden tests again, built for arm64 (the template's
// default architecture, where Go may fuse a multiply and an add) and run
// under qemu.
func TestKinds(t *testing.T) {
	qemu := testenv.Tool(t, "qemu-aarch64-static", "apt-get install qemu-user-static: make deps")
	for _, env := range libraryEnvs {
		t.Run(env.name, func(t *testing.T) {
			t.Parallel()
			models := trainedKinds(t, env)
			for _, kind := range kinds {
				t.Run(kind, func(t *testing.T) {
					if why, ok := kindNeeds[env.name][kind]; ok {
						t.Skip(why) // not a missing tool: the library has no such model
					}
					t.Parallel()
					dir, runID := kindDir(t, models, kind)
					repo := newRepo(t)
					out, err := makeIn(t, repo, "", "model", "RUN_ID="+runID, "MODEL_URI="+dir, "PYTHON="+env.python(t))
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
		})
	}
}
