package testenv

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// RIEModule is the Lambda Runtime Interface Emulator, pinned.
const RIEModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// RIEBinary installs aws-lambda-rie with go install (once per machine: it is
// kept in the user cache directory, by version) and returns its path.
func RIEBinary(t testing.TB) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	gobin := filepath.Join(cache, "rideduration", "aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d")
	bin := filepath.Join(gobin, "aws-lambda-rie")
	if fileExists(bin) {
		return bin
	}
	cmd := exec.Command(GoTool(t), "install", RIEModule)
	// Outside the module: the emulator's own go.mod decides its dependencies.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install %s: %v\n%s", RIEModule, err, b)
	}
	return bin
}

// RIE is a running emulator.
type RIE struct {
	URL string    // the invoke URL
	Cmd *exec.Cmd // the emulator process
	out syncBuffer
}

// Output is what the emulator and the function printed so far (logs,
// the END and REPORT lines).
func (r *RIE) Output() string { return r.out.String() }

// WaitOutput waits until the output holds a match of pattern and returns the
// match. The emulator writes its END and REPORT lines after it has answered
// the invoke, so they may not be there yet when the response is; only a
// missing line fails, after a generous bound (not a timed assertion).
func (r *RIE) WaitOutput(t testing.TB, pattern string) string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := re.FindString(r.Output()); m != "" {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("aws-lambda-rie output has no match of %q", pattern)
		}
	}
}

// StartRIE runs bootstrap under the emulator on 127.0.0.1, with env added
// to the environment, and returns once it accepts requests. Its two ports
// cannot be 0 (it would not say which it got for the invoke API, and it
// hands the function the runtime API's address as given), so they are
// picked; if the emulator cannot bind them (another test took one
// meanwhile), it is started again on others.
func StartRIE(t testing.TB, bootstrap string, env ...string) *RIE {
	t.Helper()
	for try := 1; ; try++ {
		r, err := startRIE(t, bootstrap, env)
		if err == nil {
			return r
		}
		if try == 5 {
			t.Fatal(err)
		}
		t.Logf("aws-lambda-rie, try %d: %v", try, err)
	}
}

func startRIE(t testing.TB, bootstrap string, env []string) (*RIE, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", UnusedPort(t))
	r := &RIE{URL: "http://" + addr + "/2015-03-31/functions/function/invocations"}
	r.Cmd = exec.Command(RIEBinary(t),
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", UnusedPort(t)),
		bootstrap)
	r.Cmd.Env = append(os.Environ(), env...)
	r.Cmd.Stdout, r.Cmd.Stderr = &r.out, &r.out
	if err := r.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = r.Cmd.Wait(); close(exited) }()
	stop := func() {
		_ = r.Cmd.Process.Kill()
		<-exited
	}
	// The emulator starts the function at the first invoke; wait for its
	// port, and make sure it is this emulator that answers there.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			return nil, fmt.Errorf("exited before it listened on %s:\n%s", addr, r.Output())
		default:
		}
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			select {
			case <-exited:
				return nil, fmt.Errorf("another server answers on %s", addr)
			case <-time.After(100 * time.Millisecond):
			}
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("aws-lambda-rie output:\n%s", r.Output())
				}
			})
			return r, nil
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("aws-lambda-rie did not listen on %s: %v", addr, err)
		}
	}
}

// syncBuffer is a bytes.Buffer two processes' output can be written to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
