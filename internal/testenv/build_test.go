package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// GoTool is the toolchain that built the tests: GOROOT's go, or the go that
// go test puts first on PATH.
func TestGoToolIsTheTestsToolchain(t *testing.T) {
	out, err := exec.Command(GoTool(t), "env", "GOVERSION").Output()
	require.NoError(t, err)
	assert.Equal(t, runtime.Version(), strings.TrimSpace(string(out)))
}

// Another go first on PATH, of another version, is refused, and the message
// says how to fix it.
func TestGoToolRefusesAnotherGo(t *testing.T) {
	bin := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bin, "go"), []byte("#!/bin/sh\necho go1.0.0\n"), 0o755))
	t.Setenv("GOROOT", "")
	t.Setenv("PATH", bin)
	_, err := findGoTool()
	require.Error(t, err)
	assert.Equal(t, filepath.Join(bin, "go")+" is go1.0.0, but the tests were built by "+runtime.Version()+
		": put that toolchain's go first on PATH, or set GOROOT to its root", err.Error())
}
