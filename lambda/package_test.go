package main

import (
	"archive/zip"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// makeUnder runs make with args under umask mask, with this test's Go.
func makeUnder(t *testing.T, mask string, args ...string) {
	t.Helper()
	testenv.NeedMake(t)
	cmd := testenv.MakeCmd(testenv.Root(t), nil, append([]string{"GO=" + testenv.GoTool(t)}, args...)...)
	cmd.Args = append([]string{"sh", "-c", `umask "$0" && exec "$@"`, mask}, cmd.Args...)
	cmd.Path, cmd.Err = "/bin/sh", nil
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "umask %s; make %s:\n%s", mask, strings.Join(args, " "), out)
}

// make package gives the same zip bytes on every build of the same
// sources, whenever, wherever and under whatever umask it runs: what
// deploy-verify compares with Lambda's CodeSha256, and what a provenance
// attestation names. The bootstrap in it is mode 0755: Lambda runs it as a
// user that is neither its owner nor in its group.
func TestPackageReproducible(t *testing.T) {
	zipPath := filepath.Join(testenv.Root(t), "dist", "function-arm64.zip")
	// go build leaves an up-to-date binary as it is, mode included: each
	// build starts without one.
	bootstrap := filepath.Join(testenv.Root(t), "dist", "arm64", "bootstrap")
	masks := []string{"022", "027"}
	var sums [2][sha256.Size]byte
	for i, mask := range masks {
		require.NoError(t, os.RemoveAll(bootstrap))
		makeUnder(t, mask, "dist/function-arm64.zip")
		b, err := os.ReadFile(zipPath)
		require.NoError(t, err)
		sums[i] = sha256.Sum256(b)
		z, err := zip.OpenReader(zipPath)
		require.NoError(t, err)
		require.Len(t, z.File, 1, "the zip holds bootstrap only")
		assert.Equal(t, "bootstrap", z.File[0].Name)
		assert.Equal(t, fs.FileMode(0o755).String(), z.File[0].Mode().String(), "umask %s: bootstrap's mode in the zip", mask)
		require.NoError(t, z.Close())
		// A later build time, another time zone.
		time.Sleep(2100 * time.Millisecond) // zip keeps times to 2 s
		t.Setenv("TZ", "America/New_York")
	}
	assert.Equal(t, sums[0], sums[1], "%s built under umask %s and %s differs", zipPath, masks[0], masks[1])
}
