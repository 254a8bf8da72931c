package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

const runID = "def558fd38f44d8e9c4fc632668d3a47"

// fetchmodel against moto, configured as a user would: AWS_ENDPOINT_URL.
func TestFetchmodel(t *testing.T) {
	endpoint := testenv.Moto(t)
	for _, kv := range testenv.AWSEnv(endpoint) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	model := "4/" + runID + "/artifacts/model"
	testenv.PutObjects(t, testenv.S3(t, endpoint), "mlflow-nyc-taxi-reg-exp", map[string][]byte{
		model + "/MLmodel": []byte("run_id: " + runID + "\n"), model + "/model.pkl": []byte("pickle"),
	})
	fetch := func(args ...string) (code int, stdout, stderr string) {
		var o, e bytes.Buffer
		code = run(context.Background(), args, &o, &e)
		return code, o.String(), e.String()
	}
	out := filepath.Join(t.TempDir(), runID)

	code, stdout, stderr := fetch("-run-id", runID, "-out", out, "s3://mlflow-nyc-taxi-reg-exp/"+model)
	require.Zero(t, code, stderr)
	assert.Equal(t, "fetched s3://mlflow-nyc-taxi-reg-exp/"+model+" → "+out+": MLmodel (41 B) model.pkl (6 B)\n", stdout)
	assert.Empty(t, stderr, "nothing on stderr (no SDK log lines)")

	missing := strings.Repeat("0", 32)
	code, _, stderr = fetch("-run-id", missing, "-out", out, "s3://mlflow-nyc-taxi-reg-exp/4/"+missing+"/artifacts/model")
	assert.Equal(t, 1, code)
	assert.Equal(t, "fetch: no such run "+missing+": s3://mlflow-nyc-taxi-reg-exp/4/"+missing+"/artifacts/model/MLmodel does not exist (S3 404 NoSuchKey): not found; check RUN_ID, or set MODEL_URI to where the run's model is\n", stderr)

	// MODEL_URI one level too high, the run's directory: the model below it
	// is named, and the run is not called missing.
	code, _, stderr = fetch("-run-id", runID, "-out", out, "s3://mlflow-nyc-taxi-reg-exp/4/"+runID)
	assert.Equal(t, 1, code)
	assert.Equal(t, "fetch: s3://mlflow-nyc-taxi-reg-exp/4/"+runID+"/MLmodel does not exist (S3 404 NoSuchKey): not found; s3://mlflow-nyc-taxi-reg-exp/"+model+" holds one: name that directory\n", stderr)

	code, _, stderr = fetch("-run-id", "DEF558", "-out", out, "s3://mlflow-nyc-taxi-reg-exp/4/DEF558/artifacts/model")
	assert.Equal(t, 2, code)
	assert.Equal(t, "fetch: RUN_ID=\"DEF558\": want an MLflow run id, 32 hex digits (0-9, a-f)\n", stderr)

	code, _, stderr = fetch("-out", out, "gs://bucket/model")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "fetch: \"gs://bucket/model\": want s3://bucket/path/to/model or a local directory")

	code, _, stderr = fetch("s3://b/m")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "usage: fetchmodel")

	b, err := os.ReadFile(filepath.Join(out, "model.pkl"))
	require.NoError(t, err)
	assert.Equal(t, "pickle", string(b), "failed fetches left the fetched model alone")
}

// The DictVectorizer an XGBoost run keeps beside its model: fetched for a
// model without the sklearn flavour; its absence is a note, unless it was
// named (-preprocessor); a scikit-learn pipeline needs none.
func TestFetchPreprocessor(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (code int, stdout, stderr string) {
		var o, e bytes.Buffer
		code = runMain(args, &o, &e)
		return code, o.String(), e.String()
	}
	write := func(path, content string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	xgbModel := filepath.Join(dir, "xgb", "artifacts", "models_mlflow")
	write(filepath.Join(xgbModel, "MLmodel"), "flavors:\n  python_function: {}\n  xgboost:\n    data: model.xgb\n")
	write(filepath.Join(xgbModel, "model.xgb"), "booster")
	sklearnModel := filepath.Join(dir, "sk", "artifacts", "model")
	write(filepath.Join(sklearnModel, "MLmodel"), "flavors:\n  python_function: {}\n  sklearn:\n    pickled_model: model.pkl\n")
	write(filepath.Join(dir, "sk", "artifacts", "preprocessor", "preprocessor.b"), "dv")
	out, pre := filepath.Join(dir, "out"), filepath.Join(dir, "out.preprocessor.b")

	missing := filepath.Join(dir, "xgb", "artifacts", "preprocessor", "preprocessor.b")
	code, stdout, stderr := run("-out", out, "-preprocessor-out", pre, xgbModel)
	require.Zero(t, code, stderr)
	assert.Contains(t, stdout, "no preprocessor at "+missing+" (a scikit-learn pipeline needs none)\n")
	code, _, stderr = run("-out", out, "-preprocessor", missing, "-preprocessor-out", pre, xgbModel)
	assert.Equal(t, 1, code)
	assert.Equal(t, "fetch: the preprocessor (PREPROCESSOR_URI): "+missing+" does not exist: not found\n", stderr)

	write(missing, "dv")
	code, stdout, stderr = run("-out", out, "-preprocessor-out", pre, xgbModel+"/")
	require.Zero(t, code, stderr)
	assert.Contains(t, stdout, "fetched "+missing+" → "+pre+" (2 B)\n")
	b, err := os.ReadFile(pre)
	require.NoError(t, err)
	assert.Equal(t, "dv", string(b))

	code, stdout, stderr = run("-out", out, "-preprocessor-out", pre, sklearnModel)
	require.Zero(t, code, stderr)
	assert.Contains(t, stdout, "the model is a scikit-learn pipeline, with its own DictVectorizer: no preprocessor fetched\n")
	_, err = os.Stat(pre)
	assert.ErrorIs(t, err, os.ErrNotExist, "the earlier run's preprocessor is gone")
}

func runMain(args []string, stdout, stderr *bytes.Buffer) int {
	return run(context.Background(), args, stdout, stderr)
}
