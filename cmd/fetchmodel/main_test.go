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

	code, _, stderr = fetch("-run-id", "DEF558", "-out", out, "s3://mlflow-nyc-taxi-reg-exp/4/DEF558/artifacts/model")
	assert.Equal(t, 1, code)
	assert.Equal(t, "fetch: RUN_ID \"DEF558\" is not an MLflow run id (32 lowercase hex digits)\n", stderr)

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
