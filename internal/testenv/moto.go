// Package testenv starts the real local services tests talk to, on 127.0.0.1
// only, and stops them when the test ends.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rideduration/rideduration/internal/lines"
)

// Region and the dummy credentials every local AWS call uses.
const (
	Region    = "us-east-1"
	AccessKey = "testing"
	SecretKey = "testing"
)

// UnusedPort returns a TCP port on 127.0.0.1 that nothing listened on a
// moment ago: for tests that need a port where no server answers. A server
// a test starts must not be given such a port (another test package running
// in parallel may take it first): it binds port 0 and reports its port, as
// Moto does, or is restarted on another port when its own bind fails, as
// StartRIE does.
func UnusedPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Moto starts moto_server (a real local AWS API server, moto 5) on
// 127.0.0.1 and returns its endpoint URL. It binds port 0, so the kernel
// picks a free port, and reads the port from moto's " * Running on" line.
// Without moto_server the test is skipped; with CI set it fails: CI
// installs it.
func Moto(t testing.TB) string {
	t.Helper()
	bin := MotoServer(t)
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", "0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if testing.Verbose() {
		cmd.Stdout = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	endpoint := make(chan string, 1)
	go func() {
		// Read moto's log to its end, so that it never blocks on a full pipe.
		running := regexp.MustCompile(`Running on (http://127\.0\.0\.1:\d+)`)
		// A line over 64 KiB (a request's dump) is skipped, not an end.
		lr := lines.NewReader(stderr, 64<<10)
		for {
			line, err := lr.Next()
			if _, ok := errors.AsType[*lines.TooLongError](err); ok {
				continue
			}
			if err != nil {
				break
			}
			if testing.Verbose() {
				fmt.Fprintf(os.Stderr, "%s\n", line)
			}
			if m := running.FindSubmatch(line); m != nil {
				select {
				case endpoint <- string(m[1]):
				default:
				}
			}
		}
		close(endpoint)
	}()
	var url string
	select {
	case u, ok := <-endpoint:
		if !ok {
			t.Fatal("moto_server exited before it listened")
		}
		url = u
	case <-time.After(60 * time.Second):
		t.Fatal("moto_server did not say where it listens")
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer on %s: %v", url, err)
		}
	}
}

// AWSEnv is the environment that points the AWS SDK and CLI at endpoint with
// dummy credentials, as a user would set it: no code change needed.
func AWSEnv(endpoint string) []string {
	return []string{
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=" + AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// localConfig is the AWS configuration of every local client: the test
// region and dummy credentials (the endpoint is each client's option).
func localConfig(t testing.TB) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, "")),
	)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Kinesis returns a client for the Kinesis API at endpoint.
func Kinesis(t testing.TB, endpoint string) *kinesis.Client {
	t.Helper()
	cfg := localConfig(t)
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// CreateStream creates a Kinesis stream with the given shard count and waits
// until it is active.
func CreateStream(t testing.TB, c *kinesis.Client, name string, shards int32) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatalf("create stream %s: %v", name, err)
	}
	w := kinesis.NewStreamExistsWaiter(c)
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatalf("stream %s not active: %v", name, err)
	}
}

// MotoServer is the path of moto_server, for a test that runs it by another
// program (make local). Without it the test is skipped; with CI set it fails.
func MotoServer(t testing.TB) string {
	t.Helper()
	return Tool(t, "moto_server", "pip install 'moto[server]'")
}
