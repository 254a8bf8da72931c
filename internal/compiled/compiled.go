// Package compiled hands the mains the model compiled into them (package
// generated) as a model.Model value. It is the one package, besides the
// mains, that imports generated: library packages take a Model instead.
package compiled

import (
	"os"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/generated"
	"github.com/rideduration/rideduration/model"
)

// Version is the compiled model's own version: the id of the MLflow run it
// came from (make model), or a hash of its trees and columns.
const Version = generated.Version

// Model is the compiled forest, its events labelled with the run id in
// RUN_ID, or with the model's own version (Version) when RUN_ID is unset or
// empty (as the original: the version field is the run id it was configured
// with).
func Model() model.Model {
	version := os.Getenv("RUN_ID")
	if version == "" {
		version = Version
	}
	return model.Model{Name: generated.ModelName, Version: version, Precision: generated.Precision,
		NumberIDs: feature.NumberIDsOf(generated.FeatureNames),
		Predict:   generated.Predict, PredictText: generated.PredictText}
}

// Columns are the compiled model's columns (DictVectorizer.feature_names_),
// whose categories are the keys it saw in training. They are parsed when
// asked for: only the report needs them.
func Columns() feature.Columns {
	cols, err := feature.NewColumns(generated.FeatureNames)
	if err != nil {
		panic("compiled: the generator checked these columns: " + err.Error())
	}
	return cols
}
