package model

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/wire"
)

func TestEvent(t *testing.T) {
	m := Model{Name: "m", Version: "run-1", Predict: func(f feature.Features) float64 { return f.Distance * 2 }}
	ride, err := wire.ParseRideEvent([]byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": "a-1"}`), m.Precision)
	assert.NoError(t, err)
	assert.Equal(t, wire.PredictionEvent{Model: "m", Version: "run-1",
		Prediction: wire.Prediction{RideDuration: 7.32, RideID: json.RawMessage(`"a-1"`)}}, m.Event(ride))
}
