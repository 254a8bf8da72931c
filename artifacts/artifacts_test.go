package artifacts_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/artifacts"
	"github.com/rideduration/rideduration/internal/testenv"
)

const (
	bucket = "mlflow-nyc-taxi-reg-exp"
	prefix = "4/def558fd38f44d8e9c4fc632668d3a47/artifacts/model"
)

func TestParse(t *testing.T) {
	for uri, want := range map[string]artifacts.Location{
		"s3://b/4/run/artifacts/model":  {Bucket: "b", Prefix: "4/run/artifacts/model"},
		"s3://b/4/run/artifacts/model/": {Bucket: "b", Prefix: "4/run/artifacts/model"},
		"mlruns/1/run/artifacts/model":  {Dir: "mlruns/1/run/artifacts/model"},
		"file:///tmp/model":             {Dir: "/tmp/model"},
	} {
		got, err := artifacts.Parse(uri)
		require.NoError(t, err, uri)
		assert.Equal(t, want, got, uri)
	}
	for _, uri := range []string{"", "s3://", "s3://bucket", "s3://bucket/", "gs://bucket/model", "file://"} {
		_, err := artifacts.Parse(uri)
		assert.Error(t, err, uri)
	}
}

// readDir returns every file under dir, by slash path.
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	}))
	return files
}

// An MLflow model directory on moto's S3, fetched whole; folder markers
// skipped, objects beside the prefix left alone.
func TestFetchS3(t *testing.T) {
	c := testenv.S3(t, testenv.Moto(t))
	model := map[string]string{"MLmodel": "flavors: {}\n", "model.pkl": "pickle bytes", "conda.yaml": "name: mlflow-env\n", "metadata/requirements.txt": "scikit-learn==1.2.1\n"}
	objects := map[string][]byte{prefix + "/": nil, prefix + "-other/MLmodel": []byte("not this one")}
	for name, body := range model {
		objects[prefix+"/"+name] = []byte(body)
	}
	testenv.PutObjects(t, c, bucket, objects)

	out := filepath.Join(t.TempDir(), "build", "model")
	require.NoError(t, os.MkdirAll(out, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(out, "stale.pkl"), []byte("from an earlier fetch"), 0o644))
	files, err := artifacts.Fetch(context.Background(), c, artifacts.Location{Bucket: bucket, Prefix: prefix}, out)
	require.NoError(t, err)
	assert.Equal(t, model, readDir(t, out), "the model directory, and nothing else")
	assert.Equal(t, []artifacts.File{{"MLmodel", 12}, {"conda.yaml", 17}, {"metadata/requirements.txt", 20}, {"model.pkl", 12}}, files)
	entries, err := os.ReadDir(filepath.Dir(out))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary directory left beside the output")
}

func TestFetchS3Errors(t *testing.T) {
	c := testenv.S3(t, testenv.Moto(t))
	testenv.PutObjects(t, c, bucket, map[string][]byte{
		"4/nomodel/artifacts/model/model.pkl":     []byte("a pickle without MLmodel"),
		"4/escape/artifacts/model/MLmodel":        []byte("flavors: {}\n"),
		"4/escape/artifacts/model/../../evil.pkl": []byte("outside"),
	})
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "model")
	require.NoError(t, os.MkdirAll(out, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(out, "MLmodel"), []byte("kept"), 0o644))

	_, err := artifacts.Fetch(ctx, c, artifacts.Location{Bucket: bucket, Prefix: prefix}, out)
	require.ErrorIs(t, err, artifacts.ErrNotFound)
	assert.EqualError(t, err, "s3://mlflow-nyc-taxi-reg-exp/"+prefix+"/MLmodel does not exist (S3 404 NoSuchKey): not found")

	_, err = artifacts.Fetch(ctx, c, artifacts.Location{Bucket: bucket, Prefix: "4/nomodel/artifacts/model"}, out)
	require.ErrorIs(t, err, artifacts.ErrNotFound, "a directory without MLmodel is no model")

	_, err = artifacts.Fetch(ctx, c, artifacts.Location{Bucket: "no-such-bucket", Prefix: prefix}, out)
	require.ErrorIs(t, err, artifacts.ErrNotFound)
	assert.ErrorContains(t, err, "bucket no-such-bucket does not exist (S3 404 NoSuchBucket)")

	_, err = artifacts.Fetch(ctx, c, artifacts.Location{Bucket: bucket, Prefix: "4/escape/artifacts/model"}, out)
	assert.ErrorContains(t, err, "4/escape/artifacts/model/../../evil.pkl: a key that would leave the model directory")

	assert.Equal(t, map[string]string{"MLmodel": "kept"}, readDir(t, out), "a failed fetch leaves the output as it was")
	_, err = os.Stat(filepath.Join(filepath.Dir(out), "evil.pkl"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestFetchLocal(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "sub"), 0o755))
	for name, body := range map[string]string{"MLmodel": "flavors: {}\n", "model.pkl": "pickle", "sub/x.txt": "x"} {
		require.NoError(t, os.WriteFile(filepath.Join(src, name), []byte(body), 0o644))
	}
	out := filepath.Join(t.TempDir(), "model")
	files, err := artifacts.Fetch(context.Background(), nil, artifacts.Location{Dir: src}, out)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"MLmodel": "flavors: {}\n", "model.pkl": "pickle", "sub/x.txt": "x"}, readDir(t, out))
	assert.Len(t, files, 3)

	_, err = artifacts.Fetch(context.Background(), nil, artifacts.Location{Dir: filepath.Join(src, "missing")}, out)
	require.ErrorIs(t, err, artifacts.ErrNotFound)
	_, err = artifacts.Fetch(context.Background(), nil, artifacts.Location{Dir: filepath.Join(src, "sub")}, out)
	require.ErrorIs(t, err, artifacts.ErrNotFound)
	assert.ErrorContains(t, err, "no MLflow model in")
}

// A location one or two levels above a model directory (the run, or its
// experiment) names the model directories found below it, on disk and on
// moto's S3 (which lists the prefix).
func TestFetchNamesModelBelow(t *testing.T) {
	src := t.TempDir()
	for _, name := range []string{"run/artifacts/model/MLmodel", "run/artifacts/model/model.pkl", "other/artifacts/model/MLmodel", "deep/a/b/c/MLmodel"} {
		require.NoError(t, os.MkdirAll(filepath.Join(src, filepath.Dir(name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(src, name), []byte("flavors: {}\n"), 0o644))
	}
	out := filepath.Join(t.TempDir(), "model")
	run := filepath.Join(src, "run")
	_, err := artifacts.Fetch(context.Background(), nil, artifacts.Location{Dir: run}, out)
	require.ErrorIs(t, err, artifacts.ErrNotFound)
	assert.EqualError(t, err, filepath.Join(run, "MLmodel")+" does not exist: no MLflow model in "+run+": not found; "+
		run+"/artifacts/model holds one: name that directory")
	_, err = artifacts.Fetch(context.Background(), nil, artifacts.Location{Dir: src}, out)
	assert.EqualError(t, err, filepath.Join(src, "MLmodel")+" does not exist: no MLflow model in "+src+": not found; 2 directories below it hold one, "+
		src+"/other/artifacts/model, "+src+"/run/artifacts/model: name one of them", "deep/a/b/c is deeper than a run's model")

	c := testenv.S3(t, testenv.Moto(t))
	run = "4/def558fd38f44d8e9c4fc632668d3a47"
	testenv.PutObjects(t, c, bucket, map[string][]byte{run + "/artifacts/model/MLmodel": []byte("flavors: {}\n"), run + "/artifacts/model/model.pkl": nil})
	_, err = artifacts.Fetch(context.Background(), c, artifacts.Location{Bucket: bucket, Prefix: run}, out)
	require.ErrorIs(t, err, artifacts.ErrNotFound)
	where := "s3://" + bucket + "/" + run
	assert.EqualError(t, err, where+"/MLmodel does not exist (S3 404 NoSuchKey): not found; "+where+"/artifacts/model holds one: name that directory")
}
