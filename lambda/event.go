// Package lambda is the streaming function: it reads ride events from a
// Kinesis event, predicts each ride's duration with the generated model and
// writes one prediction event per ride to the predictions stream.
//
// The handler is a plain Go method (Handler.Handle), testable without any
// runtime; cmd/bootstrap hands it to aws-lambda-go and cmd/predict calls it
// in process.
package lambda

import (
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/generated"
)

// PredictionEvent is one record of the predictions stream, in the original's
// shape:
//
//	{"model": "ride_duration_prediction_model", "version": "<run id>",
//	 "prediction": {"ride_duration": 18.32, "ride_id": 123}}
type PredictionEvent struct {
	Model      string     `json:"model"`
	Version    string     `json:"version"`
	Prediction Prediction `json:"prediction"`
}

// Prediction is the predicted duration of one ride.
type Prediction struct {
	RideDuration float64 `json:"ride_duration"` // minutes
	// RideID is the ride_id exactly as the ride event sent it: number or string.
	RideID json.RawMessage `json:"ride_id"`
}

// NewPredictionEvent predicts the duration of one ride with the generated
// model and labels it with version (the run id).
func NewPredictionEvent(ride feature.RideEvent, version string) PredictionEvent {
	return PredictionEvent{
		Model:   generated.ModelName,
		Version: version,
		Prediction: Prediction{
			RideDuration: generated.Predict(ride.Features),
			RideID:       ride.RideID,
		},
	}
}

// Response is what the function returns: the original's predictions list plus
// the partial-batch field of ReportBatchItemFailures. Neither is ever null.
type Response struct {
	Predictions       []PredictionEvent                `json:"predictions"`
	BatchItemFailures []events.KinesisBatchItemFailure `json:"batchItemFailures"`
}
