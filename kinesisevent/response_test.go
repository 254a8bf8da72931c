package kinesisevent

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/wire"
)

// TestResponseJSON holds AppendJSON to json.Marshal, byte for byte, and
// Size to AppendJSON's length; the response's JSON read back is the
// response.
func TestResponseJSON(t *testing.T) {
	p := func(id string, d float64) wire.PredictionEvent {
		return wire.PredictionEvent{Model: "m", Version: "v", Prediction: wire.Prediction{RideDuration: d, RideID: json.RawMessage(id)}}
	}
	fail := func(seq string) events.KinesisBatchItemFailure {
		return events.KinesisBatchItemFailure{ItemIdentifier: seq}
	}
	for name, r := range map[string]Response{
		"empty":       {Predictions: []wire.PredictionEvent{}, BatchItemFailures: []events.KinesisBatchItemFailure{}},
		"predictions": {Predictions: []wire.PredictionEvent{p(`123`, 18.321633541366506), p(`"a-1"`, 0.5)}, BatchItemFailures: []events.KinesisBatchItemFailure{}},
		"failures":    {Predictions: []wire.PredictionEvent{}, BatchItemFailures: []events.KinesisBatchItemFailure{fail("4959"), fail(`"<odd>&` + "\u2028")}},
		"both":        {Predictions: []wire.PredictionEvent{p(`7`, 3)}, BatchItemFailures: []events.KinesisBatchItemFailure{fail("1")}},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := json.Marshal(r)
			require.NoError(t, err)
			var predictions [][]byte
			n := 0
			for _, p := range r.Predictions {
				predictions = append(predictions, p.AppendJSON(nil))
				n += len(predictions[len(predictions)-1])
			}
			got := AppendJSON(nil, r, predictions, func(b []byte) []byte { return b })
			assert.Equal(t, string(want), string(got))
			assert.Equal(t, len(got), r.Size(len(predictions), n))

			var back Response
			require.NoError(t, json.Unmarshal(got, &back))
			assert.Equal(t, r, back)
		})
	}
}
