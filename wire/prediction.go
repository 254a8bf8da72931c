package wire

import "encoding/json"

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

// PredictionEvent is the prediction event of the ride, predicted duration
// minutes by the model name at version.
func (r RideEvent) PredictionEvent(name, version string, duration float64) PredictionEvent {
	return PredictionEvent{Model: name, Version: version, Prediction: Prediction{RideDuration: duration, RideID: r.RideID}}
}

// Prediction is the predicted duration of one ride.
type Prediction struct {
	RideDuration float64 `json:"ride_duration"` // minutes
	// RideID is the ride_id exactly as the ride event sent it: number or string.
	RideID json.RawMessage `json:"ride_id"`
}
