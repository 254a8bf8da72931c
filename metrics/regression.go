package metrics

import (
	"fmt"
	"math"
)

// Regression is the quality of predictions against the actual values, each
// figure computed as named.
type Regression struct {
	Count int
	// RMSE is sklearn's mean_squared_error(actual, predicted, squared=False):
	// np.sqrt(np.mean((actual - predicted) ** 2)).
	RMSE float64
	// MAE is sklearn's mean_absolute_error: np.mean(np.abs(predicted - actual)).
	MAE float64
	// R2 is sklearn's r2_score (force_finite=True): 1 − Σ(actual − predicted)² /
	// Σ(actual − mean(actual))²; 1 when every prediction is exact, 0 when the
	// actual values are constant and some prediction is not, NaN for fewer than
	// 2 values (sklearn warns and returns NaN).
	R2 float64
	// MeanError is the bias, np.mean(predicted − actual): positive when the
	// model predicts too long on average.
	MeanError float64
}

// Regress computes the quality of predicted against actual, which must have
// the same length. With no values every figure but Count is NaN.
func Regress(actual, predicted []float64) Regression {
	if len(actual) != len(predicted) {
		panic(fmt.Sprintf("metrics.Regress: %d actual values, %d predictions", len(actual), len(predicted)))
	}
	n := len(actual)
	sq := make([]float64, n)  // (actual − predicted)²
	abs := make([]float64, n) // |predicted − actual|
	diff := make([]float64, n)
	for i, y := range actual {
		d := predicted[i] - y
		diff[i] = d
		abs[i] = math.Abs(d)
		e := y - predicted[i]
		sq[i] = float64(e * e) // the conversion forbids fusing into a later add
	}
	r := Regression{
		Count:     n,
		RMSE:      math.Sqrt(Mean(sq)),
		MAE:       Mean(abs),
		MeanError: Mean(diff),
		R2:        math.NaN(),
	}
	if n >= 2 {
		r.R2 = r2(actual, Sum(sq))
	}
	return r
}

// r2 is sklearn 1.2.1's r2_score from the residual sum of squares.
func r2(actual []float64, residual float64) float64 {
	mean := Mean(actual)
	dev := make([]float64, len(actual))
	for i, y := range actual {
		d := y - mean
		dev[i] = float64(d * d)
	}
	total := Sum(dev)
	switch {
	case residual == 0:
		return 1
	case total == 0:
		return 0
	}
	return 1 - residual/total
}
