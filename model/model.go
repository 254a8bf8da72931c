// Package model says what a ride-duration model is to the code that serves
// it: a name, a version and a prediction function. The model itself is
// compiled in (package generated); only the mains in cmd/ import it and hand
// it to the library packages as a Model value, so that those packages, and
// their tests, never build the 10 MB forest: tests give them a tiny model.
package model

import (
	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/wire"
)

// Model is a trained model, as a value.
type Model struct {
	// Name is the prediction events' "model" field:
	// "ride_duration_prediction_model" for the original's.
	Name string
	// Version is the prediction events' "version" field: the run id.
	Version string
	// Predict returns the ride's duration in minutes. It must be safe for
	// concurrent use and never allocate: it runs once per ride.
	Predict func(feature.Features) float64
}

// Event predicts one ride and returns its prediction event.
func (m Model) Event(ride wire.RideEvent) wire.PredictionEvent {
	return wire.PredictionEvent{
		Model:   m.Name,
		Version: m.Version,
		Prediction: wire.Prediction{
			RideDuration: m.Predict(ride.Features),
			RideID:       ride.RideID,
		},
	}
}
