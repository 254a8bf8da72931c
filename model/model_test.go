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

// A model parses a ride for what it reads: an id sent as a string is taken
// for a model that reads it as a key or a category, and refused for one that
// reads it as a number.
func TestParseRideEvent(t *testing.T) {
	const in = `{"ride": {"PULocationID": "130", "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 1}`
	ride, err := Model{}.ParseRideEvent([]byte(in))
	assert.NoError(t, err)
	assert.Equal(t, feature.Key{PU: 130, DO: 205}, ride.Key)
	_, err = Model{NumberIDs: feature.PUNumber}.ParseRideEvent([]byte(in))
	assert.EqualError(t, err, `ride.PULocationID: must be a JSON number: the model reads PULocationID as a number, got a string "130"`)
	_, err = Model{NumberIDs: feature.DONumber}.ParseRideEvent([]byte(in))
	assert.NoError(t, err)
}
