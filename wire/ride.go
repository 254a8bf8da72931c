package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/rideduration/rideduration/feature"
)

// RideEvent is one record of the ride_events stream:
//
//	{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}
type RideEvent struct {
	feature.Features
	// RideID is the ride_id exactly as sent: a JSON number or a JSON string.
	RideID json.RawMessage
	idText string // the ride id as text: PartitionKey
}

// Limits of a ride event.
const (
	// MaxRideIDLen bounds a ride id: it becomes the Kinesis partition key,
	// which holds 1 to 256 characters.
	MaxRideIDLen = 256
	// MaxEventBytes bounds a ride event, which is about 100 bytes: anything
	// much larger is not one, and is refused before it is parsed.
	MaxEventBytes = 64 << 10
)

// ParseRideEvent reads one ride event. Unknown fields are ignored. Unlike the
// Python original, it does not guess at odd types; each of these is decided
// here and tested:
//
//   - a location id must be a JSON number with an integral value ≥ 1:
//     130 and 130.0 and 1.3e2 are all the location 130 (the original would key
//     130.0 as "130.0_205", a key no model has seen); 130.5, 0, -4, "130",
//     null or a missing id are errors;
//   - trip_distance must be a finite JSON number ≥ 0: "3.66" (a string, which
//     the original silently scored as distance 0), null, a missing field, or a
//     number beyond float64 are errors;
//   - ride_id must be a JSON number or a non-empty string of at most 256
//     characters (it is the partition key); it is kept as sent;
//   - an event of more than MaxEventBytes is an error.
//
// The error is a *FieldError naming the field. The usual shape of event is
// read without reflection or allocation (fastParse); every other goes
// through encoding/json, which also words the errors.
func ParseRideEvent(data []byte) (RideEvent, error) {
	if len(data) > MaxEventBytes {
		return RideEvent{}, &FieldError{Field: "record", Reason: fmt.Sprintf("%d bytes, over the %d-byte limit of a ride event", len(data), MaxEventBytes)}
	}
	if e, ok := fastParse(data); ok {
		return e, nil
	}
	return parseJSON(data)
}

// parseJSON is ParseRideEvent by encoding/json: the reference, for any input.
func parseJSON(data []byte) (RideEvent, error) {
	var raw struct {
		Ride *struct {
			PU       json.RawMessage `json:"PULocationID"`
			DO       json.RawMessage `json:"DOLocationID"`
			Distance json.RawMessage `json:"trip_distance"`
		} `json:"ride"`
		RideID json.RawMessage `json:"ride_id"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return RideEvent{}, &FieldError{Field: "record", Reason: "not a JSON ride event: " + err.Error()}
	}
	if raw.Ride == nil {
		return RideEvent{}, &FieldError{Field: "ride", Reason: "missing"}
	}
	id, idText, err := rideID(raw.RideID)
	if err != nil {
		return RideEvent{}, err
	}
	pu, err := locationID("ride.PULocationID", raw.Ride.PU)
	if err != nil {
		return RideEvent{}, err
	}
	do, err := locationID("ride.DOLocationID", raw.Ride.DO)
	if err != nil {
		return RideEvent{}, err
	}
	dist, err := number("ride.trip_distance", raw.Ride.Distance)
	if err != nil {
		return RideEvent{}, err
	}
	f, err := feature.New(pu, do, dist)
	if err != nil {
		fe := err.(*feature.FieldError)
		return RideEvent{}, &FieldError{Field: "ride." + fe.Field, Reason: fe.Reason}
	}
	return RideEvent{Features: f, RideID: id, idText: idText}, nil
}

// kind names the JSON type of a raw value, for error messages.
func kind(raw json.RawMessage) string {
	switch {
	case len(raw) == 0:
		return "missing"
	case raw[0] == '"':
		return "a string"
	case raw[0] == '{':
		return "an object"
	case raw[0] == '[':
		return "an array"
	case raw[0] == 't' || raw[0] == 'f':
		return "a boolean"
	case raw[0] == 'n':
		return "null"
	}
	return "a number"
}

// number parses a JSON number, refusing every other type.
func number(field string, raw json.RawMessage) (float64, error) {
	if k := kind(raw); k != "a number" {
		return 0, &FieldError{Field: field, Reason: "must be a JSON number, got " + k + shown(raw)}
	}
	x, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, &FieldError{Field: field, Reason: "number out of range: " + string(raw)}
	}
	return x, nil
}

// locationID parses an integral JSON number: 130, 130.0 and 1.3e2 are 130.
func locationID(field string, raw json.RawMessage) (int64, error) {
	if k := kind(raw); k == "a number" && bytes.IndexAny(raw, ".eE") < 0 {
		id, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return 0, &FieldError{Field: field, Reason: "integer out of range: " + string(raw)}
		}
		return id, nil
	}
	x, err := number(field, raw)
	if err != nil {
		return 0, err
	}
	if x != math.Trunc(x) || math.Abs(x) > math.MaxInt32 {
		return 0, &FieldError{Field: field, Reason: "must be an integer location id, got " + string(raw)}
	}
	return int64(x), nil
}

// rideID checks a ride id and returns it as sent and as text.
func rideID(raw json.RawMessage) (json.RawMessage, string, error) {
	text := string(raw)
	switch kind(raw) {
	case "a number":
	case "a string":
		if err := json.Unmarshal(raw, &text); err != nil {
			return nil, "", &FieldError{Field: "ride_id", Reason: err.Error()}
		}
	default:
		return nil, "", &FieldError{Field: "ride_id", Reason: "must be a JSON number or string, got " + kind(raw) + shown(raw)}
	}
	if n := utf8.RuneCountInString(text); n == 0 || n > MaxRideIDLen {
		return nil, "", &FieldError{Field: "ride_id", Reason: fmt.Sprintf("must hold 1 to %d characters, got %d", MaxRideIDLen, n)}
	}
	return raw, text, nil
}

// shown quotes a short raw value for an error message.
func shown(raw json.RawMessage) string {
	if len(raw) == 0 || len(raw) > 40 {
		return ""
	}
	return " " + string(raw)
}

// PartitionKey is the ride id as text: a string's content, a number's digits.
func (e RideEvent) PartitionKey() string { return e.idText }
