package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Debian13Python is the python3 of the Debian 13 environment make debian13
// builds under the repository's build/debian13 (Python 3.13, scikit-learn
// 1.4.2, xgboost 3.0.0, numpy 2.2): a wrapper that runs it inside that
// chroot, with the current directory and the temporary directories mounted
// at their own paths, so that it takes the same file names as the host's
// python3. Without it the test skips, naming make debian13; with CI set it
// fails instead.
func Debian13Python(t testing.TB) string {
	t.Helper()
	p := filepath.Join(Root(t), "build", "debian13", "bin", "python3")
	if _, err := os.Stat(p); err != nil {
		Missing(t, "the Debian 13 environment (make debian13, as root: debootstrap, about 4 minutes)")
	}
	return p
}

// Debian13Run is Debian13Python's sibling that runs any command of the
// Debian 13 environment: bin/run CMD ARGS.
func Debian13Run(t testing.TB) string {
	t.Helper()
	return filepath.Join(filepath.Dir(Debian13Python(t)), "run")
}

// Tool is the path of the command name on PATH. A test that needs a tool
// this machine lacks skips, naming it and how to install it; with CI set
// (as .ci/run and GitHub Actions set it) it fails instead: CI installs
// every tool (x/tools' internal/testenv convention).
func Tool(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" ("+install+")")
	}
	return p
}

// Missing skips the test for want, a tool or environment this machine
// lacks; with CI set it fails the test instead.
func Missing(t testing.TB, want string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("needs %s; CI must install it", want)
	}
	t.Skipf("needs %s", want)
}
