// Command fetchmodel copies an MLflow run's model directory (MLmodel, the
// pickled pipeline, its environment files) from S3 or a local directory,
// the first step of make model:
//
//	fetchmodel -run-id def558fd38f44d8e9c4fc632668d3a47 -out build/mlflow/def558fd38f44d8e9c4fc632668d3a47 \
//	    s3://mlflow-nyc-taxi-reg-exp/4/def558fd38f44d8e9c4fc632668d3a47/artifacts/model
//
// Without a location (or with an empty one) it fetches the original's
// layout, ARTIFACTS/RUN_ID/artifacts/model, with -artifacts giving
// ARTIFACTS.
//
// With -preprocessor-out it also copies one file kept beside the model: the
// DictVectorizer that an XGBoost run logs apart from its booster, from
// -preprocessor, or by default from preprocessor/preprocessor.b next to the
// model's directory. A scikit-learn pipeline carries its own: for a model
// with the sklearn flavour, the default one is not fetched. A preprocessor
// the user names (-preprocessor) is fetched whatever the flavour, and its
// absence is an error; the default's is a note.
//
// S3 is reached with the SDK's standard configuration, AWS_ENDPOINT_URL
// included (moto stands in for S3 in the tests). Errors start with "fetch:"
// and say what is missing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.yaml.in/yaml/v3"

	"github.com/rideduration/rideduration/artifacts"
	"github.com/rideduration/rideduration/cmd/internal/check"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("fetchmodel", flag.ContinueOnError)
	flags.SetOutput(stderr)
	id := flags.String("run-id", "", "the MLflow run id, for the messages (checked against the MLmodel later, by export.py)")
	out := flags.String("out", "", "directory to write the model directory to (replaced)")
	artifactsURI := flags.String("artifacts", "", "s3://bucket/prefix of the run's experiment, for the default location: ARTIFACTS/RUN_ID/artifacts/model")
	pre := flags.String("preprocessor", "", "s3://bucket/key or path of the run's pickled DictVectorizer (by default, preprocessor/preprocessor.b beside the model's directory)")
	preOut := flags.String("preprocessor-out", "", "file to write the preprocessor to (replaced), if the run has one")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if *out == "" || flags.NArg() > 1 {
		fmt.Fprintln(stderr, "usage: fetchmodel -run-id ID [-artifacts s3://bucket/prefix] -out DIR [-preprocessor-out FILE [-preprocessor URI]] [s3://bucket/path/to/model|DIR]")
		return 2
	}
	uri, preRequired := flags.Arg(0), *pre != ""
	if err := check.Values(*id, "MODEL_DIR", *out); err != nil {
		fmt.Fprintf(stderr, "fetch: %v\n", err)
		return 2
	}
	if uri == "" {
		if *id == "" || *artifactsURI == "" {
			fmt.Fprintln(stderr, "fetch: MODEL_URI is empty: set it, or give RUN_ID and MLFLOW_ARTIFACTS (the experiment's s3://bucket/prefix)")
			return 2
		}
		uri = strings.TrimSuffix(*artifactsURI, "/") + "/" + *id + "/artifacts/model"
	}
	if err := check.Path("MODEL_URI", uri); err != nil {
		fmt.Fprintf(stderr, "fetch: %v\n", err)
		return 2
	}
	if *pre != "" && *preOut == "" {
		fmt.Fprintln(stderr, "fetchmodel: -preprocessor needs -preprocessor-out")
		return 2
	}
	if *preOut != "" {
		if *pre == "" {
			*pre = beside(uri, "preprocessor/preprocessor.b")
		}
		if err := check.Values("", "PREPROCESSOR_URI", *pre, "PREPROCESSOR", *preOut); err != nil {
			fmt.Fprintf(stderr, "fetch: %v\n", err)
			return 2
		}
	}
	if err := fetch(ctx, *id, uri, *out, stdout); err != nil {
		fmt.Fprintf(stderr, "fetch: %v\n", err)
		return 1
	}
	if *preOut == "" {
		return 0
	}
	if !preRequired && sklearnFlavour(filepath.Join(*out, artifacts.MLmodel)) {
		fmt.Fprintln(stdout, "the model is a scikit-learn pipeline, with its own DictVectorizer: no preprocessor fetched")
		if err := os.Remove(*preOut); err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "fetch: %v\n", err)
			return 1
		}
		return 0
	}
	if err := fetchPreprocessor(ctx, *pre, *preOut, preRequired, stdout); err != nil {
		fmt.Fprintf(stderr, "fetch: %v\n", err)
		return 1
	}
	return 0
}

// beside is name in the directory that holds the model's directory uri
// (an s3:// location or a path).
func beside(uri, name string) string {
	uri = strings.TrimRight(uri, "/")
	return uri[:strings.LastIndex(uri, "/")+1] + name
}

// sklearnFlavour reports whether the MLmodel file at path lists the sklearn
// flavour. An unreadable file is not one: export.py says what is wrong with it.
func sklearnFlavour(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var doc struct {
		Flavors map[string]any `yaml:"flavors"`
	}
	if yaml.Unmarshal(b, &doc) != nil {
		return false
	}
	_, ok := doc.Flavors["sklearn"]
	return ok
}

// fetchPreprocessor copies the preprocessor at uri to out, or removes out
// when there is none (and none is required), so that a preprocessor of an
// earlier fetch is never taken for this run's.
func fetchPreprocessor(ctx context.Context, uri, out string, required bool, stdout io.Writer) error {
	loc, err := artifacts.Parse(uri)
	if err != nil {
		return fmt.Errorf("PREPROCESSOR_URI: %w", err)
	}
	var client artifacts.S3
	if loc.Bucket != "" {
		if client, err = newS3(ctx); err != nil {
			return err
		}
	}
	f, err := artifacts.FetchFile(ctx, client, loc, out)
	if errors.Is(err, artifacts.ErrNotFound) && !required {
		fmt.Fprintf(stdout, "no preprocessor at %s (a scikit-learn pipeline needs none)\n", loc)
		if err := os.Remove(out); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("the preprocessor (PREPROCESSOR_URI): %w", err)
	}
	fmt.Fprintf(stdout, "fetched %s → %s (%d B)\n", loc, out, f.Size)
	return nil
}

func fetch(ctx context.Context, id, uri, out string, stdout io.Writer) error {
	if id != "" {
		if err := check.RunID(id); err != nil {
			return err
		}
	}
	loc, err := artifacts.Parse(uri)
	if err != nil {
		return err
	}
	var client artifacts.S3
	if loc.Bucket != "" {
		if client, err = newS3(ctx); err != nil {
			return err
		}
	}
	files, err := artifacts.Fetch(ctx, client, loc, out)
	if _, below := errors.AsType[*artifacts.ModelsBelowError](err); below {
		return err // the run is there: the location is too high
	}
	if errors.Is(err, artifacts.ErrNotFound) && id != "" {
		return fmt.Errorf("no such run %s: %w; check RUN_ID, or set MODEL_URI to where the run's model is", id, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "fetched %s → %s:", loc, out)
	for _, f := range files {
		fmt.Fprintf(stdout, " %s (%d B)", f.Name, f.Size)
	}
	fmt.Fprintln(stdout)
	return nil
}

// newS3 is an S3 client from the SDK's standard configuration. A custom
// endpoint (AWS_ENDPOINT_URL: moto, MinIO) is addressed path-style, as such
// servers expect, and may send no checksums (not worth a log line); with no
// region configured it asks us-east-1.
func newS3(ctx context.Context) (*s3.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true
			o.DisableLogOutputChecksumValidationSkipped = true
		}
	}), nil
}
