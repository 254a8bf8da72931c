package xgbcompare_test

import (
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

// The compiled model is bit-identical to xgboost on every validation ride.
func TestBoosterAgainstXGBoost(t *testing.T) {
	for i, r := range loadRows(t) {
		golden.RequireBits(t, r.Prediction, booster.Predict(r.Features), "row %d %+v", i, r.Features)
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
