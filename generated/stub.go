// TEMPORARY STUB: replaced by the generator's output (issue 2). Same API.
package generated

import "github.com/rideduration/rideduration/feature"

const (
	ModelName      = "ride_duration_prediction_model"
	Version        = "stub"
	SklearnVersion = "1.2.1"
	RMSE           = 6.1012
)

var Vocabulary *feature.Vocabulary

// Predict returns the ride duration in minutes, bit-identical to sklearn.
func Predict(f feature.Features) float64 { return 0 }

// PredictTrees is the per-tree if/else backend, same result.
func PredictTrees(f feature.Features) float64 { return 0 }
