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
// export today, byte for byte, and nothing else but its hand-written tests
// (booster_test.go, generate_test.go): any other file would be built into
// the package unseen.
func TestGeneratedIsCurrent(t *testing.T) {
	opts := gen.DefaultOptions
	opts.Package = "booster"
	opts.Source = gen.SourceName(source)
	files, err := gen.Generate(loadExport(t), opts)
	require.NoError(t, err)
	stale, err := gen.Stale(".", files)
	require.NoError(t, err)
	require.Empty(t, stale, "stale generated files; run go generate ./internal/xgbcompare/booster")
	foreign, err := gen.Foreign(".", files, "booster_test.go", "generate_test.go")
	require.NoError(t, err)
	require.Empty(t, foreign, "files the generator does not write")
}

// The package's columns and metadata are the export's.
func TestMetadata(t *testing.T) {
	e := loadExport(t)
	require.Equal(t, e.FeatureNames, booster.FeatureNames)
	require.Equal(t, e.Metadata.ID(), booster.Version)
	require.Equal(t, "Booster", booster.Estimator)
	require.Equal(t, len(e.Trees), booster.NEstimators)
}
