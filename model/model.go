// Package model says what a ride-duration model is to the code that serves
// it: a name, a version and a prediction function. The model itself is
// compiled in (package generated); only the mains in cmd/ import it and hand
// it to the library packages as a Model value, so that those packages, and
// their tests, never build the 10 MB forest: tests give them a tiny model.
package model

import "github.com/rideduration/rideduration/feature"

// Model is a trained model, as a value.
type Model struct {
	// Name is the prediction events' "model" field:
	// "ride_duration_prediction_model" for the original's.
	Name string
	// Version is the prediction events' "version" field: the run id.
	Version string
	// Precision is the type the model reads its numbers in (the export's
	// ensemble "input"; the compiled model's generated.Precision). A ride
	// whose value it cannot hold is a bad record, as its library refuses it
	// (feature.Precision.Check): every path that parses rides for the model
	// checks them with it. The zero value is feature.Float64.
	Precision feature.Precision
	// NumberIDs are the location ids the model reads as numbers (its
	// columns "PULocationID", "DOLocationID"; feature.NumberIDsOf): a ride
	// that sends one of them as a string is a bad record. The zero value
	// is a model that reads the ids as keys or categories only, which takes
	// "130" as 130.
	NumberIDs feature.NumberIDs
	// Predict returns the ride's duration in minutes. It must be safe for
	// concurrent use and never allocate: it runs once per ride.
	Predict func(feature.Features) float64
	// PredictText, when set, returns Predict's result and its JSON text,
	// as encoding/json writes the float64. A model with a table of its
	// distinct predictions (the compiled forest's 48,108) keeps their text,
	// so that serving a ride formats no float: shortest float formatting
	// would be a fifth of the handler's time.
	PredictText func(feature.Features) (float64, string)
}

// PredictWithText is Predict, with the duration's JSON text when the
// model keeps it (PredictText), "" when it does not.
func (m Model) PredictWithText(f feature.Features) (float64, string) {
	if m.PredictText == nil {
		return m.Predict(f), ""
	}
	return m.PredictText(f)
}
