package training

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/runenv"
)

// A run saved by Debian 13's libraries, given to this machine's Python,
// is refused before anything of it is loaded, with a message naming the
// run's versions, this Python's, and the ways to run the export in the
// run's environment; nothing is changed. The same run goes through make
// model with ENV_MANAGER=virtualenv inside Debian 13: a virtual
// environment of the run's requirements.txt (MLflow's own left out), which
// pip, given no index there (PIP_NO_INDEX=1), satisfies with the packages
// Debian installed (VENV_SYSTEM_SITE_PACKAGES=1); a second export reuses
// it. The compiled HistGradientBoostingRegressor (scikit-learn 1.4's
// categorical_features='warn') serves the original's ride as scikit-learn
// 1.4.2 predicted it.
func TestRunEnvironments(t *testing.T) {
	d13 := libraryEnvs[1]
	run := testenv.Debian13Run(t)
	models := trainedKinds(t, d13)
	dir, runID := kindDir(t, models, "hgb")
	repo := newRepo(t)
	committed := readFile(t, filepath.Join(repo, "testdata/model.json.zst"))

	t.Run("refused by this machine's Python", func(t *testing.T) {
		out, err := makeIn(t, repo, "", "model", "RUN_ID="+runID, "MODEL_URI="+dir)
		require.Error(t, err)
		lines := strings.Split(out, "\n")
		assert.Contains(t, lines, "export: the run's environment is not /usr/bin/python3's: the run was saved with "+
			"Python 3.13.5, numpy 2.2.4, scikit-learn 1.4.2 (its MLmodel, python_env.yaml, requirements.txt); "+
			"/usr/bin/python3 has Python 3.11.2, numpy 1.24.2, scikit-learn 1.2.1, xgboost 1.7.4. "+
			"Python 3.11.2 is older than the run's Python 3.13.5, which may pickle with a protocol or name modules that an older Python does not have; "+
			"scikit-learn 1.4.2 saved the model and this is scikit-learn 1.2.1: scikit-learn does not support unpickling across versions, and the golden predictions must be the run's scikit-learn's; "+
			"numpy 2.2.4 wrote the run's pickles and this is numpy 1.24.2: numpy 1 cannot read numpy 2's pickles (they name numpy._core). To export it, "+runenv.Ways)
		assert.Contains(t, lines, "make model: step 2/5 export failed (RUN_ID="+runID+"): nothing was changed")
		assert.Equal(t, committed, readFile(t, filepath.Join(repo, "testdata/model.json.zst")))
	})
	if t.Failed() {
		return
	}

	// Inside Debian 13: make and the repository's Go toolchain and module
	// cache, mounted at their own paths; Debian 13's python3.13 builds the
	// environment.
	goroot := goEnv(t, "GOROOT")
	binds := strings.Join([]string{goroot, goEnv(t, "GOMODCACHE"), goEnv(t, "GOCACHE")}, ":")
	env := []string{"DEBIAN13_BIND=" + binds, "PATH=" + goroot + "/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"GOFLAGS=-mod=readonly -buildvcs=false", "GOPROXY=off", "GOTOOLCHAIN=local", "PIP_NO_INDEX=1"}
	inside := append([]string{run, "make", "--no-print-directory"}, "model", "RUN_ID="+runID, "MODEL_URI="+dir,
		"ENV_MANAGER=virtualenv", "VENV_SYSTEM_SITE_PACKAGES=1")
	out, err := runIn(t, repo, env, inside...)
	require.NoError(t, err, out)
	assert.Contains(t, out, "env: building build/venv/py3.13.5-")
	assert.Contains(t, out, "env: pip install numpy==2.2.4 scikit-learn==1.4.2 scipy==")
	assert.Contains(t, out, "bin/python3: Python 3.13.5, numpy 2.2.4, scikit-learn 1.4.2, xgboost 3.0.0\n")
	assert.Contains(t, out, "ok  \tgithub.com/rideduration/rideduration/generated")
	e, err := export.Load(filepath.Join(repo, "testdata/model.json.zst"))
	require.NoError(t, err)
	assert.Equal(t, "scikit-learn", e.Metadata.Library)
	assert.Equal(t, "1.4.2", e.Metadata.LibraryVersion)
	version, duration := predictTestRide(t, repo)
	assert.Equal(t, runID, version)
	assert.Equal(t, math.Float64bits(e.Metadata.TestRidePrediction), math.Float64bits(duration))

	out, err = runIn(t, repo, env, append([]string{run, "make", "--no-print-directory"}, "model-export", "RUN_ID="+runID,
		"ENV_MANAGER=virtualenv", "VENV_SYSTEM_SITE_PACKAGES=1")...)
	require.NoError(t, err, out)
	assert.Contains(t, out, "env: reusing build/venv/py3.13.5-")
	venvs, err := os.ReadDir(filepath.Join(repo, "build", "venv"))
	require.NoError(t, err)
	assert.Len(t, venvs, 1, "one environment for the run's requirements")
}

// goEnv is go env name of the tests' toolchain.
func goEnv(t *testing.T, name string) string {
	t.Helper()
	b, err := exec.Command(testenv.GoTool(t), "env", name).Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(b))
}

// runIn runs args in dir with more environment, and returns its output.
func runIn(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	b, err := cmd.CombinedOutput()
	t.Logf("%s: %.1f s\n%s", strings.Join(args, " "), time.Since(start).Seconds(), b)
	return string(b), err
}

// The exporter runs in the run's environment, whatever its Python from
// 3.9 on: its modules use no syntax newer than 3.9's.
func TestExporterSyntaxIsPython39(t *testing.T) {
	files, err := filepath.Glob("*.py")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out := run(t, python, append([]string{"-c", `import ast, sys
for f in sys.argv[1:]:
    ast.parse(open(f).read(), f, feature_version=(3, 9))
print(len(sys.argv) - 1, "modules")`}, prefixed("training/", files)...)...)
	assert.Contains(t, out, " modules")
}

func prefixed(dir string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = dir + n
	}
	return out
}
