package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// GoBuild builds the main package pkg (an import path, or a directory
// relative to the test's) into a temporary directory as name and returns its
// path. env is extra environment (CGO_ENABLED=0), extra go build flags.
func GoBuild(t testing.TB, pkg, name string, env []string, extra ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	args := append([]string{"build", "-o", out}, extra...)
	cmd := exec.Command(GoTool(t), append(args, pkg)...)
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// GoTool is the go command of the toolchain running the tests: GOROOT's,
// when set, else the go first on PATH, where go test puts its own
// toolchain's bin directory. Either must be the toolchain that built the
// test binary (runtime.Version), never another go that happens to be
// installed.
func GoTool(t testing.TB) string {
	t.Helper()
	p, err := goTool()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var goTool = sync.OnceValues(findGoTool)

func findGoTool() (string, error) {
	p := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if os.Getenv("GOROOT") == "" || !fileExists(p) {
		var err error
		if p, err = exec.LookPath("go"); err != nil {
			return "", fmt.Errorf("no go command: put the toolchain's bin directory on PATH, or set GOROOT (%v)", err)
		}
	}
	out, err := exec.Command(p, "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("%s env GOVERSION: %v", p, err)
	}
	if v := strings.TrimSpace(string(out)); v != runtime.Version() {
		return "", fmt.Errorf("%s is %s, but the tests were built by %s: put that toolchain's go first on PATH, or set GOROOT to its root", p, v, runtime.Version())
	}
	return p, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// AWSCLI is the AWS CLI v2 the walkthrough's commands need
// (--cli-binary-format): Debian's awscli package. A v1 earlier on PATH
// (pyenv) lacks the flag, hence the fixed path.
const AWSCLI = "/usr/bin/aws"

// AWS runs the AWS CLI v2 against endpoint and returns its stdout.
// The endpoint is also given as --endpoint-url: Debian 12's CLI (2.9) is
// older than AWS_ENDPOINT_URL support (2.13), and would call AWS itself.
func AWS(t testing.TB, endpoint string, args ...string) []byte {
	t.Helper()
	cmd := AWSCmd(t, endpoint, args...)
	var stderr []byte
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	if err != nil {
		t.Fatalf("aws %v: %v\n%s", args, err, stderr)
	}
	return out
}

// AWSCmd is the command AWS runs (the AWS CLI v2 with args against
// endpoint, dummy credentials, no configuration files), for a test that
// looks at how it fails.
func AWSCmd(t testing.TB, endpoint string, args ...string) *exec.Cmd {
	t.Helper()
	if !fileExists(AWSCLI) {
		Missing(t, AWSCLI+", the AWS CLI v2 (apt-get install awscli: make deps)")
	}
	cmd := exec.Command(AWSCLI, append([]string{"--endpoint-url", endpoint}, args...)...)
	cmd.Env = append(os.Environ(), AWSEnv(endpoint)...)
	cmd.Env = append(cmd.Env, "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	return cmd
}

// MakeCmd is make in dir with args, with the environment plus env. An outer
// make (make test, make release) does not steer it: its -j, -n and
// variables are not passed on, nor the run it was given (RUN_ID, MODEL_URI,
// PREPROCESSOR_URI, MODEL_DIR).
func MakeCmd(dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command("make", append([]string{"--no-print-directory"}, args...)...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "RUN_ID", "MODEL_URI", "PREPROCESSOR_URI", "MODEL_DIR":
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// NeedMake skips the test without make (fails it, with CI set): a test
// that runs MakeCmd calls it first.
func NeedMake(t testing.TB) {
	t.Helper()
	Tool(t, "make", "apt-get install make")
}

// Make runs MakeCmd and returns its combined output. Without make the
// test is skipped (failed, with CI set).
func Make(t testing.TB, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	NeedMake(t)
	out, err := MakeCmd(dir, env, args...).CombinedOutput()
	return string(out), err
}

// ExitCode is the exit status of the command err came from, or -1 if it
// did not exit.
func ExitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
