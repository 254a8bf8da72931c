package training

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
