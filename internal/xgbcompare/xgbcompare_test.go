package xgbcompare_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/gen"
	"github.com/rideduration/rideduration/internal/golden"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/internal/xgbcompare"
)

func loadRows(t testing.TB) []golden.Row {
	t.Helper()
	rows, err := xgbcompare.Golden()
	require.NoError(t, err)
	require.Len(t, rows, 66097, "February validation rides")
	return rows
}

// compiledModule is the module TestCompiledBooster builds: its path is below
// this module's, so that its test may import this module's internal packages.
const compiledModule = "github.com/rideduration/rideduration/internal/xgbcompare/compiled"

// The compiled booster, generated from the export when the comparison runs
// (gen.DefaultOptions, as genmodel writes it), into a temporary module that
// reaches this one through a replace directive, with the test in
// testdata/compiled: bit-identical to xgboost on every validation ride.
// Run with -bench, it also runs that test's benchmark, with the same -bench,
// -benchmem and -count, and prints its results:
//
//	go test ./internal/xgbcompare -run TestCompiledBooster -bench . -benchmem -count 1
func TestCompiledBooster(t *testing.T) {
	e, err := export.Load(xgbcompare.Testdata(xgbcompare.ExportFile))
	require.NoError(t, err)
	opts := gen.DefaultOptions
	opts.Package = "booster"
	opts.Source = "internal/xgbcompare/testdata/" + xgbcompare.ExportFile
	files, err := gen.Generate(e, opts)
	require.NoError(t, err)

	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	goSum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	goLine := regexp.MustCompile(`(?m)^go [0-9.]+$`).Find(goMod)
	require.NotNil(t, goLine, "go directive in go.mod")
	module := strings.TrimSuffix(compiledModule, "/internal/xgbcompare/compiled")
	dir := t.TempDir()
	mod := fmt.Sprintf("module %s\n\n%s\n\nrequire %s v0.0.0\n\nreplace %s => %s\n", compiledModule, goLine, module, module, root)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), goSum, 0o644))
	pkg := filepath.Join(dir, "booster")
	require.NoError(t, os.Mkdir(pkg, 0o755))
	require.NoError(t, gen.Write(pkg, files))
	test, err := os.ReadFile(xgbcompare.Testdata("compiled/booster_test.go"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(pkg, "booster_test.go"), test, 0o644))

	args := []string{"test", "./booster", "-count=1"}
	if bench := flag.Lookup("test.bench").Value.String(); bench != "" {
		args = append(args, "-bench="+bench, "-count="+flag.Lookup("test.count").Value.String())
		if flag.Lookup("test.benchmem").Value.String() == "true" {
			args = append(args, "-benchmem")
		}
	}
	cmd := exec.Command(testenv.GoTool(t), args...)
	cmd.Dir = dir
	// Only the standard library, this module (replaced by its directory) and
	// its requirements, from the module cache: no network, no workspace, no
	// toolchain switch.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	if testing.Verbose() || flag.Lookup("test.bench").Value.String() != "" {
		fmt.Print(string(out))
	}
}

// childTest runs this test binary again, only the tests run matches, with
// env added, and returns its output and exit error.
func childTest(t *testing.T, run string, env ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run="+run, "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
}
