package booster_test

import (
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
	stale, err := gen.Stale(".", files)
	require.NoError(t, err)
	require.Empty(t, stale, "stale generated files; run go generate ./internal/xgbcompare/booster")
}

// The package's columns and metadata are the export's.
func TestMetadata(t *testing.T) {
	e := loadExport(t)
	require.Equal(t, e.FeatureNames, booster.FeatureNames)
	require.Equal(t, e.Metadata.ID(), booster.Version)
	require.Equal(t, "Booster", booster.Estimator)
	require.Equal(t, len(e.Trees), booster.NEstimators)
}
