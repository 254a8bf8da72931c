package training

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/export"
)

// oldObjectiveBooster trains, with Debian's xgboost, a small Booster as the
// course trains its own, objective reg:linear, and saves it in the course's
// layout (artifacts/models_mlflow, artifacts/preprocessor/preprocessor.b),
// as kinds.py saves its booster. It prints the run id.
const oldObjectiveBooster = `
import os, pickle, sys
sys.path.insert(0, "training")
import kinds, xgboost as xgb
from sklearn.feature_extraction import DictVectorizer
rides = [{"PULocationID": str(1 + i % 7), "DOLocationID": str(1 + i % 5), "trip_distance": float(i % 11)} for i in range(300)]
dv = DictVectorizer()
X = dv.fit_transform(rides)
booster = xgb.train({"objective": "reg:linear", "max_depth": 3, "seed": 42, "nthread": 1},
                    xgb.DMatrix(X, label=[float(i % 13) for i in range(300)]), num_boost_round=3)
art = os.path.join(sys.argv[1], "artifacts")
kinds.save_xgboost(os.path.join(art, "models_mlflow"), "booster-reg-linear", booster)
os.makedirs(os.path.join(art, "preprocessor"))
with open(os.path.join(art, "preprocessor", "preprocessor.b"), "wb") as f:
    pickle.dump(dv, f)
print(kinds.run_id("booster-reg-linear"))
`

// The course's booster has objective reg:linear, the old name of
// reg:squarederror: make model says so once, in its own words, and passes
// none of xgboost's deprecation warnings on, however often the model loads.
func TestMakeModelOldObjective(t *testing.T) {
	needPython(t)
	dir := t.TempDir()
	out := run(t, python, "-c", oldObjectiveBooster, dir)
	runID := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	repo := copyRepo(t)
	require.NoError(t, os.MkdirAll(filepath.Join(repo, "build"), 0o755))
	got, err := makeIn(t, repo, "", "model", "RUN_ID="+runID, "MODEL_URI="+filepath.Join(dir, "artifacts", "models_mlflow"))
	require.NoError(t, err, got)
	assert.Equal(t, 1, strings.Count(got, "check: the model's objective reg:linear is the old name of reg:squarederror, "+
		"the same squared error: it is exported as reg:squarederror\n"), got)
	assert.NotContains(t, got, "deprecated")
	assert.Contains(t, got, "ok  \tgithub.com/rideduration/rideduration/generated")
}

// objectiveKinds are kinds.py's XGBoost objectives besides TestKinds' own,
// with the xgboost major version each needs. The generated code does not
// differ for them (a float32 sum, the identity or expf): export.py's
// self-check holds each export to the library's predictions of every
// validation ride, bit for bit, and TestKinds takes the exp link and dart
// through make model.
var objectiveKinds = map[string]int{"xgb-tweedie": 1, "xgb-poisson": 1, "xgb-gamma-gbtree": 1, "xgb-squaredlog": 1,
	"xgb-pseudohuber": 1, "xgb-absolute": 1, "xgb-quantile": 2, "xgb-dart": 1}

// Each of XGBoost's regression objectives, in each environment, exports
// with its link and reproduces the library bit for bit.
func TestObjectives(t *testing.T) {
	fitDir, _ := trained(t)
	for _, env := range libraryEnvs {
		t.Run(env.name, func(t *testing.T) {
			t.Parallel()
			py := env.python(t)
			major := 1
			if env.name == "debian13" {
				major = 3
			}
			dir := t.TempDir()
			args := []string{"training/kinds.py", "--train", filepath.Join(fitDir, "train.csv"), "--out", dir}
			var names []string
			for kind, need := range objectiveKinds {
				if major >= need {
					args = append(args, "--kind", kind)
					names = append(names, kind)
				}
			}
			cmd := exec.Command(py, args...)
			cmd.Dir = ".."
			b, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", b)
			for _, kind := range names {
				out := filepath.Join(dir, kind+".json")
				cmd := exec.Command(py, "training/export.py", "--model", filepath.Join(dir, kind), "--export", out,
					"--valid", filepath.Join(fitDir, "valid.csv"))
				cmd.Dir = ".."
				b, err := cmd.CombinedOutput()
				require.NoError(t, err, "%s: %s", kind, b)
				assert.Regexp(t, `self-check: the export reproduces xgboost \S+'s predictions bit for bit \(\d+ validation rides`, string(b), kind)
				e, err := export.Decode(bytes.NewReader(readFile(t, out)))
				require.NoError(t, err, kind)
				link := ""
				switch kind {
				case "xgb-tweedie", "xgb-poisson", "xgb-gamma-gbtree":
					link = export.Exp
				}
				assert.Equal(t, link, e.Combine.Link, kind)
			}
		})
	}
}
