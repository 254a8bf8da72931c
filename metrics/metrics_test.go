package metrics

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// seq is a sequence both Go and Python compute to the same bits (integer
// arithmetic, then one correctly rounded division).
func seq(n, mul int, div, shift float64) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64((i*mul)%10007)/div - shift
	}
	return xs
}

func bits(t *testing.T, want, got float64, msg string, args ...any) {
	t.Helper()
	assert.Equal(t, math.Float64bits(want), math.Float64bits(got), append([]any{"want %v, got %v: " + msg, want, got}, args...)...)
}

// np.sum over [((i*7919) % 10007) / 7.0 - 700 for i in range(n)], printed
// with repr() by Debian 12's numpy 1.24.2. The lengths cover each branch of
// the pairwise sum (< 8, ≤ 128 with a remainder, the recursion) and the
// 8192-element chunks.
var numpySums = []struct {
	n   int
	sum float64
}{
	{0, 0.0}, {1, -700.0}, {7, 272.57142857142844}, {8, 343.71428571428555}, {9, 116.57142857142838},
	{15, -362.4285714285717}, {16, 181.57142857142844}, {17, 427.2857142857141}, {127, 1963.2857142857129},
	{128, 1979.4285714285693}, {129, 1697.2857142857138}, {130, 1116.8571428571422}, {255, 2686.8571428571413},
	{256, 3120.857142857139}, {1000, 15294.428571428565}, {8191, 120701.71428571426}, {8192, 121310.57142857139},
	{8193, 121621.14285714283}, {16384, 242574.14285714278}, {20000, 294415.2857142856}, {66097, 974216.9999999997},
}

func TestSumIsNumpys(t *testing.T) {
	naiveDiffers := 0
	for _, c := range numpySums {
		xs := seq(c.n, 7919, 7, 700)
		bits(t, c.sum, Sum(xs), "n=%d", c.n)
		naive := 0.0
		for _, x := range xs {
			naive += x
		}
		if naive != c.sum {
			naiveDiffers++
		}
	}
	// The order matters: a plain loop gets some of these wrong.
	assert.Positive(t, naiveDiffers)
}

func TestMean(t *testing.T) {
	assert.True(t, math.IsNaN(Mean(nil)))
	sum, n := 974216.9999999997, 66097.0 // variables: a constant quotient would be exact, not float64
	bits(t, sum/n, Mean(seq(66097, 7919, 7, 700)), "mean")
}

// The figures of sklearn 1.2.1 (mean_squared_error(squared=False),
// mean_absolute_error, r2_score) and np.mean(p - y) for y = [((i*7919) %
// 10007) / 97.0], p = [((i*104729) % 10007) / 89.0], i < 1000.
func TestRegressIsSklearns(t *testing.T) {
	y, p := seq(1000, 7919, 97, 0), seq(1000, 104729, 89, 0)
	r := Regress(y, p)
	assert.Equal(t, 1000, r.Count)
	bits(t, 44.03021660674753, r.RMSE, "rmse")
	bits(t, 35.98121985404842, r.MAE, "mae")
	bits(t, -1.1838682605972317, r.R2, "r2")
	bits(t, 4.404499826248117, r.MeanError, "mean error")
}

func TestRegressEdges(t *testing.T) {
	r := Regress([]float64{3, 3, 3}, []float64{3, 3, 3})
	assert.Equal(t, Regression{Count: 3, R2: 1}, r, "exact predictions: sklearn's R² is 1")
	r = Regress([]float64{3, 3}, []float64{3, 4})
	assert.Equal(t, 0.0, r.R2, "constant actual values, an error: sklearn's R² is 0")
	r = Regress([]float64{3}, []float64{5})
	assert.True(t, math.IsNaN(r.R2), "one value: sklearn's R² is NaN")
	assert.Equal(t, 2.0, r.RMSE)
	assert.Equal(t, 2.0, r.MeanError)
	r = Regress(nil, nil)
	assert.Zero(t, r.Count)
	assert.True(t, math.IsNaN(r.RMSE))
	assert.Panics(t, func() { Regress([]float64{1}, nil) })
}
