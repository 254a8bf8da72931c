package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// GitHub's machines install moto and cfn-lint from .github/requirements-tools.txt: its pins
// are the versions the tests run with here.
func TestRequirementsPinTheToolsInUse(t *testing.T) {
	python := interpreter(t, "moto_server")
	out, err := exec.Command(python, "-c",
		"import importlib.metadata as m; print(m.version('moto'), m.version('cfn-lint'))").Output()
	require.NoError(t, err)
	got := strings.Fields(string(out))
	require.Len(t, got, 2)

	f, err := os.Open(filepath.Join("..", "..", ".github", "requirements-tools.txt"))
	require.NoError(t, err)
	defer f.Close()
	pins := map[string]string{}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if name, version, ok := strings.Cut(sc.Text(), "=="); ok {
			pins[name] = version
		}
	}
	assert.Equal(t, got[0], pins["moto[server]"], "moto")
	assert.Equal(t, got[1], pins["cfn-lint"], "cfn-lint")
}

// interpreter is the Python that runs the console script tool: its
// shebang's, through pyenv's shim where there is one.
func interpreter(t *testing.T, tool string) string {
	t.Helper()
	script := Tool(t, tool, "pip install 'moto[server]' cfn-lint")
	shebang := func(p string) string {
		f, err := os.Open(p)
		require.NoError(t, err)
		defer f.Close()
		line, _ := bufio.NewReader(f).ReadString('\n')
		return strings.TrimSpace(strings.TrimPrefix(line, "#!"))
	}
	python := shebang(script)
	if strings.Contains(python, "env bash") { // pyenv's shim
		out, err := exec.Command("pyenv", "which", tool).Output()
		require.NoError(t, err)
		python = shebang(strings.TrimSpace(string(out)))
	}
	return strings.Fields(python)[0]
}
