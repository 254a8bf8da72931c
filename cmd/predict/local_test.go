package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// makeLocal is one `make local` running in its own process group, as in a
// terminal, with dir first on PATH.
type makeLocal struct {
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	done           chan struct{}
	err            error
}

// startLocal runs `make local MOTO_PORT=port` with the AWS CLI of dir (an
// aws there) first on PATH and the test's go.
func startLocal(t *testing.T, dir string, port int, vars ...string) *makeLocal {
	t.Helper()
	testenv.NeedMake(t)
	args := append([]string{"local", fmt.Sprintf("MOTO_PORT=%d", port), "GO=" + testenv.GoTool(t)}, vars...)
	cmd := testenv.MakeCmd(testenv.Root(t), []string{"PATH=" + dir + ":" + os.Getenv("PATH"), "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "PREDICTIONS_STREAM_NAME=", "RUN_ID=", "TEST_RUN=", "DEAD_LETTER_STREAM_NAME="}, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	l := &makeLocal{cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = l.stdout, l.stderr
	require.NoError(t, cmd.Start())
	go func() { l.err = cmd.Wait(); close(l.done) }()
	t.Cleanup(func() {
		l.interrupt(t)
		if t.Failed() {
			t.Logf("make local stdout:\n%s\nstderr:\n%s", l.stdout.String(), l.stderr.String())
		}
	})
	return l
}

// failed waits for make local to stop by itself, and returns what it said.
// The bound catches a hang; nothing is asserted on timing.
func (l *makeLocal) failed(t *testing.T) string {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("make local did not stop")
	}
	assert.Error(t, l.err, "exit status")
	return l.stderr.String()
}

// interrupt is Ctrl-C: SIGINT to the whole process group, then a wait.
func (l *makeLocal) interrupt(t *testing.T) {
	select {
	case <-l.done:
		return
	default:
	}
	_ = syscall.Kill(-l.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-l.done:
	case <-time.After(time.Minute):
		_ = syscall.Kill(-l.cmd.Process.Pid, syscall.SIGKILL)
		<-l.done
		t.Error("make local did not stop after Ctrl-C")
	}
}

// awsDir returns a directory holding an aws that runs the AWS CLI v2 and
// logs its arguments to the file returned.
func awsDir(t *testing.T) (dir, calls string) {
	dir = t.TempDir()
	calls = filepath.Join(dir, "calls")
	script := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %s\nexec %s \"$@\"\n", calls, testenv.AWSCLI)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "aws"), []byte(script), 0o755))
	return dir, calls
}

// awsV1 returns a directory holding an aws that answers --version as AWS
// CLI v1 does: the tests install v2 only (make deps); v1 is a pip package
// and CI has no PyPI (.ci/run).
func awsV1(t *testing.T) string {
	dir := t.TempDir()
	v1 := "#!/bin/sh\necho 'aws-cli/1.45.11 Python/3.11.7 Linux/6.18.44 botocore/1.43.11'\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "aws"), []byte(v1), 0o755))
	return dir
}

// `make local` finds what would make it hang or fail with another
// program's error, and says what is wrong and how to fix it.
func TestLocalChecks(t *testing.T) {
	t.Run("AWS CLI v1 on PATH", func(t *testing.T) {
		dir := awsV1(t)
		// PATH: that v1 and the two commands make local runs before it
		// checks the CLI, no other aws.
		for _, tool := range []string{"bash", "dirname"} {
			p, err := exec.LookPath(tool)
			require.NoError(t, err)
			require.NoError(t, os.Symlink(p, filepath.Join(dir, tool)))
		}
		// PATH on make's command line is its recipes' PATH.
		msg := startLocal(t, dir, testenv.UnusedPort(t), "PATH="+dir).failed(t)
		assert.Contains(t, msg, "make local: "+filepath.Join(dir, "aws")+" is AWS CLI v1 (aws-cli/1.45.11 ")
		assert.Contains(t, msg, `the walkthrough's commands need v2 (with v1, step 5 fails with "Unknown options: --cli-binary-format"): install AWS CLI v2`)
		assert.Contains(t, msg, "put it first on PATH (the walkthrough runs aws)")
	})

	t.Run("AWS CLI v1 first on PATH, v2 after it", func(t *testing.T) {
		dir := awsV1(t)
		l := startLocal(t, dir, testenv.UnusedPort(t))
		waitFor(t, func() bool {
			return strings.Contains(l.stderr.String(), `"msg":"polling"`) || isDone(l.done)
		})
		require.False(t, isDone(l.done), "make local stopped: %v\n%s", l.err, l.stderr.String())
		assert.Contains(t, l.stderr.String(), "make local: "+filepath.Join(dir, "aws")+" is AWS CLI v1; using "+testenv.AWSCLI+", AWS CLI v2")
		// The line for the other terminal is the README's, with the v2's directory.
		line := strings.TrimSpace(testenv.ReadmeBlock(t, "<!-- walkthrough: other terminal -->"))
		line = strings.Replace(line, "PATH=/usr/bin:", "PATH="+filepath.Dir(testenv.AWSCLI)+":", 1)
		assert.Contains(t, l.stdout.String(), "\n  "+line+"\n")
	})

	t.Run("no AWS CLI", func(t *testing.T) {
		msg := startLocal(t, t.TempDir(), testenv.UnusedPort(t), "AWS=/nowhere/aws").failed(t)
		assert.Contains(t, msg, "make local: the AWS CLI (/nowhere/aws) is not found: install AWS CLI v2")
	})

	t.Run("the port taken by another program", func(t *testing.T) {
		testenv.MotoServer(t) // make local looks for it first
		srv := httptest.NewServer(http.NotFoundHandler())
		defer srv.Close()
		u, err := url.Parse(srv.URL)
		require.NoError(t, err)
		dir, _ := awsDir(t)
		port, err := strconv.Atoi(u.Port())
		require.NoError(t, err)
		msg := startLocal(t, dir, port).failed(t)
		assert.Contains(t, msg, "make local: "+u.Host+" is taken by another program, not moto")
		assert.Contains(t, msg, "stop it, or make local MOTO_PORT=5001")
	})
}

// `make local` runs the AWS CLI on PATH; run a second time, while the first
// runs, it says so at once, and leaves the first alone; Ctrl-C stops the
// first and its moto_server.
func TestLocalTwice(t *testing.T) {
	testenv.MotoServer(t)
	testenv.Tool(t, testenv.AWSCLI, "the AWS CLI v2: apt-get install awscli, make deps")
	dir, calls := awsDir(t)
	var first *makeLocal
	var port int
	// The port was free a moment ago; if a test elsewhere took it since,
	// another one.
	for try := 0; first == nil; try++ {
		port = testenv.UnusedPort(t)
		l := startLocal(t, dir, port)
		waitFor(t, func() bool {
			return strings.Contains(l.stderr.String(), `"msg":"polling"`) || isDone(l.done)
		})
		if !isDone(l.done) {
			first = l
		} else if !strings.Contains(l.stderr.String(), "is taken by another program") || try == 2 {
			t.Fatalf("make local stopped: %v\n%s", l.err, l.stderr.String())
		}
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	assert.Contains(t, first.stdout.String(), "Kinesis on "+endpoint+": streams ride_events, ride_prediction.")
	b, err := os.ReadFile(calls)
	require.NoError(t, err)
	assert.Contains(t, string(b), "kinesis create-stream --stream-name ride_prediction", "the aws on PATH")

	msg := startLocal(t, dir, port).failed(t)
	assert.Contains(t, msg, "make local: a Kinesis API already answers on "+endpoint+": make local (or moto_server) is running already.")
	assert.NotContains(t, msg, "ResourceInUseException")
	assert.NotContains(t, msg, "No such process")
	assert.False(t, isDone(first.done), "the first one runs on")

	first.interrupt(t)
	assert.NotContains(t, first.stderr.String(), "No such process")
	_, err = http.Get(endpoint + "/moto-api/")
	assert.Error(t, err, "moto_server stopped with make local")
}

// scripts/local.sh passes shellcheck (make deps installs it).
func TestLocalShellcheck(t *testing.T) {
	shellcheck := testenv.Tool(t, "shellcheck", "make deps: apt-get install shellcheck")
	out, err := exec.Command(shellcheck, filepath.Join(testenv.Root(t), "scripts", "local.sh")).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// isDone tells whether c is closed.
func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
