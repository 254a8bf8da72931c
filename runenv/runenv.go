// Package runenv finds the Python environment an MLflow run's model must be
// exported in: the one it was saved with. A scikit-learn pickle loads, and
// predicts as the run did, only under the scikit-learn that wrote it; numpy
// 1 cannot read numpy 2's pickles; an older xgboost cannot read a newer
// one's model file; and the golden predictions the compiled model is held
// to must be the run's library's own.
//
// Read takes what the run declares (its MLmodel, python_env.yaml and
// requirements.txt), Probe what an interpreter has, and Check compares the
// two: each difference that matters is named in the user's words, with the
// ways to run the export in the run's environment. Virtualenv builds that
// environment from the run's requirements, as MLflow's own
// `--env-manager virtualenv` does.
package runenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The packages whose versions decide whether a run's model loads and
// predicts as it did, by their names on the package index.
const (
	Sklearn = "scikit-learn"
	XGBoost = "xgboost"
	Numpy   = "numpy"
)

// Declared is what a run says of its environment.
type Declared struct {
	// Python is the run's Python version (python_env.yaml's python, else
	// the MLmodel's python_function.python_version), "" if unknown.
	Python string
	// Packages are the versions the run pins, by index name (lower case):
	// requirements.txt's name==version lines, and the MLmodel's
	// sklearn_version and xgb_version, which win over them.
	Packages map[string]string
	// Requirements are the requirements.txt lines a virtual environment
	// installs: all but MLflow's own packages (the export reads the run's
	// files itself), comments and blank lines.
	Requirements []string
	// MLmodel is the MLmodel document, for the exporter (which reads it as
	// JSON: PyYAML is not in every run's environment).
	MLmodel map[string]any
	// Sources names the files read, for messages.
	Sources []string
}

// Read reads what the MLflow model directory dir declares. A directory
// without an MLmodel file, or a model file, declares nothing.
func Read(dir string) (*Declared, error) {
	d := &Declared{Packages: map[string]string{}}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return d, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "MLmodel"))
	if errors.Is(err, os.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(b, &d.MLmodel); err != nil {
		return nil, fmt.Errorf("%s: not YAML: %w", filepath.Join(dir, "MLmodel"), err)
	}
	d.Sources = append(d.Sources, "MLmodel")
	flavors, _ := d.MLmodel["flavors"].(map[string]any)
	if pf, ok := flavors["python_function"].(map[string]any); ok {
		d.Python = scalar(pf["python_version"])
	}

	reqFile := "requirements.txt"
	if b, err := os.ReadFile(filepath.Join(dir, "python_env.yaml")); err == nil {
		var env struct {
			Python       any      `yaml:"python"`
			Dependencies []string `yaml:"dependencies"`
		}
		if err := yaml.Unmarshal(b, &env); err != nil {
			return nil, fmt.Errorf("%s: not YAML: %w", filepath.Join(dir, "python_env.yaml"), err)
		}
		d.Sources = append(d.Sources, "python_env.yaml")
		if v := scalar(env.Python); v != "" {
			d.Python = v
		}
		for _, dep := range env.Dependencies {
			if f, ok := strings.CutPrefix(strings.TrimSpace(dep), "-r "); ok {
				reqFile = strings.TrimSpace(f)
			} else {
				d.add(dep)
			}
		}
	}
	if reqFile != filepath.Base(reqFile) {
		return nil, fmt.Errorf("%s: requirements file %q is not a file of the model directory", filepath.Join(dir, "python_env.yaml"), reqFile)
	}
	f, err := os.Open(filepath.Join(dir, reqFile))
	if err == nil {
		defer f.Close()
		d.Sources = append(d.Sources, reqFile)
		s := bufio.NewScanner(f)
		for s.Scan() {
			d.add(s.Text())
		}
		if err := s.Err(); err != nil {
			return nil, err
		}
	}
	// The flavour's own record of the library that saved the model wins
	// over requirements.txt's pin.
	if sk, ok := flavors["sklearn"].(map[string]any); ok && scalar(sk["sklearn_version"]) != "" {
		d.Packages[Sklearn] = scalar(sk["sklearn_version"])
	}
	if xg, ok := flavors["xgboost"].(map[string]any); ok && scalar(xg["xgb_version"]) != "" {
		d.Packages[XGBoost] = scalar(xg["xgb_version"])
	}
	if d.Python != "" && !versionForm.MatchString(d.Python) {
		return nil, fmt.Errorf("the run's Python version %q (%s) is not a version", d.Python, strings.Join(d.Sources, ", "))
	}
	return d, nil
}

var (
	versionForm = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)
	// requirement is a requirements.txt line as MLflow writes them: a name,
	// extras, and an exact pin or none.
	requirement = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(?:==\s*([^\s;#]+))?`)
	// separators are what PEP 503 treats as one.
	separators = regexp.MustCompile(`[-_.]+`)
	// mlflowPackages are MLflow's own: the export does not need them.
	mlflowPackages = map[string]bool{"mlflow": true, "mlflow-skinny": true}
)

// add takes one requirements line.
func (d *Declared) add(line string) {
	line = strings.TrimSpace(line)
	if i := strings.Index(line, " #"); i >= 0 {
		line = strings.TrimSpace(line[:i])
	}
	if line == "" || strings.HasPrefix(line, "#") {
		return
	}
	m := requirement.FindStringSubmatch(line)
	if m == nil {
		d.Requirements = append(d.Requirements, line)
		return
	}
	name := normalize(m[1])
	if mlflowPackages[name] {
		return
	}
	d.Requirements = append(d.Requirements, line)
	if m[3] != "" {
		d.Packages[name] = m[3]
	}
}

// normalize is a package's index name as PEP 503 compares them.
func normalize(name string) string {
	return strings.ToLower(separators.ReplaceAllString(name, "-"))
}

func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v)
	case int, float64:
		return fmt.Sprint(v)
	}
	return ""
}

// Interpreter is what a Python has.
type Interpreter struct {
	Path   string
	Python string
	// Packages are the installed versions of Sklearn, XGBoost and Numpy
	// ("" when not installed).
	Packages map[string]string
}

// probe prints the interpreter's version and its packages', read from
// their installed metadata: no package is imported.
const probe = `import json, sys
try:
    from importlib.metadata import version, PackageNotFoundError
except ImportError:
    version = None
out = {"python": "%d.%d.%d" % sys.version_info[:3]}
for name in sys.argv[1:]:
    try:
        out[name] = version(name) if version else ""
    except PackageNotFoundError:
        out[name] = ""
print(json.dumps(out))
`

// Probe runs python to read its versions.
func Probe(ctx context.Context, python string) (*Interpreter, error) {
	cmd := exec.CommandContext(ctx, python, "-I", "-c", probe, Sklearn, XGBoost, Numpy)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s does not run as a Python: %v %s", python, err, strings.TrimSpace(stderr.String()))
	}
	var v map[string]string
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("%s: reading its versions: %v (%q)", python, err, out)
	}
	in := &Interpreter{Path: python, Python: v["python"], Packages: map[string]string{}}
	for _, p := range []string{Sklearn, XGBoost, Numpy} {
		in.Packages[p] = v[p]
	}
	return in, nil
}

// Ways says how to run the export in the run's environment.
const Ways = "run it in the run's environment: make model PYTHON=<its python3> (an interpreter with the run's " +
	"versions, such as the virtual environment it was trained in), or make model ENV_MANAGER=virtualenv (a virtual " +
	"environment built under build/venv from the run's requirements.txt with pip; docs/model.md, \"The run's environment\")"

// Mismatch is a run whose environment is not the interpreter's.
type Mismatch struct {
	Declared    *Declared
	Interpreter *Interpreter
	// Causes are the differences that keep the export from being the
	// run's, each in its own words.
	Causes []string
}

func (m *Mismatch) Error() string {
	return fmt.Sprintf("the run's environment is not %s's: the run was saved with %s (its %s); %s has %s. %s. To export it, %s",
		m.Interpreter.Path, describe(m.Declared.Python, m.Declared.Packages, true), strings.Join(m.Declared.Sources, ", "),
		m.Interpreter.Path, describe(m.Interpreter.Python, m.Interpreter.Packages, false), strings.Join(m.Causes, "; "), Ways)
}

func describe(python string, pkgs map[string]string, declaredOnly bool) string {
	var parts []string
	if python != "" {
		parts = append(parts, "Python "+python)
	}
	for _, p := range []string{Numpy, Sklearn, XGBoost} {
		switch v, ok := pkgs[p]; {
		case v != "":
			parts = append(parts, p+" "+v)
		case ok && !declaredOnly:
			parts = append(parts, "no "+p)
		}
	}
	if len(parts) == 0 {
		return "no versions recorded"
	}
	return strings.Join(parts, ", ")
}

// Check compares what the run declares with what the interpreter has. It
// returns a *Mismatch naming each difference that keeps the export from
// being the run's: another scikit-learn, an older xgboost, another numpy
// major version, a library the run needs and the interpreter lacks, or a
// Python older than the run's; and notes on differences that do not: a
// newer xgboost, or another patch release of it (its model files are
// read by later versions). With allowLibraryMismatch
// (ALLOW_SKLEARN_MISMATCH), another scikit-learn, and a numpy 2 reading a
// numpy 1 run, are notes instead.
func Check(d *Declared, in *Interpreter, allowLibraryMismatch bool) (notes []string, err error) {
	m := &Mismatch{Declared: d, Interpreter: in}
	soft := func(s string) {
		if allowLibraryMismatch {
			notes = append(notes, s)
		} else {
			m.Causes = append(m.Causes, s)
		}
	}
	if d.Python != "" && less(in.Python, d.Python, 2) {
		m.Causes = append(m.Causes, fmt.Sprintf("Python %s is older than the run's Python %s, which may pickle with a protocol or name modules that an older Python does not have", in.Python, d.Python))
	}
	for _, p := range []string{Sklearn, XGBoost} {
		want, have := d.Packages[p], in.Packages[p]
		switch {
		case want == "" || want == have:
		case have == "":
			m.Causes = append(m.Causes, fmt.Sprintf("the run needs %s %s, which this environment lacks", p, want))
		case p == Sklearn:
			soft(fmt.Sprintf("scikit-learn %s saved the model and this is scikit-learn %s: scikit-learn does not support unpickling across versions, and the golden predictions must be the run's scikit-learn's", want, have))
		case less(have, want, 2):
			m.Causes = append(m.Causes, fmt.Sprintf("xgboost %s saved the model and this is xgboost %s, older: an xgboost cannot read what a newer one writes", want, have))
		default:
			notes = append(notes, fmt.Sprintf("xgboost %s saved the model and this is xgboost %s: its golden predictions are this xgboost's", want, have))
		}
	}
	if want, have := major(d.Packages[Numpy]), major(in.Packages[Numpy]); want != "" && have != "" && want != have {
		if less(have, want, 1) {
			m.Causes = append(m.Causes, fmt.Sprintf("numpy %s wrote the run's pickles and this is numpy %s: numpy 1 cannot read numpy 2's pickles (they name numpy._core)", d.Packages[Numpy], in.Packages[Numpy]))
		} else {
			soft(fmt.Sprintf("numpy %s wrote the run's pickles and this is numpy %s: numpy 2 reads numpy 1's pickles only through deprecated aliases (numpy.core), and the run's libraries were built for numpy 1", d.Packages[Numpy], in.Packages[Numpy]))
		}
	}
	if len(m.Causes) > 0 {
		return notes, m
	}
	return notes, nil
}

// major is a version's first number, "" if none.
func major(v string) string {
	if v == "" {
		return ""
	}
	return strings.SplitN(v, ".", 2)[0]
}

// less reports whether version a is below b in their first n numbers.
func less(a, b string, n int) bool {
	pa, pb := numbers(a, n), numbers(b, n)
	for i := range n {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return false
}

func numbers(v string, n int) []int {
	out := make([]int, n)
	for i, part := range strings.SplitN(v, ".", n+1) {
		if i == n {
			break
		}
		digits := part
		for j, r := range part {
			if r < '0' || r > '9' {
				digits = part[:j]
				break
			}
		}
		out[i], _ = strconv.Atoi(digits)
	}
	return out
}

// sortedRequirements is the requirements in a stable order, for the
// environment's key.
func sortedRequirements(reqs []string) []string {
	out := append([]string(nil), reqs...)
	sort.Strings(out)
	return out
}
