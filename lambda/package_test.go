package main

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// make package gives the same zip bytes on every build of the same
// sources, whenever and wherever it runs: what deploy-verify compares with
// Lambda's CodeSha256, and what a provenance attestation names.
func TestPackageReproducible(t *testing.T) {
	zip := filepath.Join(testenv.Root(t), "dist", "function-arm64.zip")
	var sums [2][sha256.Size]byte
	for i := range sums {
		runMake(t, "dist/function-arm64.zip")
		b, err := os.ReadFile(zip)
		require.NoError(t, err)
		sums[i] = sha256.Sum256(b)
		// A later build time, another time zone.
		time.Sleep(2100 * time.Millisecond) // zip keeps times to 2 s
		t.Setenv("TZ", "America/New_York")
	}
	assert.Equal(t, sums[0], sums[1], "two builds of %s differ", zip)
}
