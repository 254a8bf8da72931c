package booster_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/gen"
	"github.com/rideduration/rideduration/internal/xgbcompare"
	"github.com/rideduration/rideduration/internal/xgbcompare/booster"
)

// source is the export as the go:generate directive names it.
const source = "../../../internal/xgbcompare/testdata/" + xgbcompare.ExportFile

func loadExport(t *testing.T) *export.Ensemble {
	t.Helper()
	e, err := export.Load(source)
	require.NoError(t, err)
	return e
}

// The committed package is what the generator writes from the committed
// export today: regenerate into a temporary directory and compare every
// generated file, byte for byte, and the file lists.
func TestGeneratedIsCurrent(t *testing.T) {
	opts := gen.DefaultOptions
	opts.Package = "booster"
	opts.Source = gen.SourceName(source)
	files, err := gen.Generate(loadExport(t), opts)
	require.NoError(t, err)
	tmp := t.TempDir()
	require.NoError(t, gen.Write(tmp, files))
	fresh, err := gen.Generated(tmp)
	require.NoError(t, err)
	committed, err := gen.Generated(".")
	require.NoError(t, err)
	require.Equal(t, fresh, committed, "generated files; run go generate ./internal/xgbcompare/booster")
	for _, name := range fresh {
		want, err := os.ReadFile(filepath.Join(tmp, name))
		require.NoError(t, err)
		got, err := os.ReadFile(name)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got), "%s is stale; run go generate ./internal/xgbcompare/booster", name)
	}
}

// The package's columns and metadata are the export's.
func TestMetadata(t *testing.T) {
	e := loadExport(t)
	require.Equal(t, e.FeatureNames, booster.FeatureNames)
	require.Equal(t, e.Metadata.ID(), booster.Version)
	require.Equal(t, "Booster", booster.Estimator)
	require.Equal(t, len(e.Trees), booster.NEstimators)
}
