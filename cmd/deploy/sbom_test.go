package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// make sbom's step, in a repository of one commit whose dist/ holds two
// bootstraps (this command, built for linux/amd64 and linux/arm64): each
// SBOM lists the standard library at the toolchain's version, its main
// component carries the binary's SHA-256, its serial number and timestamp
// are the commit's, and a second run writes the same bytes.
func TestSBOM(t *testing.T) {
	testenv.Tool(t, "git", "apt-get install git")
	bin := testenv.GoBuild(t, ".", "deploy", nil)
	repo := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	require.NoError(t, os.WriteFile(filepath.Join(repo, ".gitignore"), []byte("/dist/\n/build/\n"), 0o644))
	git("add", ".gitignore")
	git("commit", "-q", "-m", "one")
	git("tag", "-a", "-m", "v1.2.3", "v1.2.3")
	commit := git("rev-parse", "HEAD")
	at, err := time.Parse(time.RFC3339, git("show", "-s", "--format=%cI", "HEAD"))
	require.NoError(t, err)
	for _, arch := range []string{"amd64", "arm64"} {
		b := testenv.GoBuild(t, ".", "bootstrap", []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + arch})
		require.NoError(t, os.MkdirAll(filepath.Join(repo, "dist", arch), 0o755))
		exe, err := os.ReadFile(b)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(repo, "dist", arch, "bootstrap"), exe, 0o755))
	}

	sbom := func() map[string][]byte {
		t.Helper()
		out, err := runDeploy(t, bin, repo, []string{"GO=" + testenv.GoTool(t), "IMAGE_TAG="}, "sbom")
		require.NoError(t, err, "deploy sbom:\n%s", out)
		got := map[string][]byte{}
		for _, arch := range []string{"amd64", "arm64"} {
			b, err := os.ReadFile(filepath.Join(repo, "dist", "function-"+arch+".cdx.json"))
			require.NoError(t, err)
			got[arch] = b
		}
		return got
	}
	first := sbom()
	second := sbom()
	for arch, b := range first {
		assert.Equal(t, string(b), string(second[arch]), "two SBOMs of one commit (%s)", arch)

		var bom struct {
			SerialNumber string `json:"serialNumber"`
			Metadata     struct {
				Timestamp string `json:"timestamp"`
				Component struct {
					Version string `json:"version"`
					Hashes  []struct{ Alg, Content string }
				} `json:"component"`
			} `json:"metadata"`
			Components []struct {
				Name, Version, Purl string
			} `json:"components"`
		}
		require.NoError(t, json.Unmarshal(b, &bom))
		exe, err := os.ReadFile(filepath.Join(repo, "dist", arch, "bootstrap"))
		require.NoError(t, err)
		sum := sha256.Sum256(exe)
		assert.Equal(t, []struct{ Alg, Content string }{{"SHA-256", hex.EncodeToString(sum[:])}}, bom.Metadata.Component.Hashes, "the main component's hash")
		assert.Equal(t, "v1.2.3", bom.Metadata.Component.Version, "IMAGE_TAG, from git describe")
		assert.Equal(t, at.UTC().Format(time.RFC3339), bom.Metadata.Timestamp, "the commit's time")
		assert.Regexp(t, `^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-`, bom.SerialNumber, "a name-based (v5) UUID")
		var std []string
		for _, c := range bom.Components {
			if c.Name == "std" {
				std = append(std, c.Version+" "+c.Purl)
			}
		}
		assert.Equal(t, []string{runtime.Version() + " pkg:golang/std@" + runtime.Version() + "?goarch=" + arch + "&goos=linux&type=module"}, std,
			"the standard library, at the toolchain's version")
	}
	assert.NotEqual(t, string(first["amd64"]), string(first["arm64"]))
	t.Logf("commit %s: %d and %d bytes", commit, len(first["amd64"]), len(first["arm64"]))
}
