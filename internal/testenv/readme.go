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
	env = append(append(AWSEnv(endpoint), "AWS_DEFAULT_OUTPUT=text"), env...)
	return shell(t, endpoint, script, bin+string(filepath.ListSeparator)+os.Getenv("PATH"), env)
}

// SecondTerminal runs script as the README's walkthrough has it pasted
// into a second terminal: with bash, in a shell whose first aws is an AWS
// CLI v1 (pyenv puts its shim first on this machine's login PATH), after the
// README's export line (the block after "<!-- walkthrough: other terminal
// -->"), which must put the v2 first itself. Only the endpoint (the README's
// replaced by endpoint) and the AWS CLI's configuration files (none) are the
// test's. It returns what the script printed on stdout.
func SecondTerminal(t testing.TB, endpoint, script string) string {
	t.Helper()
	if !fileExists(AWSCLI) {
		Missing(t, AWSCLI+", the AWS CLI v2 (apt-get install awscli: make deps)")
	}
	path := awsV1Dir(t) + string(filepath.ListSeparator) + os.Getenv("PATH")
	return shell(t, endpoint, ReadmeBlock(t, "<!-- walkthrough: other terminal -->")+script, path, nil)
}

// awsV1Dir is a directory whose aws is an AWS CLI v1: the directory of
// the first v1 on PATH (pyenv's shims), or, on a machine without one (CI
// installs v2 only, and has no PyPI), a script that answers as v1 does to
// the walkthrough's flag, the one fault that tells the two apart.
func awsV1Dir(t testing.TB) string {
	t.Helper()
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		aws := filepath.Join(dir, "aws")
		if !fileExists(aws) {
			continue
		}
		if out, _ := exec.Command(aws, "--version").CombinedOutput(); bytes.HasPrefix(out, []byte("aws-cli/1.")) {
			return dir
		}
	}
	dir := t.TempDir()
	v1 := "#!/bin/sh\n" +
		`case "$*" in *--version*) echo 'aws-cli/1.45.11 Python/3.11.7 Linux botocore/1.43.11'; exit 0;; esac` + "\n" +
		`case "$*" in *--cli-binary-format*) echo 'Unknown options: --cli-binary-format, raw-in-base64-out' >&2; exit 255;; esac` + "\n" +
		"echo 'aws: an AWS CLI v1 stands first on PATH' >&2; exit 255\n"
	if err := os.WriteFile(filepath.Join(dir, "aws"), []byte(v1), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shell runs script with bash -euo pipefail from the repository's root,
// with path as PATH, the README's endpoint replaced by endpoint, no AWS CLI
// configuration files and no pager, and env last. It fails the test if the
// script fails, and returns what it printed on stdout.
func shell(t testing.TB, endpoint, script, path string, env []string) string {
	t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", strings.ReplaceAll(script, ReadmeEndpoint, endpoint))
	cmd.Dir = Root(t)
	cmd.Env = append(os.Environ(), "PATH="+path, "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash: %v\n%s\nstderr:\n%s", err, script, stderr.String())
	}
	return string(out)
}
