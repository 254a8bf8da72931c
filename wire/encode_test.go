package wire

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/feature"
)

func TestAppendJSON(t *testing.T) {
	for _, p := range []PredictionEvent{
		{Model: "m", Version: "v", Prediction: Prediction{RideDuration: 18.321633541366506, RideID: json.RawMessage("256")}},
		{Model: "m", Version: "<run & \"id\">\u2028é", Prediction: Prediction{RideDuration: 1e-7, RideID: json.RawMessage(`"a<b"`)}},
		{Model: "m", Version: "", Prediction: Prediction{RideDuration: 1e21, RideID: json.RawMessage(`"x y\u00e9"`)}},
		{Model: "m", Version: "v", Prediction: Prediction{RideDuration: math.Copysign(0, -1), RideID: nil}},
		{Model: "m", Version: "v", Prediction: Prediction{RideDuration: 5e-324, RideID: json.RawMessage(`-1.5e-3`)}},
	} {
		want, err := json.Marshal(p)
		require.NoError(t, err)
		require.Equal(t, string(want), string(p.AppendJSON(nil)))
		require.Equal(t, string(want), string(NewEncoder(p.Model, p.Version).Append([]byte{}, p.Prediction)))
		text, err := json.Marshal(p.Prediction.RideDuration)
		require.NoError(t, err)
		require.Equal(t, string(want), string(NewEncoder(p.Model, p.Version).AppendText(nil, p.Prediction, string(text))))
	}
	// The text given is the text written: nothing is formatted.
	e := NewEncoder("m", "v")
	require.Equal(t, `{"model":"m","version":"v","prediction":{"ride_duration":1.50,"ride_id":1}}`,
		string(e.AppendText(nil, Prediction{RideDuration: 1.5, RideID: json.RawMessage("1")}, "1.50")))
}

// FuzzAppendJSON checks AppendJSON against json.Marshal.
func FuzzAppendJSON(f *testing.F) {
	f.Add("v1", 18.321633541366506, []byte("123"))
	f.Add("<&>", 1e-9, []byte(`"ride \u00e9 <1>"`))
	f.Fuzz(func(t *testing.T, version string, d float64, rideID []byte) {
		if math.IsNaN(d) || math.IsInf(d, 0) || !json.Valid(rideID) {
			return // the model predicts finite minutes; ride ids are valid JSON
		}
		p := PredictionEvent{Model: "ride_duration_prediction_model", Version: version,
			Prediction: Prediction{RideDuration: d, RideID: rideID}}
		want, err := json.Marshal(p)
		require.NoError(t, err)
		require.Equal(t, string(want), string(p.AppendJSON(nil)))
		require.Equal(t, string(want), string(NewEncoder(p.Model, p.Version).Append(nil, p.Prediction)))
	})
}

func TestRidePredictionEvent(t *testing.T) {
	ride, err := ParseRideEvent([]byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": "a-1"}`), feature.Float64)
	require.NoError(t, err)
	assert.Equal(t, PredictionEvent{Model: "m", Version: "run-1",
		Prediction: Prediction{RideDuration: 7.32, RideID: json.RawMessage(`"a-1"`)}}, ride.PredictionEvent("m", "run-1", 7.32))
}
