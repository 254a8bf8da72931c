package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/internal/golden"
)

// plain is the committed export and golden predictions, uncompressed, as
// training/export.py writes them.
func plain(t *testing.T) (js, csv []byte) {
	t.Helper()
	unzstd := func(path string) []byte {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		// A decoder for DecodeAll only: one also given a stream keeps a
		// decoder for it, and DecodeAll can wait on that forever.
		zr, err := zstd.NewReader(nil)
		require.NoError(t, err)
		defer zr.Close()
		out, err := zr.DecodeAll(b, nil)
		require.NoError(t, err)
		return out
	}
	return unzstd("../../testdata/model.json.zst"), unzstd(golden.Path())
}

func write(t *testing.T, dir string, js, csv []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, ExportFile), js, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, GoldenFile), csv, 0o644))
}

// The committed pair, unpacked and packed again, is the committed bytes:
// the same data always gives the same compressed files.
func TestPackIsReproducible(t *testing.T) {
	js, csv := plain(t)
	in, out := t.TempDir(), t.TempDir()
	write(t, in, js, csv)
	var stdout, stderr strings.Builder
	code := run([]string{"-in", in, "-export", filepath.Join(out, "m.zst"), "-golden", filepath.Join(out, "g.zst")}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	for got, want := range map[string]string{"m.zst": "../../testdata/model.json.zst", "g.zst": golden.Path()} {
		a, err := os.ReadFile(filepath.Join(out, got))
		require.NoError(t, err)
		b, err := os.ReadFile(want)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(a, b), "%s differs from %s", got, want)
	}
	e, err := export.Load(filepath.Join(out, "m.zst"))
	require.NoError(t, err)
	assert.Equal(t, "4723ad0b98d26d3d636d19bb13604f1c", e.Metadata.Version)
}

// What the run's environment hands over is checked as data, and a failure
// leaves the old pair untouched.
func TestPackRefuses(t *testing.T) {
	js, csv := plain(t)
	lines := strings.SplitN(string(csv), "\n", 3)
	for _, tc := range []struct {
		name    string
		js, csv []byte
		runID   string
		want    string
	}{
		{"another run", js, csv, "0123456789abcdef0123456789abcdef", `model.json is the model of run "", not of RUN_ID "0123456789abcdef0123456789abcdef"`},
		{"not an export", []byte(`{"format": "something else"}`), csv, "", "model.json: "},
		{"not JSON", []byte("import os\nos.system('x')\n"), csv, "", "model.json: decode export: "},
		{"a golden line short", js, []byte(lines[0] + "\n" + lines[1] + "\n130,205\n"), "", "golden.csv:3: want 4 fields, got 2"},
		{"golden rides missing", js, []byte(lines[0] + "\n" + lines[1] + "\n"), "", "golden.csv has 1 predictions; the export counts 66097 validation rides"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, out := t.TempDir(), t.TempDir()
			write(t, in, tc.js, tc.csv)
			old := []byte("the old export")
			m, g := filepath.Join(out, "m.zst"), filepath.Join(out, "g.zst")
			require.NoError(t, os.WriteFile(m, old, 0o644))
			require.NoError(t, os.WriteFile(g, old, 0o644))
			var stdout, stderr strings.Builder
			args := []string{"-in", in, "-export", m, "-golden", g}
			if tc.runID != "" {
				args = append(args, "-run-id", tc.runID)
			}
			require.Equal(t, 1, run(args, &stdout, &stderr))
			assert.Contains(t, stderr.String(), tc.want)
			for _, f := range []string{m, g} {
				b, err := os.ReadFile(f)
				require.NoError(t, err)
				assert.Equal(t, old, b)
			}
			entries, err := os.ReadDir(out)
			require.NoError(t, err)
			assert.Len(t, entries, 2, "no temporary file left")
		})
	}

	// A link is not a regular file: only what the directory itself holds is read.
	in := t.TempDir()
	write(t, in, js, csv)
	require.NoError(t, os.Remove(filepath.Join(in, GoldenFile)))
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(in, GoldenFile)))
	var stdout, stderr strings.Builder
	require.Equal(t, 1, run([]string{"-in", in, "-export", filepath.Join(t.TempDir(), "m"), "-golden", filepath.Join(t.TempDir(), "g")}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "golden.csv is not a regular file")
}
