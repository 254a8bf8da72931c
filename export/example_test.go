package export_test

import (
	"bytes"
	"fmt"

	"github.com/klauspost/compress/zstd"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/feature"
)

// A decision tree of one split, as training/export.py writes it: a ride of
// at most 2 miles takes 8.5 minutes, a longer one 20. Read decodes and
// checks the export; the ensemble's Predict is the reference walk, in the
// library's arithmetic, that the generated code is held to.
func ExampleRead() {
	const doc = `{"format": "rideduration-forest/v2",
		"metadata": {"model_name": "ride_duration_prediction_model", "version": "example",
			"estimator": "DecisionTreeRegressor", "n_estimators": 1},
		"feature_names": ["trip_distance"], "sparse": true,
		"ensemble": {"input": "float32", "split": "<=", "absent": "zero", "sum": "float64",
			"base": -0.0, "scale": 1, "divisor": 1},
		"trees": [{"children_left": [1, -1, -1], "children_right": [2, -1, -1],
			"feature": [0, -2, -2], "threshold": [2.0, -2, -2], "value": [14.25, 8.5, 20]}]}`
	var compressed bytes.Buffer
	zw, _ := zstd.NewWriter(&compressed)
	zw.Write([]byte(doc))
	zw.Close()

	e, err := export.Read(&compressed)
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Metadata.Estimator, len(e.Trees), "tree")
	for _, miles := range []float64{1.5, 3.66} {
		ride := feature.Features{Key: feature.Key{PU: 130, DO: 205}, Distance: miles}
		fmt.Println(miles, "mi:", e.Predict(ride), "min")
	}
	// Output:
	// DecisionTreeRegressor 1 tree
	// 1.5 mi: 8.5 min
	// 3.66 mi: 20 min
}
