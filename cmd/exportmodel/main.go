// Command exportmodel exports an MLflow run's model in the run's own
// Python environment, the second step of make model:
//
//	exportmodel -run-id <run id> -model build/mlflow/<run id> -valid build/valid.csv -out build/export/<run id> \
//	    [-preprocessor FILE] [-python PYTHON | -env-manager virtualenv [-system-site-packages]]
//
// It picks the interpreter (-python, by default the machine's python3; or,
// with -env-manager virtualenv, a virtual environment built under
// -venv-dir from the run's requirements: package runenv), checks that its
// Python, numpy, scikit-learn and xgboost are the run's, and runs
// training/export.py there, which scans the run's pickles before loading
// them and writes the export and the library's golden predictions as plain
// JSON and CSV into -out (model.json, golden.csv) and nothing else. For a
// model whose link numpy computes (export.Combine.Tabled), a second pass
// there adds the link's value at every sum the generated table can hold
// (gen.LinkSums), computed with the library's own function: the export's
// link_table. A failure leaves no -out. Errors start with "export:" and say
// what to do.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	"github.com/rideduration/rideduration/cmd/internal/check"
	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/gen"
	"github.com/rideduration/rideduration/runenv"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("exportmodel", flag.ContinueOnError)
	flags.SetOutput(stderr)
	runID := flags.String("run-id", "", "the MLflow run id (the MLmodel's must match)")
	model := flags.String("model", "", "the run's MLflow model directory (or a pickle file)")
	pre := flags.String("preprocessor", "", "the run's pickled DictVectorizer, for an XGBoost model")
	preIfExists := flags.String("preprocessor-if-exists", "", "as -preprocessor, when the file exists (make model-fetch fetches none for a scikit-learn pipeline)")
	valid := flags.String("valid", "build/valid.csv", "the validation month's prep table")
	out := flags.String("out", "", "directory to write model.json and golden.csv to (replaced)")
	python := flags.String("python", "/usr/bin/python3", "the Python to export with (ignored with -env-manager virtualenv)")
	manager := flags.String("env-manager", "local", "local: -python; virtualenv: a virtual environment built from the run's requirements")
	venvDir := flags.String("venv-dir", "build/venv", "where -env-manager virtualenv builds and keeps environments")
	site := flags.Bool("system-site-packages", false, "the virtual environment also sees the base Python's packages")
	allow := flags.Bool("allow-sklearn-mismatch", false, "go on when the run's scikit-learn or xgboost is not this one")
	exporter := flags.String("exporter", "training/export.py", "the exporter script")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if *model == "" || *out == "" || flags.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: exportmodel -model DIR -out DIR [-run-id RUN] [-preprocessor FILE] [-python PYTHON | -env-manager virtualenv]")
		return 2
	}
	if err := check.Values(*runID, "MODEL_DIR", *model, "EXPORT_DIR", *out, "PYTHON", *python); err != nil {
		fmt.Fprintln(stderr, "export:", err)
		return 2
	}
	if *preIfExists != "" && *pre == "" {
		if _, err := os.Stat(*preIfExists); err == nil {
			*pre = *preIfExists
		}
	}
	if *pre != "" {
		if err := check.Path("PREPROCESSOR", *pre); err != nil {
			fmt.Fprintln(stderr, "export:", err)
			return 2
		}
	}
	if err := exportModel(ctx, options{
		runID: *runID, model: *model, preprocessor: *pre, valid: *valid, out: *out, python: *python,
		manager: *manager, venvDir: *venvDir, systemSitePackages: *site, allowMismatch: *allow, exporter: *exporter,
	}, stdout, stderr); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) { // the exporter has said why
			fmt.Fprintln(stderr, "export:", err)
		}
		return 1
	}
	return 0
}

type options struct {
	runID, model, preprocessor, valid, out, python, manager, venvDir, exporter string
	systemSitePackages, allowMismatch                                          bool
}

func exportModel(ctx context.Context, o options, stdout, stderr io.Writer) error {
	declared, err := runenv.Read(o.model)
	if err != nil {
		return err
	}
	python := o.python
	switch o.manager {
	case "", "local":
	case "virtualenv":
		if python, err = runenv.Virtualenv(ctx, declared, o.venvDir, o.systemSitePackages, stderr); err != nil {
			return err
		}
	default:
		return fmt.Errorf("ENV_MANAGER=%s: want local (PYTHON, the default) or virtualenv", o.manager)
	}
	in, err := runenv.Probe(ctx, python)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "env: %s: Python %s, numpy %s, scikit-learn %s, xgboost %s\n", python, in.Python,
		orNone(in.Packages[runenv.Numpy]), orNone(in.Packages[runenv.Sklearn]), orNone(in.Packages[runenv.XGBoost]))
	notes, err := runenv.Check(declared, in, o.allowMismatch)
	for _, n := range notes {
		fmt.Fprintf(stderr, "export: note: %s\n", n)
	}
	if err != nil {
		return err
	}

	if err := os.RemoveAll(o.out); err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(o.out)
		}
	}()
	exportFile := filepath.Join(o.out, "model.json")
	args := []string{o.exporter, "--model", o.model, "--export", exportFile}
	if o.runID != "" {
		args = append(args, "--run-id", o.runID)
	}
	if o.preprocessor != "" {
		args = append(args, "--preprocessor", o.preprocessor)
	}
	if o.allowMismatch {
		args = append(args, "--allow-sklearn-mismatch")
	}
	if declared.MLmodel != nil {
		f, err := os.CreateTemp("", "mlmodel-*.json")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		if err := json.NewEncoder(f).Encode(declared.MLmodel); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		args = append(args, "--mlmodel-json", f.Name())
	}
	cmd := exec.CommandContext(ctx, python, append(args, "--valid", o.valid, "--golden", filepath.Join(o.out, "golden.csv"))...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return err
	}
	for _, name := range []string{"model.json", "golden.csv"} {
		if _, err := os.Stat(filepath.Join(o.out, name)); err != nil {
			return fmt.Errorf("the exporter wrote no %s", name)
		}
	}
	if err := linkTable(ctx, python, args, exportFile, stdout, stderr); err != nil {
		return err
	}
	done = true
	return nil
}

// linkTable runs the exporter's second pass for a tabled link
// (export.Combine.Tabled): it computes, with the library's own function in
// the run's environment, the link of every sum the generated table can hold
// (gen.LinkSums), and adds them to the export as its link_table. args are
// the first pass's, without its outputs. A model with any other link has no
// second pass.
func linkTable(ctx context.Context, python string, args []string, exportFile string, stdout, stderr io.Writer) error {
	e, err := loadExport(exportFile)
	if err != nil {
		return err
	}
	if !e.Combine.Tabled() {
		return nil
	}
	sums, err := gen.LinkSums(e, gen.DefaultOptions)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp("", "link-sums-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := json.NewEncoder(f).Encode(sums); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, python, append(args, "--link-sums", f.Name())...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return err
	}
	if e, err = loadExport(exportFile); err != nil {
		return err
	}
	if e.LinkTable == nil || !slices.EqualFunc(e.LinkTable.Sums, sums, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }) {
		return fmt.Errorf("the exporter's second pass wrote no link table of the %d sums asked for into %s", len(sums), exportFile)
	}
	return nil
}

// loadExport reads and checks the exporter's plain JSON.
func loadExport(path string) (*export.Ensemble, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	e, err := export.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}
