package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ReadmeEndpoint is the local Kinesis of the README's walkthrough (make local).
const ReadmeEndpoint = "http://127.0.0.1:5000"

// Root is the repository's root directory: the one holding go.mod, above
// the test's package directory.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for !fileExists(filepath.Join(dir, "go.mod")) {
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
	return dir
}

// ReadmeBlock returns the fenced code block that follows marker in the
// repository's README.md.
func ReadmeBlock(t testing.TB, marker string) string {
	t.Helper()
	return DocBlock(t, "README.md", marker)
}

// DocBlock returns the fenced code block that follows marker in file, a
// Markdown file named from the repository's root (docs/deploy.md).
func DocBlock(t testing.TB, file, marker string) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(Root(t), filepath.FromSlash(file)))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(text, []byte(marker))
	if i < 0 {
		t.Fatalf("%s has no %q", file, marker)
	}
	m := regexp.MustCompile("(?s)```[a-z]*\n(.*?)```").FindSubmatch(text[i:])
	if m == nil {
		t.Fatalf("%s: no code block after %q", file, marker)
	}
	return string(m[1])
}

// Shell runs a block of the docs with bash, as a user would paste it, from the
// repository's root: the AWS CLI v2 first on PATH, configured for the local
// Kinesis at endpoint with text output (the original's `aws configure`),
// the README's endpoint replaced by endpoint. env comes last, so it wins.
// It returns what the block printed on stdout.
func Shell(t testing.TB, endpoint, script string, env ...string) string {
	t.Helper()
	bin := t.TempDir()
	if err := os.Symlink(AWSCLI, filepath.Join(bin, "aws")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", strings.ReplaceAll(script, ReadmeEndpoint, endpoint))
	cmd.Dir = Root(t)
	cmd.Env = append(os.Environ(), AWSEnv(endpoint)...)
	cmd.Env = append(cmd.Env, "PATH="+bin+":"+os.Getenv("PATH"), "AWS_DEFAULT_OUTPUT=text", "AWS_PAGER=",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash: %v\n%s\nstderr:\n%s", err, script, stderr.String())
	}
	return string(out)
}
