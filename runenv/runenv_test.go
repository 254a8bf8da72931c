package runenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// A run as MLflow 2.17 writes it: python_env.yaml's Python wins over the
// MLmodel's, requirements.txt pins the libraries (its comments dropped),
// MLflow's own package is not a requirement of the export.
func TestRead(t *testing.T) {
	d, err := Read("testdata/run")
	require.NoError(t, err)
	assert.Equal(t, "3.12.7", d.Python)
	assert.Equal(t, map[string]string{"cloudpickle": "3.1.0", "numpy": "2.1.2", "pandas": "2.2.3", "psutil": "6.0.0",
		"scikit-learn": "1.5.2", "scipy": "1.14.1"}, d.Packages)
	assert.Equal(t, []string{"cloudpickle==3.1.0", "numpy==2.1.2", "pandas==2.2.3", "psutil==6.0.0", "scikit-learn==1.5.2", "scipy==1.14.1"}, d.Requirements)
	assert.Equal(t, []string{"MLmodel", "python_env.yaml", "requirements.txt"}, d.Sources)
	assert.Equal(t, "0123456789abcdef0123456789abcdef", d.MLmodel["run_id"])

	// A pickle file, or a directory without an MLmodel, declares nothing.
	d, err = Read("testdata/run/requirements.txt")
	require.NoError(t, err)
	assert.Empty(t, d.Python)
	assert.Empty(t, d.Packages)
}

func TestReadRefuses(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"requirements outside the run": {"MLmodel": "flavors: {}\n", "python_env.yaml": "python: 3.12.7\ndependencies:\n- -r ../../etc/passwd\n"},
		"python not a version":         {"MLmodel": "flavors: {}\n", "python_env.yaml": "python: 3.12; rm -rf /\n"},
		"MLmodel not YAML":             {"MLmodel": "flavors: [\n"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for f, body := range files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644))
			}
			_, err := Read(dir)
			require.Error(t, err)
		})
	}
}

// Each difference that keeps the export from being the run's is named in
// its own words; those that do not are notes.
func TestCheck(t *testing.T) {
	run := &Declared{Python: "3.13.5", Packages: map[string]string{Numpy: "2.2.4", Sklearn: "1.4.2", XGBoost: "3.0.0"},
		Sources: []string{"MLmodel", "requirements.txt"}}
	debian12 := &Interpreter{Path: "/usr/bin/python3", Python: "3.11.2",
		Packages: map[string]string{Numpy: "1.24.2", Sklearn: "1.2.1", XGBoost: "1.7.4"}}
	notes, err := Check(run, debian12, false)
	assert.Empty(t, notes)
	require.Error(t, err)
	assert.Equal(t, "the run's environment is not /usr/bin/python3's: the run was saved with Python 3.13.5, numpy 2.2.4, scikit-learn 1.4.2, xgboost 3.0.0 "+
		"(its MLmodel, requirements.txt); /usr/bin/python3 has Python 3.11.2, numpy 1.24.2, scikit-learn 1.2.1, xgboost 1.7.4. "+
		"Python 3.11.2 is older than the run's Python 3.13.5, which may pickle with a protocol or name modules that an older Python does not have; "+
		"scikit-learn 1.4.2 saved the model and this is scikit-learn 1.2.1: scikit-learn does not support unpickling across versions, and the golden predictions must be the run's scikit-learn's; "+
		"xgboost 3.0.0 saved the model and this is xgboost 1.7.4, older: an xgboost cannot read what a newer one writes; "+
		"numpy 2.2.4 wrote the run's pickles and this is numpy 1.24.2: numpy 1 cannot read numpy 2's pickles (they name numpy._core). To export it, "+Ways, err.Error())

	for _, tc := range []struct {
		name     string
		run, has map[string]string
		python   string
		allow    bool
		cause    string // "" for none
		note     string
	}{
		{"the same", map[string]string{Sklearn: "1.4.2", Numpy: "2.2.4"}, map[string]string{Sklearn: "1.4.2", Numpy: "2.2.0"}, "3.13.5", false, "", ""},
		{"a numpy 1 run under numpy 2", map[string]string{Numpy: "1.26.4"}, map[string]string{Numpy: "2.2.4"}, "3.13.5", false,
			"numpy 1.26.4 wrote the run's pickles and this is numpy 2.2.4: numpy 2 reads numpy 1's pickles only through deprecated aliases (numpy.core), and the run's libraries were built for numpy 1", ""},
		{"a numpy 1 run under numpy 2, allowed", map[string]string{Numpy: "1.26.4"}, map[string]string{Numpy: "2.2.4"}, "3.13.5", true, "",
			"numpy 1.26.4 wrote the run's pickles and this is numpy 2.2.4: numpy 2 reads numpy 1's pickles only through deprecated aliases (numpy.core), and the run's libraries were built for numpy 1"},
		{"another scikit-learn, allowed", map[string]string{Sklearn: "1.2.2"}, map[string]string{Sklearn: "1.2.1"}, "3.13.5", true, "",
			"scikit-learn 1.2.2 saved the model and this is scikit-learn 1.2.1: scikit-learn does not support unpickling across versions, and the golden predictions must be the run's scikit-learn's"},
		{"a numpy 2 run under numpy 1, even allowed", map[string]string{Numpy: "2.0.0"}, map[string]string{Numpy: "1.26.4"}, "3.13.5", true,
			"numpy 2.0.0 wrote the run's pickles and this is numpy 1.26.4: numpy 1 cannot read numpy 2's pickles (they name numpy._core)", ""},
		{"a newer xgboost", map[string]string{XGBoost: "1.7.3"}, map[string]string{XGBoost: "1.7.4"}, "3.13.5", false, "",
			"xgboost 1.7.3 saved the model and this is xgboost 1.7.4: its golden predictions are this xgboost's"},
		{"an older xgboost minor", map[string]string{XGBoost: "2.1.0"}, map[string]string{XGBoost: "2.0.3"}, "3.13.5", false,
			"xgboost 2.1.0 saved the model and this is xgboost 2.0.3, older: an xgboost cannot read what a newer one writes", ""},
		{"a library missing", map[string]string{XGBoost: "3.0.0"}, map[string]string{XGBoost: ""}, "3.13.5", true,
			"the run needs xgboost 3.0.0, which this environment lacks", ""},
		{"an older Python", nil, nil, "3.12.9", false,
			"Python 3.12.9 is older than the run's Python 3.13.5, which may pickle with a protocol or name modules that an older Python does not have", ""},
		{"a newer Python", nil, nil, "3.14.0", false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			notes, err := Check(&Declared{Python: "3.13.5", Packages: tc.run}, &Interpreter{Path: "py", Python: tc.python, Packages: tc.has}, tc.allow)
			if tc.cause == "" {
				assert.NoError(t, err)
			} else {
				var m *Mismatch
				require.ErrorAs(t, err, &m)
				assert.Equal(t, []string{tc.cause}, m.Causes)
			}
			if tc.note == "" {
				assert.Empty(t, notes)
			} else {
				assert.Equal(t, []string{tc.note}, notes)
			}
		})
	}
}

// Probe reads a real interpreter's versions without importing its
// packages.
func TestProbe(t *testing.T) {
	py := testenv.Tool(t, "python3", "a python3 on PATH")
	in, err := Probe(context.Background(), py)
	require.NoError(t, err)
	assert.Regexp(t, `^3\.\d+\.\d+$`, in.Python)
	assert.Contains(t, in.Packages, Numpy)

	_, err = Probe(context.Background(), "/bin/false")
	assert.ErrorContains(t, err, "/bin/false does not run as a Python")
}

// Virtualenv builds the run's environment with a Python of the run's
// version, here this machine's Debian python3 with its packages
// (--system-site-packages) and no index (PIP_NO_INDEX=1): pip finds the
// pinned scikit-learn installed. The same requirements again reuse it.
func TestVirtualenv(t *testing.T) {
	// Debian's python3 builds a virtual environment with ensurepip, which
	// python3-venv holds.
	if err := exec.Command("/usr/bin/python3", "-c", "import ensurepip, sklearn").Run(); err != nil {
		testenv.Missing(t, "Debian's /usr/bin/python3 with python3-venv and python3-sklearn (make deps)")
	}
	host, err := Probe(context.Background(), "/usr/bin/python3")
	require.NoError(t, err)
	t.Setenv("PATH", "/usr/bin:/bin")
	t.Setenv("PIP_NO_INDEX", "1")
	d := &Declared{Python: host.Python, Requirements: []string{"scikit-learn==" + host.Packages[Sklearn]}}
	dir := t.TempDir()
	var log strings.Builder
	py, err := Virtualenv(context.Background(), d, dir, true, &log)
	require.NoError(t, err, log.String())
	in, err := Probe(context.Background(), py)
	require.NoError(t, err)
	assert.Equal(t, host.Packages[Sklearn], in.Packages[Sklearn])
	assert.Contains(t, log.String(), "env: building ")

	log.Reset()
	again, err := Virtualenv(context.Background(), d, dir, true, &log)
	require.NoError(t, err)
	assert.Equal(t, py, again)
	assert.Contains(t, log.String(), "env: reusing ")

	// No Python of the run's version.
	_, err = Virtualenv(context.Background(), &Declared{Python: "3.99.1"}, dir, true, &log)
	assert.ErrorContains(t, err, "ENV_MANAGER=virtualenv: the run was saved with Python 3.99.1, and no python3.99 is on PATH (/usr/bin/python3 is Python "+host.Python+"): install Python 3.99")

	// A requirement pip cannot find without an index.
	_, err = Virtualenv(context.Background(), &Declared{Python: host.Python, Requirements: []string{"scikit-learn==0.0.1"}}, dir, true, &log)
	assert.ErrorContains(t, err, "pip could not install the run's requirements (scikit-learn==0.0.1)")
}
