package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/rideduration/rideduration/feature"
)

// RideEvent is one record of the ride_events stream:
//
//	{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}
type RideEvent struct {
	feature.Features
	// RideID is the ride_id exactly as sent: a JSON number or a JSON string.
	RideID json.RawMessage
	// key is the ride id as text, the partition key: a string's content, a
	// number's digits. It may share the record's bytes.
	key []byte
}

// Limits of a ride event.
const (
	// MaxRideIDLen bounds a ride id: it becomes the Kinesis partition key,
	// which holds 1 to 256 characters.
	MaxRideIDLen = 256
	// MaxEventBytes bounds a ride event, which is about 100 bytes: anything
	// much larger is not one, and is refused before it is parsed.
	MaxEventBytes = 64 << 10
	// maxQuoted bounds what an error message quotes of the record (a value,
	// a key path): errors end up in logs, which must not carry a record.
	maxQuoted = 40
)

// ParseRideEvent reads one ride event for a model whose input type is p
// (model.Model.Precision). Unknown fields are ignored. It refuses
// whatever the Python original's json.loads and event['ride'] refuse, and
// more; each of these is decided here and tested:
//
//   - the record must be one JSON object, in UTF-8 (the original decoded it
//     as UTF-8 first), with no key twice in any object (json.loads keeps
//     the last one; encoding/json merged a second "ride" into the first),
//     and keys in their exact case ("RIDE" is not "ride", as in a Python
//     dict; encoding/json matched keys case-insensitively);
//   - a location id must be a JSON number with an integral value from 1 to
//     2147483647: 130 and 130.0 and 1.3e2 are all the location 130 (the
//     original would key 130.0 as "130.0_205", a key no model has seen);
//     130.5, 0, -4, null or a missing id are errors;
//   - a location id may also be a JSON string of its digits, as Python's str
//     writes the integer: "130" is 130, as the original's '%s_%s' and str
//     make the same key of both. Any other string ("130.0", " 130", "1e2",
//     "+130", "0130", "") is an error: the original would key it as a key
//     no model has seen, silently. ParseRideEventFor refuses the string for
//     an id the model reads as a number;
//   - trip_distance must be a finite JSON number ≥ 0: "3.66" (a string, which
//     the original silently scored as distance 0), NaN, null, a missing
//     field, or a number beyond float64 are errors; and it must be a number
//     the model's input type p holds (feature.Precision.Check): for a
//     float32 model, 1e39 is an error, as the library refuses it;
//   - ride_id must be a JSON number or a non-empty string of at most 256
//     characters (it is the partition key); it is kept as sent;
//   - an event of more than MaxEventBytes is an error.
//
// The error is a *feature.FieldError naming the field, in the producer's terms,
// quoting at most a few dozen bytes of the record. The usual shape of event
// is read without reflection or allocation (fastParse); every other goes
// through parseJSON, which also words the errors.
func ParseRideEvent(data []byte, p feature.Precision) (RideEvent, error) {
	return ParseRideEventFor(data, p, 0)
}

// ParseRideEventFor is ParseRideEvent for a model that reads the location
// ids in numbers as numbers (feature.NumberIDsOf its columns): such an id
// sent as a string, even "130", is an error, since the original's
// DictVectorizer would score it as the id 0 (feature.NumberIDs).
func ParseRideEventFor(data []byte, p feature.Precision, numbers feature.NumberIDs) (RideEvent, error) {
	if len(data) > MaxEventBytes {
		return RideEvent{}, TooLarge(int64(len(data)))
	}
	if e, ok := fastParse(data, p, numbers); ok {
		return e, nil
	}
	return parseJSON(data, p, numbers)
}

// TooLarge is ParseRideEvent's error for a record of n bytes, over
// MaxEventBytes: for a reader that refuses such a record without holding it.
func TooLarge(n int64) *feature.FieldError {
	return &feature.FieldError{Field: "record", Reason: fmt.Sprintf("%d bytes, over the %d-byte limit of a ride event", n, MaxEventBytes)}
}

// parseJSON is ParseRideEvent by jsontext (the module that is Go's
// encoding/json/v2): the reference, for any input.
func parseJSON(data []byte, p feature.Precision, numbers feature.NumberIDs) (RideEvent, error) {
	if len(bytes.TrimLeft(data, " \t\r\n")) == 0 {
		return RideEvent{}, &feature.FieldError{Field: "record", Reason: "empty"}
	}
	// One pass checks the whole record against the grammar, with jsontext's
	// defaults: one value, no key twice in an object, UTF-8 throughout.
	var event jsontext.Value
	if err := jsonv2.Unmarshal(data, &event); err != nil {
		return RideEvent{}, syntaxError(err)
	}
	if event.Kind() != '{' {
		return RideEvent{}, &feature.FieldError{Field: "record", Reason: "must be a JSON object, got " + describe(event)}
	}
	// Valid by now: unmarshalling into raw values cannot fail. Keys match
	// in their exact case (jsonv2's default); others are ignored.
	var top struct {
		Ride   jsontext.Value `json:"ride"`
		RideID jsontext.Value `json:"ride_id"`
	}
	var ride struct {
		PU       jsontext.Value `json:"PULocationID"`
		DO       jsontext.Value `json:"DOLocationID"`
		Distance jsontext.Value `json:"trip_distance"`
	}
	mustUnmarshal(event, &top)
	if top.Ride == nil {
		return RideEvent{}, missing("ride", "ride", event)
	}
	if top.Ride.Kind() != '{' {
		return RideEvent{}, &feature.FieldError{Field: "ride", Reason: "must be a JSON object, got " + describe(top.Ride)}
	}
	mustUnmarshal(top.Ride, &ride)

	id, idText, err := rideID(top.RideID, event)
	if err != nil {
		return RideEvent{}, err
	}
	pu, err := locationID("PULocationID", ride.PU, top.Ride, numbers&feature.PUNumber != 0)
	if err != nil {
		return RideEvent{}, err
	}
	do, err := locationID("DOLocationID", ride.DO, top.Ride, numbers&feature.DONumber != 0)
	if err != nil {
		return RideEvent{}, err
	}
	dist, err := number("trip_distance", ride.Distance, top.Ride)
	if err != nil {
		return RideEvent{}, err
	}
	f, err := features(pu, do, dist, p)
	if err != nil {
		fe := err.(*feature.FieldError)
		return RideEvent{}, &feature.FieldError{Field: "ride." + fe.Field, Reason: fe.Reason}
	}
	return RideEvent{Features: f, RideID: json.RawMessage(id), key: []byte(idText)}, nil
}

// features checks a ride's values for both parsing paths: feature.New,
// then what a model of input type p takes (feature.Precision.Check). The
// error is a *feature.FieldError.
func features(pu, do int64, dist float64, p feature.Precision) (feature.Features, error) {
	f, err := feature.New(pu, do, dist)
	if err == nil {
		err = p.Check(f)
	}
	return f, err
}

func mustUnmarshal(v jsontext.Value, into any) {
	if err := jsonv2.Unmarshal(v, into); err != nil {
		panic("wire: a checked value does not unmarshal: " + err.Error()) // unreachable
	}
}

// syntaxError words jsontext's error on a record that is not valid JSON,
// naming the field it happened in.
func syntaxError(err error) error {
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		return &feature.FieldError{Field: "record", Reason: "not valid JSON: " + clip(err.Error(), 2*maxQuoted)}
	}
	at := ""
	if se.ByteOffset > 0 {
		at = fmt.Sprintf(" (byte offset %d)", se.ByteOffset)
	}
	field := fieldPath(se.JSONPointer)
	switch {
	case errors.Is(se.Err, jsontext.ErrDuplicateName):
		return &feature.FieldError{Field: field, Reason: "duplicate key: a key may appear only once in an object"}
	case se.Err != nil && se.Err.Error() == "invalid UTF-8": // jsontext's errInvalidUTF8 is not exported
		return &feature.FieldError{Field: field, Reason: "not valid UTF-8" + at + ": a record must be UTF-8 text"}
	case errors.Is(se.Err, io.ErrUnexpectedEOF):
		return &feature.FieldError{Field: field, Reason: "not valid JSON: the record ends too early" + at}
	case se.Err != nil:
		return &feature.FieldError{Field: field, Reason: "not valid JSON: " + clip(se.Err.Error(), 2*maxQuoted) + at}
	}
	return &feature.FieldError{Field: field, Reason: "not valid JSON" + at}
}

// fieldPath turns a JSON pointer into the field name of an error:
// "/ride/trip_distance" is ride.trip_distance, "" is the record, and the
// empty key is "".
func fieldPath(p jsontext.Pointer) string {
	if p == "" {
		return "record"
	}
	var b strings.Builder
	for tok := range p.Tokens() {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		if tok == "" {
			tok = `""`
		}
		b.WriteString(tok)
	}
	return clip(b.String(), 2*maxQuoted)
}

// missing is the error of an absent key, pointing at a key of obj that
// differs only in case: JSON keys, like the original's dict look-ups, are
// case-sensitive.
func missing(field, key string, obj jsontext.Value) error {
	reason := "missing"
	dec := jsontext.NewDecoder(bytes.NewReader(obj))
	dec.ReadToken() // {
	for dec.PeekKind() == '"' {
		tok, _ := dec.ReadToken()
		if name := tok.String(); strings.EqualFold(name, key) {
			reason = fmt.Sprintf("missing (found %s: keys are case-sensitive)", strconv.Quote(clip(name, maxQuoted)))
			break
		}
		dec.SkipValue()
	}
	return &feature.FieldError{Field: field, Reason: reason}
}

// describe names a JSON value for an error message: `a string "3.66"`, 130.5,
// null, true, an object, an array.
func describe(v jsontext.Value) string {
	switch v.Kind() {
	case '"':
		return "a string " + clip(string(v), maxQuoted)
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return clip(string(v), maxQuoted) // a number, null, true or false
}

// clip bounds text quoted from the record, at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// number parses a JSON number, refusing every other type.
func number(key string, raw, ride jsontext.Value) (float64, error) {
	field := "ride." + key
	if raw == nil {
		return 0, missing(field, key, ride)
	}
	if raw.Kind() != '0' {
		return 0, &feature.FieldError{Field: field, Reason: "must be a JSON number, got " + describe(raw)}
	}
	x, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, &feature.FieldError{Field: field, Reason: "must be a finite number, got " + describe(raw)}
	}
	return x, nil
}

// locationID parses an integral JSON number from 1 to MaxInt32: 130, 130.0
// and 1.3e2 are 130; or a string of its digits ("130"), unless the model
// reads the id as a number (asNumber).
func locationID(key string, raw, ride jsontext.Value, asNumber bool) (int64, error) {
	switch raw.Kind() {
	case '"':
		return idString(key, raw, asNumber)
	case 0, '0':
	default:
		return 0, &feature.FieldError{Field: "ride." + key, Reason: "must be a JSON number or a string of digits, got " + describe(raw)}
	}
	x, err := number(key, raw, ride)
	if err != nil {
		return 0, err
	}
	if x != math.Trunc(x) {
		return 0, &feature.FieldError{Field: "ride." + key, Reason: "must be an integer location id, got " + describe(raw)}
	}
	if x < 1 || x > math.MaxInt32 {
		return 0, idRange(key, raw)
	}
	return int64(x), nil
}

// idStringRule is the rule of a location id sent as a string.
const idStringRule = `must be an integer location id, as a number (130) or a string of its digits ("130")`

// idString parses a location id sent as a JSON string. Its content must be
// an integer as Python's str writes one (intString), so that the original's
// key of it is the key of the number; then the id's range applies; and a
// model that reads the id as a number refuses the string.
func idString(key string, raw jsontext.Value, asNumber bool) (int64, error) {
	field := "ride." + key
	var s string
	mustUnmarshal(raw, &s)
	if !intString(s) {
		return 0, &feature.FieldError{Field: field, Rule: idStringRule, Reason: idStringRule + ", got " + describe(raw)}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 || id > math.MaxInt32 {
		return 0, idRange(key, raw)
	}
	if asNumber {
		rule := "must be a JSON number: the model reads " + key + " as a number"
		return 0, &feature.FieldError{Field: field, Rule: rule, Reason: rule + ", got " + describe(raw)}
	}
	return id, nil
}

// intString reports whether s is an integer as Python's str writes one: an
// optional minus sign, then ASCII digits without a leading zero ("130",
// "0", "-4"; not "0130", "-0", "+130", " 130", "130.0" or "1_30", all of
// which int() reads, but str never writes).
func intString(s string) bool {
	d := strings.TrimPrefix(s, "-")
	if d == "" || (d[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

// idRange is the error of an integral location id out of range.
func idRange(key string, raw jsontext.Value) error {
	return &feature.FieldError{Field: "ride." + key, Reason: fmt.Sprintf("must be a location id from 1 to %d, got %s", math.MaxInt32, describe(raw))}
}

// rideID checks a ride id and returns it as sent and as text.
func rideID(raw, event jsontext.Value) (jsontext.Value, string, error) {
	text := string(raw)
	switch raw.Kind() {
	case 0:
		return nil, "", missing("ride_id", "ride_id", event)
	case '0':
	case '"':
		mustUnmarshal(raw, &text)
	default:
		return nil, "", &feature.FieldError{Field: "ride_id", Reason: "must be a JSON number or string, got " + describe(raw)}
	}
	if n := utf8.RuneCountInString(text); n == 0 || n > MaxRideIDLen {
		return nil, "", &feature.FieldError{Field: "ride_id", Reason: fmt.Sprintf("must hold 1 to %d characters, got %d", MaxRideIDLen, n)}
	}
	return raw, text, nil
}

// PartitionKey is the ride id as text: a string's content, a number's digits.
func (e RideEvent) PartitionKey() string { return string(e.key) }

// AppendPartitionKey appends PartitionKey to b, without allocating a string
// per ride (the handler builds one string for a whole batch's keys).
func (e RideEvent) AppendPartitionKey(b []byte) []byte { return append(b, e.key...) }
