package main

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/golden"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/kinesisevent"
	"github.com/rideduration/rideduration/wire"
)

// The image's name, as the original's step 7 names it (make image's IMAGE).
const image = "stream-model-duration:v1"

// imageDoc is the page whose commands the image tests run, as written there.
const imageDoc = "docs/deploy.md"

// The function's container image, built by `make image` with podman (no
// Docker engine runs here; podman's CLI is Docker's) and run with the
// commands of docs/deploy.md, which are the original's with podman for docker.
// Without podman it is skipped; with CI set it fails: make deps installs it.
func TestImage(t *testing.T) {
	for _, tool := range []string{"podman", "runc", "slirp4netns"} {
		testenv.Tool(t, tool, "make deps: apt-get install podman runc slirp4netns")
	}
	// podman as a fresh shell has it: the commands carry what they need.
	t.Setenv("CONTAINERS_CONF", "")
	require.NoError(t, os.Unsetenv("CONTAINERS_CONF"))
	runMake(t, "image")

	t.Run("TheOriginalsRun", func(t *testing.T) {
		url := runImage(t, testenv.DocBlock(t, imageDoc, "<!-- image: run -->"), "")
		body := testenv.Shell(t, "", strings.ReplaceAll(testenv.DocBlock(t, imageDoc, "<!-- image: invoke -->"),
			"http://localhost:8080", url))
		assertResponse(t, body)
	})

	t.Run("CourseComposeEnvironment", func(t *testing.T) {
		moto := testenv.Moto(t)
		euWest := []string{"AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1"}
		url := runImage(t, testenv.DocBlock(t, imageDoc, "<!-- image: kinesis -->"), moto, euWest...)
		body := testenv.Shell(t, moto, strings.ReplaceAll(testenv.DocBlock(t, imageDoc, "<!-- image: invoke -->"),
			"http://localhost:8080", url))
		assertResponse(t, body)
		out := testenv.Shell(t, moto, testenv.ReadmeBlock(t, "<!-- walkthrough: step 6 -->"), euWest...)
		i := strings.LastIndex(out, "\n{\n")
		require.GreaterOrEqual(t, i, 0, "no pretty-printed JSON in:\n%s", out)
		var got wire.PredictionEvent
		require.NoError(t, json.Unmarshal([]byte(out[i+1:]), &got))
		assert.Equal(t, "Test123", got.Version)
		assert.Equal(t, "123", string(got.Prediction.RideID))
		assert.Equal(t, math.Float64bits(golden.TestRide.Prediction), math.Float64bits(got.Prediction.RideDuration))
	})

	// No binfmt handler runs arm64 containers here: the arm64 image's
	// bootstrap is taken out of it and run under qemu-aarch64-static, by
	// the emulator, on the original's event.
	t.Run("Arm64", func(t *testing.T) {
		qemu := testenv.Tool(t, "qemu-aarch64-static", "make deps: apt-get install qemu-user-static")
		assert.Equal(t, "linux/arm64", podman(t, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", image+"-arm64"))
		dir := t.TempDir()
		id := podman(t, "create", image+"-arm64")
		defer podman(t, "rm", id)
		for _, f := range []string{"/var/runtime/bootstrap", "/usr/local/bin/aws-lambda-rie"} {
			out := filepath.Join(dir, filepath.Base(f))
			podman(t, "cp", id+":"+f, out)
			e, err := elf.Open(out)
			require.NoError(t, err)
			assert.Equal(t, elf.EM_AARCH64, e.Machine, f)
			e.Close()
		}
		wrapper := filepath.Join(dir, "qemu-bootstrap")
		require.NoError(t, os.WriteFile(wrapper, []byte("#!/bin/sh\nexec "+qemu+" "+filepath.Join(dir, "bootstrap")+"\n"), 0o755))
		rie := testenv.StartRIE(t, wrapper, "RUN_ID=Test123", "TEST_RUN=True", "AWS_DEFAULT_REGION=us-east-1")
		event, err := os.ReadFile(fixture)
		require.NoError(t, err)
		assertResponse(t, string(invoke(t, rie.URL, event)))
	})

	// The original's step 8 (ECR), rehearsed by make push: moto is ECR's
	// API, a registry on 127.0.0.1 stands in for ECR's registry.
	t.Run("PushToECR", func(t *testing.T) {
		moto := testenv.Moto(t)
		reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		t.Cleanup(reg.Close)
		host := strings.TrimPrefix(reg.URL, "http://")
		conf := filepath.Join(t.TempDir(), "registries.conf")
		require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf("[[registry]]\nlocation = %q\ninsecure = true\n", host)), 0o644))
		t.Setenv("CONTAINERS_REGISTRIES_CONF", conf)
		// The credentials podman login writes, kept out of the user's.
		t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(t.TempDir(), "auth.json"))
		for _, kv := range testenv.AWSEnv(moto) {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
		runMake(t, "push", "ECR_REGISTRY="+host,
			"ECR_REPO=stream-model-duration", "IMAGE_TAG=v1.0.0", "ARCH=arm64")
		repos := testenv.AWS(t, moto, "ecr", "describe-repositories", "--query", "repositories[].repositoryName", "--output", "text")
		assert.Equal(t, "stream-model-duration", strings.TrimSpace(string(repos)))

		ref, err := name.ParseReference(host+"/stream-model-duration:v1.0.0", name.Insecure)
		require.NoError(t, err)
		desc, err := remote.Get(ref)
		require.NoError(t, err)
		// Lambda takes a Docker v2 schema 2 or OCI image manifest, not an
		// index (a multi-platform image), of the function's architecture.
		require.Contains(t, []types.MediaType{types.DockerManifestSchema2, types.OCIManifestSchema1}, desc.MediaType)
		img, err := desc.Image()
		require.NoError(t, err)
		cfg, err := img.ConfigFile()
		require.NoError(t, err)
		assert.Equal(t, "linux", cfg.OS)
		assert.Equal(t, "arm64", cfg.Architecture)
		assert.Equal(t, []string{"/var/runtime/bootstrap"}, cfg.Config.Entrypoint)
		layers, err := img.Layers()
		require.NoError(t, err)
		var size int64
		for _, l := range layers {
			mt, err := l.MediaType()
			require.NoError(t, err)
			assert.Contains(t, []types.MediaType{types.DockerLayer, types.OCILayer}, mt, "gzip layers")
			n, err := l.Size()
			require.NoError(t, err)
			size += n
		}
		t.Logf("pushed %s: %s, %d layer(s), %.1f MB compressed", ref, desc.MediaType, len(layers), float64(size)/1e6)
	})
}

// runMake runs targets of the repository's Makefile with this test's Go.
func runMake(t *testing.T, args ...string) {
	t.Helper()
	out, err := testenv.Make(t, testenv.Root(t), nil, append([]string{"GO=" + testenv.GoTool(t)}, args...)...)
	require.NoError(t, err, "make %s:\n%s", strings.Join(args, " "), out)
}

// podman runs podman and returns what it printed, trimmed.
func podman(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("podman", args...).Output()
	var stderr []byte
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	require.NoError(t, err, "podman %s:\n%s", strings.Join(args, " "), stderr)
	return strings.TrimSpace(string(out))
}

// runImage runs a block of docs/deploy.md that ends with `podman run -it --rm -p
// 8080:8080 … stream-model-duration:v1`, detached (no terminal here) and
// on a free port of 127.0.0.1, with the block's moto endpoint replaced by
// moto's, and returns the function's invoke URL once the emulator answers.
func runImage(t *testing.T, block, moto string, env ...string) string {
	t.Helper()
	port := testenv.UnusedPort(t)
	for old, repl := range map[string]string{
		"podman run -it --rm": "podman run -d --rm",
		"-p 8080:8080":        fmt.Sprintf("-p 127.0.0.1:%d:8080", port),
		"10.0.2.2:5000":       "10.0.2.2:" + strings.TrimPrefix(moto, "http://127.0.0.1:"),
	} {
		if old == "10.0.2.2:5000" && moto == "" {
			continue
		}
		require.Contains(t, block, old)
		block = strings.ReplaceAll(block, old, repl)
	}
	out := strings.Fields(testenv.Shell(t, moto, block, env...))
	require.NotEmpty(t, out)
	id := out[len(out)-1]
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := exec.Command("podman", "logs", id).CombinedOutput()
			t.Logf("container %s:\n%s", id, logs)
		}
		_ = exec.Command("podman", "rm", "-f", id).Run()
	})
	// Any HTTP answer means the emulator listens behind the published port.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err == nil {
			resp.Body.Close()
			break
		}
		require.True(t, time.Now().Before(deadline), "the container does not answer on port %d: %v", port, err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// assertResponse checks the function's answer to the original's event:
// the original's shape, sklearn's prediction bit for bit.
func assertResponse(t *testing.T, body string) {
	t.Helper()
	var resp kinesisevent.Response
	require.NoError(t, json.Unmarshal([]byte(body), &resp), "%s", body)
	require.Len(t, resp.Predictions, 1, "%s", body)
	p := resp.Predictions[0]
	assert.Equal(t, "ride_duration_prediction_model", p.Model)
	assert.Equal(t, "Test123", p.Version)
	assert.Equal(t, "123", string(p.Prediction.RideID))
	assert.Equal(t, math.Float64bits(golden.TestRide.Prediction), math.Float64bits(p.Prediction.RideDuration),
		"ride_duration %v", p.Prediction.RideDuration)
	assert.Contains(t, body, `"batchItemFailures":[]`)
}
