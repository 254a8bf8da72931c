package kpl

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite aggregated.pb.go (go generate ./kpl)")

// protocLine is the header line naming protoc's version: it differs between
// Debian releases without changing the code.
var protocLine = regexp.MustCompile(`(?m)^// \tprotoc +v.*\n`)

// TestGenerated regenerates aggregated.pb.go from aggregated.proto, with
// protoc and the protoc-gen-go of go.mod's google.golang.org/protobuf, and
// fails if the committed file differs: it is what its source and
// generator make, nothing edited by hand. Without protoc it is skipped;
// with CI set it fails: make deps installs Debian's protobuf-compiler.
func TestGenerated(t *testing.T) {
	protoc := testenv.Tool(t, "protoc", "apt-get install protobuf-compiler: make deps")
	dir := t.TempDir()
	plugin := filepath.Join(dir, "protoc-gen-go")
	run(t, "go", "build", "-o", plugin, "google.golang.org/protobuf/cmd/protoc-gen-go")
	run(t, protoc, "--plugin=protoc-gen-go="+plugin, "--go_out="+dir, "--go_opt=paths=source_relative", "aggregated.proto")
	got, err := os.ReadFile(filepath.Join(dir, "aggregated.pb.go"))
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile("aggregated.pb.go", got, 0o644))
		return
	}
	want, err := os.ReadFile("aggregated.pb.go")
	require.NoError(t, err)
	assert.Equal(t, protocLine.ReplaceAllString(string(want), ""), protocLine.ReplaceAllString(string(got), ""),
		"aggregated.pb.go is not what aggregated.proto generates: go generate ./kpl")
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %v:\n%s", name, args, out)
}
