package wire

import (
	"encoding/json"
	"math"
	"strconv"
)

// AppendJSON appends the event as JSON, byte for byte what json.Marshal
// writes (FuzzAppendJSON checks it), without reflection: encoding/json took a
// sixth of the handler's time.
func (p PredictionEvent) AppendJSON(b []byte) []byte {
	return appendPrediction(appendHead(b, p.Model, p.Version), p.Prediction, "")
}

// An Encoder writes the prediction events of one model and version, as
// AppendJSON does, with the events' constant head escaped once rather than
// for every ride.
type Encoder struct{ head []byte }

// NewEncoder returns the encoder of model's events labelled version.
func NewEncoder(model, version string) *Encoder {
	return &Encoder{head: appendHead(nil, model, version)}
}

// Append appends the prediction event of p.
func (e *Encoder) Append(b []byte, p Prediction) []byte {
	return appendPrediction(append(b, e.head...), p, "")
}

// AppendText is Append given the JSON text of p.RideDuration, as
// json.Marshal writes it (a model's PredictText), or "" to format it.
func (e *Encoder) AppendText(b []byte, p Prediction, duration string) []byte {
	return appendPrediction(append(b, e.head...), p, duration)
}

// appendHead writes the event up to its prediction's first value.
func appendHead(b []byte, model, version string) []byte {
	b = append(b, `{"model":`...)
	b = AppendString(b, model)
	b = append(b, `,"version":`...)
	b = AppendString(b, version)
	return append(b, `,"prediction":{"ride_duration":`...)
}

// appendPrediction writes the rest of the event, with the duration's text
// when it is given.
func appendPrediction(b []byte, p Prediction, duration string) []byte {
	if duration != "" {
		b = append(b, duration...)
	} else {
		b = appendFloat(b, p.RideDuration)
	}
	b = append(b, `,"ride_id":`...)
	b = appendRaw(b, p.RideID)
	return append(b, "}}"...)
}

// appendFloat formats x as encoding/json does (ES6 number formatting:
// shortest round-trip digits, exponent only for very small or large values).
// x is finite: the model predicts finite minutes.
func appendFloat(b []byte, x float64) []byte {
	abs, format := math.Abs(x), byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, x, format, -1, 64)
	if format == 'e' { // e-07 → e-7, as encoding/json
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// plain reports whether json.Marshal copies s unchanged inside quotes (or,
// for raw JSON, unchanged): printable ASCII, nothing it escapes.
func plain(s string, raw bool) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x80 || c == '<' || c == '>' || c == '&':
			return false
		case !raw && (c == '"' || c == '\\'):
			return false
		case raw && (c == ' ' || c == '\\'): // a raw value may need compacting
			return false
		}
	}
	return true
}

// AppendString appends s as a JSON string, byte for byte as json.Marshal
// writes it.
func AppendString(b []byte, s string) []byte {
	if plain(s, false) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

func appendRaw(b []byte, raw json.RawMessage) []byte {
	if len(raw) > 0 && plain(string(raw), true) {
		return append(b, raw...)
	}
	q, err := json.Marshal(raw)
	if err != nil {
		return append(b, "null"...) // unreachable: ParseRideEvent keeps valid JSON only
	}
	return append(b, q...)
}
