package runenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Virtualenv returns the python3 of a virtual environment under dir built
// for the run: a Python of the run's version (python3.X on PATH, or
// python3 if it is that version) makes it with `-m venv`, and its pip
// installs the run's Requirements. pip reads its own configuration and
// environment (PIP_INDEX_URL, PIP_NO_INDEX, …); with systemSitePackages the
// environment also sees the base Python's packages, so that pip finds a
// requirement already installed there. An environment is built once per
// Python and requirements, and reused when the same ones come again: its
// directory's name is their hash, and it counts only once its marker file
// is written, after pip succeeded. Progress goes to log.
func Virtualenv(ctx context.Context, d *Declared, dir string, systemSitePackages bool, log io.Writer) (string, error) {
	if d.Python == "" {
		return "", errors.New("ENV_MANAGER=virtualenv: the run records no Python version (python_env.yaml's python, or the MLmodel's python_version): set PYTHON=<a python3 with the run's libraries> instead")
	}
	base, err := findPython(ctx, d.Python)
	if err != nil {
		return "", err
	}
	key := struct {
		Python             string   `json:"python"`
		Base               string   `json:"base"`
		Requirements       []string `json:"requirements"`
		SystemSitePackages bool     `json:"system_site_packages"`
	}{base.Python, base.Path, sortedRequirements(d.Requirements), systemSitePackages}
	keyJSON, _ := json.Marshal(key)
	sum := sha256.Sum256(keyJSON)
	env := filepath.Join(dir, "py"+base.Python+"-"+hex.EncodeToString(sum[:])[:16])
	python := filepath.Join(env, "bin", "python3")
	marker := filepath.Join(env, ".rideduration-env.json")
	if b, err := os.ReadFile(marker); err == nil && string(b) == string(keyJSON) {
		fmt.Fprintf(log, "env: reusing %s (Python %s; %s)\n", env, base.Python, strings.Join(d.Requirements, " "))
		return python, nil
	}
	if err := os.RemoveAll(env); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	args := []string{"-m", "venv"}
	if systemSitePackages {
		args = append(args, "--system-site-packages")
	}
	fmt.Fprintf(log, "env: building %s with %s (Python %s)\n", env, base.Path, base.Python)
	if err := runLogged(ctx, log, base.Path, append(args, env)...); err != nil {
		return "", fmt.Errorf("%s -m venv %s: %w (Debian and Ubuntu: apt-get install python3-venv)", base.Path, env, err)
	}
	reqs := filepath.Join(env, "requirements.txt")
	if err := os.WriteFile(reqs, []byte(strings.Join(d.Requirements, "\n")+"\n"), 0o644); err != nil {
		return "", err
	}
	if len(d.Requirements) > 0 {
		fmt.Fprintf(log, "env: pip install %s\n", strings.Join(d.Requirements, " "))
		if err := runLogged(ctx, log, python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-r", reqs); err != nil {
			return "", fmt.Errorf("pip could not install the run's requirements (%s) into %s: %w: pip needs a package index (PIP_INDEX_URL), or, with PIP_NO_INDEX=1, the packages already installed for the base Python and VENV_SYSTEM_SITE_PACKAGES=1; or set PYTHON=<a python3 with the run's libraries>", strings.Join(d.Requirements, " "), env, err)
		}
	}
	if err := os.WriteFile(marker, keyJSON, 0o644); err != nil {
		return "", err
	}
	return python, nil
}

// findPython finds a Python of version want's major.minor: python3.X on
// PATH, else python3.
func findPython(ctx context.Context, want string) (*Interpreter, error) {
	parts := strings.SplitN(want, ".", 3)
	if len(parts) < 2 {
		return nil, fmt.Errorf("the run's Python version %q has no minor version", want)
	}
	minor := parts[0] + "." + parts[1]
	var tried []string
	for _, name := range []string{"python" + minor, "python3"} {
		p, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		in, err := Probe(ctx, p)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		if strings.HasPrefix(in.Python+".", minor+".") {
			return in, nil
		}
		tried = append(tried, p+" is Python "+in.Python)
	}
	msg := fmt.Sprintf("ENV_MANAGER=virtualenv: the run was saved with Python %s, and no python%s is on PATH", want, minor)
	if len(tried) > 0 {
		msg += " (" + strings.Join(tried, "; ") + ")"
	}
	return nil, fmt.Errorf("%s: install Python %s (pyenv install %s, or the system's python%s package) and put it on PATH, or set PYTHON=<a python3 with the run's libraries>", msg, minor, minor, minor)
}

func runLogged(ctx context.Context, log io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	return cmd.Run()
}
