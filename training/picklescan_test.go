package training

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// pickleEnvs are the two library environments a run's pickle is read in:
// Debian 12's python3 (this machine's: Python 3.11, scikit-learn 1.2.1,
// xgboost 1.7.4, numpy 1.24) and Debian 13's (Python 3.13, scikit-learn
// 1.4.2, xgboost 3.0.0, numpy 2.2; skipped without make debian13).
var pickleEnvs = []struct {
	name    string
	version string // the Python's major.minor
	python  func(t *testing.T) string
}{
	{"debian12", "3.11", func(t *testing.T) string { needPython(t); return python }},
	{"debian13", "3.13", func(t *testing.T) string { return testenv.Debian13Python(t) }},
}

// A pickle that would run code, or import what no model is made of, is
// refused before anything in it runs, naming the file and the global; the
// marker its payload would create never appears. Plain pickle.load does run
// each live payload: the files are what they claim to be.
func TestPickleScanRefusesHostile(t *testing.T) {
	const never = ", which a model never needs: refused before loading (nothing in it ran)"
	imports := func(global string) string { return "the pickle imports " + global + never }
	for _, env := range pickleEnvs {
		t.Run(env.name, func(t *testing.T) {
			py := env.python(t)
			dir := t.TempDir()
			marker := filepath.Join(dir, "MARKER")
			run(t, py, "training/testdata/picklescan_hostile.py", dir, marker)
			for _, tc := range []struct {
				name, want string
				live       bool // plain pickle.load creates the marker
			}{
				{"os-system", imports("os.system"), true},
				{"exec", imports("builtins.exec"), true},
				{"eval", imports("builtins.eval"), true}, // protocol 2: written __builtin__.eval
				{"import", imports("builtins.__import__"), false},
				{"getattr-chain", imports("builtins.getattr"), true},
				{"dotted-name", imports("sklearn.os.system"), true},
				{"unknown-module", imports("evil.thing"), false},
				{"posix-system", imports("posix.system"), true},
				{"subprocess-popen", imports("subprocess.Popen"), true},
				{"nested-in-pipeline", imports("posix.system"), true},
				{"stack-global-memo", imports("posix.system"), true},
				{"stack-global-binput", imports("posix.system"), true},
				{"inst", imports("os.system"), true},
				{"obj", imports("os.system"), true},
				{"user-class", imports("__main__.MyTransformer"), false},
				{"numpy-load", imports("numpy.load"), false},
				{"numpy-testing", imports("numpy.testing._private.utils.runstring"), true},
				{"extension-registry", "the pickle uses the extension registry (copyreg's codes, which name no global) (EXT1 at byte 2)" + never, false},
				{"computed-name", "the pickle imports a global whose name it computes (STACK_GLOBAL at byte 46 on values that are not strings it spells out): refused before loading (nothing in it ran)", false},
				{"class-attribute", "the pickle changes sklearn._loss.link.Interval itself (BUILD at byte 49)" + never, false},
				{"computed-callable", "the pickle calls a value that is not a global it names (REDUCE at byte 26): refused before loading (nothing in it ran)", false},
				{"protocol-6", "written with pickle protocol 6; this Python (" + env.version + ") reads up to 5: use the run's Python", false},
				{"truncated", "not a whole pickle: pickle exhausted before seeing STOP: the file is truncated, corrupted or crafted: refused before loading (nothing in it ran)", false},
			} {
				t.Run(tc.name, func(t *testing.T) {
					path := filepath.Join(dir, tc.name+".pkl")
					cmd := exec.Command(py, "training/picklescan.py", "--load", path)
					cmd.Dir = ".."
					out, err := cmd.CombinedOutput()
					require.Error(t, err, "%s", out)
					assert.Equal(t, 1, testenv.ExitCode(err))
					assert.Equal(t, path+": "+tc.want+"\n", string(out))
					assert.NoFileExists(t, marker, "the pickle's payload ran")
					if !tc.live {
						return
					}
					// A Popen's child is waited for: the marker is there when pickle.load's process ends.
					control := exec.Command(py, "-c", "import pickle, sys\no = pickle.load(open(sys.argv[1], 'rb'))\ngetattr(o, 'wait', lambda: None)()", path)
					control.Dir = dir
					b, err := control.CombinedOutput()
					assert.FileExists(t, marker, "plain pickle.load runs the payload (%v):\n%s", err, b)
					require.NoError(t, os.RemoveAll(marker))
				})
			}
		})
	}
}

// pickleCases are the pickles picklescan_models.py writes in env: each kind
// kinds.py trains that env has (the course's booster as its DictVectorizer
// alone), HistGradientBoostingRegressor's other exported losses and early
// stopping.
func pickleCases(env string) []string {
	var cases []string
	for _, k := range kinds {
		if _, lacks := kindNeeds[env][k]; lacks || k == "booster-poisson" { // its pickle is a DictVectorizer, as booster's
			continue
		}
		if k == "booster" {
			k = "booster-dv"
		}
		cases = append(cases, k)
	}
	return append(cases, "hgb-absolute", "hgb-quantile", "hgb-early")
}

// pickleFormats are how each is pickled: pickle protocols 2, 4 (the
// default) and 5, and cloudpickle (MLflow's other serialization format),
// with the protocol each file must report.
var pickleFormats = map[string]int{"p2": 2, "p4": 4, "p5": 5, "cloudpickle": 5}

// Every real model of every kind, pickled each way a run pickles it, passes
// picklescan in both environments, loads through it, and predicts the rides
// bit for bit as it did before pickling.
func TestPickleScanLoadsEveryKind(t *testing.T) {
	for _, env := range pickleEnvs {
		t.Run(env.name, func(t *testing.T) {
			py := env.python(t)
			dir := t.TempDir()
			run(t, py, "training/testdata/picklescan_models.py", "write", dir)
			cmd := exec.Command(py, "training/testdata/picklescan_models.py", "load", dir)
			cmd.Dir = ".."
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			require.NoError(t, cmd.Run(), "%s", stderr.String())

			seen := map[string]bool{}
			globals := map[string]bool{}
			for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
				var r struct {
					Case, File  string
					Protocol    int
					Globals     []string
					Predictions []float64
				}
				require.NoError(t, json.Unmarshal([]byte(line), &r), line)
				seen[r.File] = true
				format := strings.TrimSuffix(strings.TrimPrefix(r.File, r.Case+"."), ".pkl")
				assert.Equal(t, pickleFormats[format], r.Protocol, "%s: its protocol", r.File)
				once := map[string]bool{}
				for _, g := range r.Globals {
					assert.False(t, once[g], "%s: %s listed twice", r.File, g)
					once[g], globals[g] = true, true
				}

				var before []float64
				require.NoError(t, json.Unmarshal(readFile(t, filepath.Join(dir, r.Case+".before.json")), &before))
				require.Len(t, r.Predictions, len(before), r.File)
				for i := range before {
					if math.Float64bits(before[i]) != math.Float64bits(r.Predictions[i]) {
						t.Errorf("%s: ride %d: %v after loading, %v before pickling", r.File, i, r.Predictions[i], before[i])
						break
					}
				}
			}
			for _, c := range pickleCases(env.name) {
				for f := range pickleFormats {
					assert.True(t, seen[c+"."+f+".pkl"], "%s.%s.pkl was not loaded", c, f)
				}
			}
			assert.Len(t, seen, len(pickleCases(env.name))*len(pickleFormats))
			names := make([]string, 0, len(globals))
			for g := range globals {
				names = append(names, g)
			}
			sort.Strings(names)
			t.Logf("%d globals: %s", len(names), strings.Join(names, ", "))
		})
	}
}
