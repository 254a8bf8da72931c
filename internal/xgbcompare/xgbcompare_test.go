package xgbcompare_test

import (
	"math"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/golden"
	"github.com/rideduration/rideduration/internal/xgbcompare"
	"github.com/rideduration/rideduration/internal/xgbcompare/booster"
)

func loadRows(t testing.TB) []golden.Row {
	t.Helper()
	rows, err := xgbcompare.Golden()
	require.NoError(t, err)
	require.Len(t, rows, 66097, "February validation rides")
	return rows
}

// requireBits fails unless got and want are the same float64, bit for bit.
func requireBits(t *testing.T, want, got float64, msg string, args ...any) {
	t.Helper()
	if math.Float64bits(want) != math.Float64bits(got) {
		require.Failf(t, "predictions differ", "got %v (%#x), want %v (%#x): "+msg,
			append([]any{got, math.Float64bits(got), want, math.Float64bits(want)}, args...)...)
	}
}

// The compiled model is bit-identical to xgboost on every validation ride.
func TestBoosterAgainstXGBoost(t *testing.T) {
	for i, r := range loadRows(t) {
		requireBits(t, r.Prediction, booster.Predict(r.Features), "row %d %+v", i, r.Features)
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
