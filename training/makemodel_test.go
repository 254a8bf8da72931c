package training

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/golden"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/runenv"
)

// The original's MLflow run and its artifact store.
const (
	originalRun = "def558fd38f44d8e9c4fc632668d3a47"
	bucket      = "mlflow-nyc-taxi-reg-exp"
)

var runIDLine = regexp.MustCompile(`(?m)^run_id: .*$`)

func modelKey(run string) string { return "4/" + run + "/artifacts/model/" }

// copyRepo copies the module into a temporary directory, without its build
// outputs, so that make model can overwrite the export, the golden
// predictions and generated/ there: the repository's committed model is
// never touched.
func copyRepo(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "repo")
	src, err := filepath.Abs("..")
	require.NoError(t, err)
	require.NoError(t, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		switch {
		case rel == ".git" || rel == "build" || rel == "dist": // .git is a file in a worktree
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		case d.IsDir():
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		case !d.Type().IsRegular():
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
	}))
	return dst
}

// makeIn runs make in dir against the S3 at endpoint, configured as a user
// would (AWS_ENDPOINT_URL), and returns its combined output.
func makeIn(t *testing.T, dir, endpoint string, args ...string) (string, error) {
	return makeEnv(t, dir, endpoint, nil, args...)
}

// makeEnv is makeIn with more environment.
func makeEnv(t *testing.T, dir, endpoint string, env []string, args ...string) (string, error) {
	t.Helper()
	env = append(append(testenv.AWSEnv(endpoint), "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull), env...)
	start := time.Now()
	out, err := testenv.Make(t, dir, env, args...)
	t.Logf("make %s: %.1f s", strings.Join(args, " "), time.Since(start).Seconds())
	t.Logf("make %s:\n%s", strings.Join(args, " "), out)
	return out, err
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// mlflowDir is the MLflow model directory of the fixture in testdata/name,
// as S3 objects under run's key, with pickle as its model.pkl (if not nil)
// and the MLmodel's run id and edits applied.
func mlflowDir(t *testing.T, name, run string, pickle []byte, edits ...string) map[string][]byte {
	t.Helper()
	objects := map[string][]byte{}
	entries, err := os.ReadDir(filepath.Join("testdata", name))
	require.NoError(t, err)
	for _, e := range entries {
		b := readFile(t, filepath.Join("testdata", name, e.Name()))
		if e.Name() == "MLmodel" {
			s := runIDLine.ReplaceAllString(string(b), "run_id: "+run)
			for i := 0; i+1 < len(edits); i += 2 {
				require.Contains(t, s, edits[i])
				s = strings.Replace(s, edits[i], edits[i+1], 1)
			}
			b = []byte(s)
		}
		objects[modelKey(run)+e.Name()] = b
	}
	if pickle != nil {
		objects[modelKey(run)+"model.pkl"] = pickle
	}
	return objects
}

// make model RUN_ID=<the original's run>, the model served by moto's S3 in
// the original's bucket layout, on a copy of the repository: the run's
// pickle (the original's pipeline, fitted here by train.py) becomes the
// generated package, whose Version is the run id and which predicts the
// original's ride as the original did. Then the failures, each named by its
// step and cause: a missing run, a model of another flavour, a corrupted
// pickle, another estimator, another scikit-learn, golden tests failing.
func TestMakeModel(t *testing.T) {
	fitDir, _ := trained(t)
	pickle := readFile(t, filepath.Join(fitDir, "model.pkl"))
	linear := filepath.Join(t.TempDir(), "linear.pkl")
	run(t, python, "-c", `import pickle, sys
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
p = make_pipeline(DictVectorizer(), LinearRegression())
p.fit([{"PU_DO": "1_2", "trip_distance": 1.0}, {"PU_DO": "3_4", "trip_distance": 2.0}], [5.0, 9.0])
pickle.dump(p, open(sys.argv[1], "wb"))`, linear)

	const (
		missingRun   = "00000000000000000000000000000000"
		xgboostRun   = "1111111111111111111111111111111a"
		truncatedRun = "2222222222222222222222222222222b"
		linearRun    = "3333333333333333333333333333333c"
		newerRun     = "4444444444444444444444444444444d"
	)
	endpoint := testenv.Moto(t)
	c := testenv.S3(t, endpoint)
	for _, objects := range []map[string][]byte{
		mlflowDir(t, "mlflow-model", originalRun, pickle),
		mlflowDir(t, "mlflow-xgboost", xgboostRun, nil),
		mlflowDir(t, "mlflow-model", truncatedRun, pickle[:len(pickle)/2]),
		mlflowDir(t, "mlflow-model", linearRun, readFile(t, linear)),
		mlflowDir(t, "mlflow-model", newerRun, pickle, "sklearn_version: 1.2.1", "sklearn_version: 1.3.2"),
	} {
		testenv.PutObjects(t, c, bucket, objects)
	}

	repo := copyRepo(t)
	// The validation table the fit was made with, as make prep writes it:
	// newer than its sources, so make does not write it again.
	require.NoError(t, os.MkdirAll(filepath.Join(repo, "build"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "build/valid.csv"), readFile(t, filepath.Join(fitDir, "valid.csv")), 0o644))
	committed := map[string][]byte{}
	for _, f := range []string{"testdata/model.json.zst", "testdata/golden_predictions.csv.zst", "generated/model.go"} {
		committed[f] = readFile(t, filepath.Join(repo, f))
	}
	unchanged := func(t *testing.T) {
		for f, b := range committed {
			assert.True(t, bytes.Equal(b, readFile(t, filepath.Join(repo, f))), "%s changed by a failed make model", f)
		}
	}

	for _, tc := range []struct {
		name, run string
		want      []string // lines of the output
		vars      []string // more make variables
	}{
		{"missing run", missingRun, []string{
			"fetch: no such run " + missingRun + ": s3://" + bucket + "/" + modelKey(missingRun) + "MLmodel does not exist (S3 404 NoSuchKey): not found; check RUN_ID, or set MODEL_URI to where the run's model is",
			"make model: step 1/5 fetch failed (RUN_ID=" + missingRun + "): nothing was changed",
		}, nil},
		{"xgboost without its preprocessor", xgboostRun, []string{
			"no preprocessor at s3://" + bucket + "/4/" + xgboostRun + "/artifacts/preprocessor/preprocessor.b (a scikit-learn pipeline needs none)",
			"check: build/mlflow/" + xgboostRun + " is an MLflow xgboost model, which holds the trees but not the DictVectorizer that turns a ride into their columns: " +
				"give the vectorizer the run pickled (the course's artifacts/preprocessor/preprocessor.b) with --preprocessor PATH (make model: PREPROCESSOR_URI=s3://…/preprocessor.b)",
			"make model: step 2/5 export failed (RUN_ID=" + xgboostRun + "): nothing was changed",
		}, nil},
		{"preprocessor named and missing", xgboostRun, []string{
			"fetch: the preprocessor (PREPROCESSOR_URI): s3://" + bucket + "/4/" + xgboostRun + "/artifacts/dv.b does not exist (S3 404 NoSuchKey): not found",
			"make model: step 1/5 fetch failed (RUN_ID=" + xgboostRun + "): nothing was changed",
		}, []string{"PREPROCESSOR_URI=s3://" + bucket + "/4/" + xgboostRun + "/artifacts/dv.b"}},
		{"corrupted pickle", truncatedRun, []string{
			"check: build/mlflow/" + truncatedRun + "/model.pkl: not a whole pickle: …: the file is truncated, corrupted or crafted: refused before loading (nothing in it ran)",
			"make model: step 2/5 export failed (RUN_ID=" + truncatedRun + "): nothing was changed",
		}, nil},
		{"unsupported estimator", linearRun, []string{
			"check: unsupported estimator sklearn.linear_model._base.LinearRegression (in build/mlflow/" + linearRun + "/model.pkl; refused before loading, nothing in it ran): this generator compiles a fitted Pipeline(DictVectorizer, R) as make_pipeline(DictVectorizer(), R) makes, " +
				"logged with mlflow.sklearn or pickled, R one of: DecisionTreeRegressor, RandomForestRegressor, ExtraTreesRegressor, GradientBoostingRegressor (any loss; init None or 'zero'), " +
				"HistGradientBoostingRegressor (DictVectorizer(sparse=False); loss squared_error, absolute_error, quantile, poisson or gamma; no categorical features), " +
				"xgboost.XGBRegressor (booster gbtree or dart; objective reg:squarederror, reg:linear, reg:squaredlogerror, reg:pseudohubererror, reg:absoluteerror, reg:quantileerror, reg:gamma, count:poisson, reg:tweedie; no categorical splits); or an XGBoost Booster or XGBRegressor logged with mlflow.xgboost, " +
				"with its DictVectorizer pickled separately (--preprocessor, PREPROCESSOR_URI); or a TransformedTargetRegressor(regressor=Pipeline(DictVectorizer, R)), " +
				"or Pipeline(DictVectorizer, TransformedTargetRegressor(regressor=R)), with func=np.log, inverse_func=np.exp or func=np.log1p, inverse_func=np.expm1. Each regresses one output",
			"make model: step 2/5 export failed (RUN_ID=" + linearRun + "): nothing was changed",
		}, nil},
		{"sklearn version mismatch", newerRun, []string{
			"export: the run's environment is not /usr/bin/python3's: the run was saved with Python 3.9.16, scikit-learn 1.3.2 (its MLmodel, python_env.yaml, requirements.txt); " +
				"/usr/bin/python3 has Python 3.11.2, numpy 1.24.2, scikit-learn 1.2.1, xgboost 1.7.4. " +
				"scikit-learn 1.3.2 saved the model and this is scikit-learn 1.2.1: scikit-learn does not support unpickling across versions, and the golden predictions must be the run's scikit-learn's. " +
				"To export it, " + runenv.Ways,
			"make model: step 2/5 export failed (RUN_ID=" + newerRun + "): nothing was changed",
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := makeIn(t, repo, endpoint, append([]string{"model", "RUN_ID=" + tc.run}, tc.vars...)...)
			require.Error(t, err)
			for _, line := range tc.want {
				assert.True(t, hasLine(out, line), "no line %q in:\n%s", line, out)
			}
			unchanged(t)
		})
	}
	if t.Failed() {
		return
	}

	out, err := makeIn(t, repo, endpoint, "model", "RUN_ID="+originalRun)
	require.NoError(t, err)
	assert.Contains(t, out, "check: MLmodel: flavors python_function, sklearn; scikit-learn 1.2.1 (here: 1.2.1); cloudpickle; mlflow 2.1.1; created 2023-04-15 09:52:04.502385; run "+originalRun+"\n")
	assert.Contains(t, out, "RMSE on 66097 validation rides: 6.101\n")
	assert.Contains(t, out, "exported model version 4723ad0b98d26d3d636d19bb13604f1c (run "+originalRun+") to build/export/"+originalRun+"/model.json; test ride: 18.321633541366506 min\n")
	assert.Contains(t, out, "packmodel: model "+originalRun+" (scikit-learn 1.2.1, 100 trees) to testdata/model.json.zst, its golden predictions to testdata/golden_predictions.csv.zst\n")
	assert.Contains(t, out, "ok  \tgithub.com/rideduration/rideduration/generated")
	assert.Contains(t, out, "make model: model of run "+originalRun+" exported, generated (Version "+originalRun+") and golden-tested")
	assert.Contains(t, string(readFile(t, filepath.Join(repo, "generated/model.go"))), `Version = "`+originalRun+`"`)
	assert.Equal(t, committed["testdata/golden_predictions.csv.zst"], readFile(t, filepath.Join(repo, "testdata/golden_predictions.csv.zst")),
		"the run's model is the original's: the same golden predictions")

	// The compiled model, as the function and the batch job serve it:
	// RUN_ID unset, the events carry the run id.
	version, duration := predictTestRide(t, repo)
	assert.Equal(t, originalRun, version)
	assert.Equal(t, math.Float64bits(golden.TestRide.Prediction), math.Float64bits(duration),
		"the original's ride: %v, want 18.321633541366506", duration)

	// Golden tests failing. No model makes the generated code disagree
	// with sklearn (that is what the tests prove), so the fault is
	// injected: one golden prediction one bit off, then the step make
	// model ends with, as make model runs it.
	t.Run("golden tests failing", func(t *testing.T) {
		path := filepath.Join(repo, "testdata/golden_predictions.csv.zst")
		rows := strings.SplitN(string(zstdDecode(t, readFile(t, path))), "\n", 3)
		f := strings.Split(rows[1], ",")
		p, err := strconv.ParseFloat(f[3], 64)
		require.NoError(t, err)
		f[3] = strconv.FormatFloat(math.Float64frombits(math.Float64bits(p)^1), 'g', -1, 64)
		rows[1] = strings.Join(f, ",")
		require.NoError(t, os.WriteFile(path, zstdEncode(t, []byte(strings.Join(rows, "\n"))), 0o644))
		// Only the golden test that reads the file (GOFLAGS reaches go test):
		// the whole package ran above.
		out, err := makeEnv(t, repo, endpoint, []string{"GOFLAGS=-run=^TestPredictGolden$"}, "model-test", "RUN_ID="+originalRun)
		require.Error(t, err)
		assert.Contains(t, out, "--- FAIL: TestPredictGolden")
		assert.Contains(t, strings.Split(out, "\n"), "make model: step 5/5 test failed (RUN_ID="+originalRun+"): the generated code does not reproduce the library's predictions: "+
			"do not release it; testdata/, generated/ and cmd/predict/training_month.json hold the new model: git checkout -- testdata generated cmd/predict/training_month.json restores the committed one")
	})

	for f, b := range map[string]string{"../testdata/model.json.zst": "testdata/model.json.zst", "../generated/model.go": "generated/model.go"} {
		assert.Equal(t, committed[b], readFile(t, f), "the repository's own %s is untouched", b)
	}
}

// hasLine reports whether out has the line want, in which "…" stands for
// any text.
func hasLine(out, want string) bool {
	before, after, wild := strings.Cut(want, "…")
	for _, line := range strings.Split(out, "\n") {
		if line == want || wild && len(line) >= len(before)+len(after) && strings.HasPrefix(line, before) && strings.HasSuffix(line, after) {
			return true
		}
	}
	return false
}

// predictTestRide sends the original's ride through go run ./cmd/predict in
// repo, RUN_ID unset, and returns the prediction event's version and duration.
func predictTestRide(t *testing.T, repo string) (version string, duration float64) {
	t.Helper()
	ride := exec.Command("go", "run", "./cmd/predict")
	ride.Dir = repo
	ride.Env = append(os.Environ(), "RUN_ID=")
	ride.Stdin = strings.NewReader(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}` + "\n")
	start := time.Now()
	b, err := ride.Output()
	t.Logf("go run ./cmd/predict: %.1f s", time.Since(start).Seconds())
	require.NoError(t, err)
	var event struct {
		Version    string
		Prediction struct {
			RideDuration float64 `json:"ride_duration"`
		}
	}
	require.NoError(t, json.Unmarshal(b, &event), "%s", b)
	return event.Version, event.Prediction.RideDuration
}

func zstdDecode(t *testing.T, b []byte) []byte {
	t.Helper()
	d, err := zstd.NewReader(nil)
	require.NoError(t, err)
	defer d.Close()
	out, err := d.DecodeAll(b, nil)
	require.NoError(t, err)
	return out
}

func zstdEncode(t *testing.T, b []byte) []byte {
	t.Helper()
	e, err := zstd.NewWriter(nil)
	require.NoError(t, err)
	return e.EncodeAll(b, nil)
}

// A pickle records the scikit-learn version of each estimator in it: a
// pickle file from another version (no MLmodel to say so) is a mismatch
// too, unless allowed; --run-id goes into the export's metadata.
func TestExportChecksPickledVersion(t *testing.T) {
	dir := t.TempDir()
	pkl := filepath.Join(dir, "older.pkl")
	run(t, python, "-c", `import pickle, sys
from sklearn.ensemble import RandomForestRegressor
from sklearn.feature_extraction import DictVectorizer
from sklearn.pipeline import make_pipeline
p = make_pipeline(DictVectorizer(), RandomForestRegressor(n_estimators=2, random_state=0))
p.fit([{"PU_DO": "1_2", "trip_distance": 1.0}, {"PU_DO": "3_4", "trip_distance": 2.0}], [5.0, 9.0])
b = pickle.dumps(p)
assert b"1.2.1" in b  # each estimator's _sklearn_version (pickle memoizes the string)
open(sys.argv[1], "wb").write(b.replace(b"1.2.1", b"1.0.2"))`, pkl)
	export := filepath.Join(dir, "model.json")

	cmd := exec.Command(python, "training/export.py", "--model", pkl, "--export", export)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "%s", out)
	assert.Contains(t, string(out), "check: version mismatch: the model was saved with scikit-learn 1.0.2 (recorded in older.pkl); this machine has 1.2.1.")
	_, err = os.Stat(export)
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing exported")

	got := run(t, python, "training/export.py", "--model", pkl, "--export", export, "--allow-sklearn-mismatch", "--run-id", originalRun)
	assert.Contains(t, got, "check: warning: the model was saved with scikit-learn 1.0.2 (recorded in older.pkl); this machine has 1.2.1: going on (ALLOW_SKLEARN_MISMATCH)")
	var doc struct {
		Metadata struct {
			RunID string `json:"run_id"`
		}
	}
	require.NoError(t, json.Unmarshal(readFile(t, export), &doc))
	assert.Equal(t, originalRun, doc.Metadata.RunID)
}
