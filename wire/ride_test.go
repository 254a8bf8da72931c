package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/feature"
)

// ride is a ride event with the given location ids and distance, as JSON text.
func ride(pu, do, dist string) string {
	return `{"ride": {"PULocationID": ` + pu + `, "DOLocationID": ` + do + `, "trip_distance": ` + dist + `}, "ride_id": 123}`
}

// withID is a good ride with the given ride_id, as JSON text.
func withID(id string) string {
	return `{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": ` + id + `}`
}

// precisions are the models' input types: every rule but the float32 bound
// is the same for both.
var precisions = []feature.Precision{feature.Float64, feature.Float32}

func TestParseRideEvent(t *testing.T) {
	ok := []struct {
		name, in string
		want     feature.Features
		id, key  string
	}{
		{"the original's ride", ride("130", "205", "3.66"), feats(130, 205, 3.66), "123", "123"},
		{"integral float ids are the integers", ride("130.0", "205.00", "3.66"), feats(130, 205, 3.66), "123", "123"},
		{"exponent id", ride("1.3e2", "2.05E2", "3.66"), feats(130, 205, 3.66), "123", "123"},
		{"largest id", ride("2147483647", "1", "0"), feats(math.MaxInt32, 1, 0), "123", "123"},
		{"integer distance", ride("1", "1", "4"), feats(1, 1, 4), "123", "123"},
		{"zero distance", ride("1", "1", "0"), feats(1, 1, 0), "123", "123"},
		{"tiny distance underflows to 0", ride("1", "1", "1e-400"), feats(1, 1, 0), "123", "123"},
		{"string ride id kept as sent", withID(`"abc-1"`), feats(1, 2, 1), `"abc-1"`, "abc-1"},
		{"escaped ride id", withID(`"a\"b\u00e9"`), feats(1, 2, 1), `"a\"b\u00e9"`, `a"bé`},
		{"surrogate pair escape", withID(`"\ud83d\ude00"`), feats(1, 2, 1), `"\ud83d\ude00"`, "😀"},
		{"UTF-8 ride id", withID(`"ride-é/42"`), feats(1, 2, 1), `"ride-é/42"`, "ride-é/42"},
		{"256-character ride id", withID(`"` + strings.Repeat("é", 256) + `"`), feats(1, 2, 1), `"` + strings.Repeat("é", 256) + `"`, strings.Repeat("é", 256)},
		{"unknown fields ignored", `{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1.5, "x": [1, {"a": 1}]}, "ride_id": 7, "extra": {"ride": 1}}`, feats(1, 2, 1.5), "7", "7"},
		{"escaped key names are the names (as json.loads reads them)", `{"\u0072ide": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": 7}`, feats(1, 2, 1), "7", "7"},
		// A location id as a string of its digits is the id: the original's
		// '%s_%s' % (PU, DO) and str(PU) write "130" and 130 alike.
		{"ids as strings", ride(`"130"`, `"205"`, "3.66"), feats(130, 205, 3.66), "123", "123"},
		{"one id as a string", ride("130", `"205"`, "3.66"), feats(130, 205, 3.66), "123", "123"},
		{"largest id as a string", ride(`"2147483647"`, `"1"`, "0"), feats(math.MaxInt32, 1, 0), "123", "123"},
		{"escaped digits are the digits (as json.loads reads them)", ride(`"\u0031\u0033\u0030"`, "205", "3.66"), feats(130, 205, 3.66), "123", "123"},
		{"white space anywhere", " \r\n\t{ \"ride_id\" : 7 , \"ride\" : { \"trip_distance\" : 1 , \"DOLocationID\" : 2 , \"PULocationID\" : 1 } } \n", feats(1, 2, 1), "7", "7"},
	}
	for _, c := range ok {
		for _, p := range precisions {
			t.Run(c.name+"/"+p.String(), func(t *testing.T) {
				got, err := ParseRideEvent([]byte(c.in), p)
				require.NoError(t, err)
				assert.Equal(t, c.want, got.Features)
				assert.Equal(t, c.id, string(got.RideID))
				assert.Equal(t, c.key, got.PartitionKey())
			})
		}
	}
}

// Every error path, with its exact message: what a producer reads.
func TestParseRideEventErrors(t *testing.T) {
	long := strings.Repeat("x", 300)
	cases := []struct{ name, in, want string }{
		// The record as a whole.
		{"oversized", withID(`1, "pad": "` + strings.Repeat("x", MaxEventBytes) + `"`), "record: 65629 bytes, over the 65536-byte limit of a ride event"},
		{"empty", ``, "record: empty"},
		{"white space only", " \n", "record: empty"},
		{"the original's step-4 record", `Hi test 1`, "record: not valid JSON: invalid character 'H' at start of value"},
		{"truncated", `{"ride": `, "ride: not valid JSON: the record ends too early (byte offset 9)"},
		{"truncated array", `[1, 2`, "record: not valid JSON: the record ends too early (byte offset 5)"},
		{"two values", ride("1", "2", "3") + ` {}`, "record: not valid JSON: invalid character '{' after top-level value (byte offset 85)"},
		{"trailing garbage", ride("1", "2", "3") + `x`, "record: not valid JSON: invalid character 'x' after top-level value (byte offset 84)"},
		{"trailing comma", `{"ride_id": 1,}`, "record: not valid JSON: invalid character '}' at start of string (expecting '\"') (byte offset 14)"},
		{"single quotes", `{'ride': 1}`, "record: not valid JSON: invalid character '\\'' at start of string (expecting '\"') (byte offset 1)"},
		{"byte order mark", "\ufeff" + ride("1", "2", "3"), "record: not valid JSON: invalid character '\\ufeff' at start of value"},
		{"an array", `[1, 2]`, "record: must be a JSON object, got an array"},
		{"a string", `"ride"`, `record: must be a JSON object, got a string "ride"`},
		{"a number", `123`, "record: must be a JSON object, got 123"},
		{"null", `null`, "record: must be a JSON object, got null"},
		{"too deep", `{"x": ` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`, "x.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.…: not valid JSON: exceeded max depth (byte offset 10005)"},

		// Keys: once each, in their exact case.
		{"ride twice", `{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride": {"PULocationID": 3}, "ride_id": 1}`, "ride: duplicate key: a key may appear only once in an object"},
		{"ride twice, once escaped", `{"ride": {}, "\u0072ide": {}, "ride_id": 1}`, "ride: duplicate key: a key may appear only once in an object"},
		{"ride_id twice", withID(`1, "ride_id": 2`), "ride_id: duplicate key: a key may appear only once in an object"},
		{"id twice", `{"ride": {"PULocationID": 1, "PULocationID": 2, "DOLocationID": 2, "trip_distance": 1}, "ride_id": 1}`, "ride.PULocationID: duplicate key: a key may appear only once in an object"},
		{"twice in an unknown field", withID(`1, "meta": {"tags": [{"a": 1, "a": 2}]}`), "meta.tags.0.a: duplicate key: a key may appear only once in an object"},
		{"the empty key twice", `{"": 1, "": 2}`, `"": duplicate key: a key may appear only once in an object`},
		{"a long key twice", `{"` + long + `": 1, "` + long + `": 2}`, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…: duplicate key: a key may appear only once in an object"},
		{"RIDE", `{"RIDE": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": 1}`, `ride: missing (found "RIDE": keys are case-sensitive)`},
		{"Ride_Id", `{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}, "Ride_Id": 1}`, `ride_id: missing (found "Ride_Id": keys are case-sensitive)`},
		{"pulocationid", `{"ride": {"pulocationid": 1, "DOLocationID": 2, "trip_distance": 1}, "ride_id": 1}`, `ride.PULocationID: missing (found "pulocationid": keys are case-sensitive)`},
		{"Trip_Distance", `{"ride": {"PULocationID": 1, "DOLocationID": 2, "Trip_Distance": 1}, "ride_id": 1}`, `ride.trip_distance: missing (found "Trip_Distance": keys are case-sensitive)`},

		// UTF-8, anywhere.
		{"invalid UTF-8 in ride_id", withID("\"a\xffb\""), "ride_id: not valid UTF-8 (byte offset 82): a record must be UTF-8 text"},
		{"invalid UTF-8 in an unknown field", withID("1, \"note\": \"\xc3\""), "note: not valid UTF-8 (byte offset 92): a record must be UTF-8 text"},
		{"invalid UTF-8 in a key", "{\"ri\xffde\": 1}", "record: not valid UTF-8 (byte offset 4): a record must be UTF-8 text"},
		{"UTF-16 surrogate encoded in UTF-8", withID("\"\xed\xa0\x80\""), "ride_id: not valid UTF-8 (byte offset 81): a record must be UTF-8 text"},
		{"lone surrogate escape", withID(`"\ud800"`), "ride_id: not valid JSON: invalid surrogate pair `\\ud800\"}` in string (byte offset 81)"},
		{"control character in a string", withID("\"a\tb\""), "ride_id: not valid JSON: invalid character '\\t' in string (expecting non-control character) (byte offset 82)"},

		// ride.
		{"no ride", `{"ride_id": 1}`, "ride: missing"},
		{"ride null", `{"ride": null, "ride_id": 1}`, "ride: must be a JSON object, got null"},
		{"ride a number", `{"ride": 5, "ride_id": 1}`, "ride: must be a JSON object, got 5"},
		{"ride a string", `{"ride": "130,205,3.66", "ride_id": 1}`, `ride: must be a JSON object, got a string "130,205,3.66"`},
		{"ride an array", `{"ride": [130, 205, 3.66], "ride_id": 1}`, "ride: must be a JSON object, got an array"},

		// ride_id.
		{"no ride_id", `{"ride": {"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1}}`, "ride_id: missing"},
		{"null ride_id", withID(`null`), "ride_id: must be a JSON number or string, got null"},
		{"boolean ride_id", withID(`true`), "ride_id: must be a JSON number or string, got true"},
		{"object ride_id", withID(`{}`), "ride_id: must be a JSON number or string, got an object"},
		{"array ride_id", withID(`[1]`), "ride_id: must be a JSON number or string, got an array"},
		{"empty ride_id", withID(`""`), "ride_id: must hold 1 to 256 characters, got 0"},
		{"long ride_id", withID(`"` + strings.Repeat("é", 257) + `"`), "ride_id: must hold 1 to 256 characters, got 257"},
		{"long numeric ride_id", withID(strings.Repeat("1", 257)), "ride_id: must hold 1 to 256 characters, got 257"},

		// Location ids.
		{"id missing", `{"ride": {"DOLocationID": 2, "trip_distance": 1}, "ride_id": 1}`, "ride.PULocationID: missing"},
		{"id null", ride("130", "null", "3.66"), "ride.DOLocationID: must be a JSON number or a string of digits, got null"},
		{"id boolean", ride("true", "205", "3.66"), "ride.PULocationID: must be a JSON number or a string of digits, got true"},
		{"id object", ride(`{"id": 130}`, "205", "3.66"), "ride.PULocationID: must be a JSON number or a string of digits, got an object"},
		{"id array", ride(`[130]`, "205", "3.66"), "ride.PULocationID: must be a JSON number or a string of digits, got an array"},
		{"id fractional", ride("130.5", "205", "3.66"), "ride.PULocationID: must be an integer location id, got 130.5"},
		{"id zero", ride("130", "0", "3.66"), "ride.DOLocationID: must be a location id from 1 to 2147483647, got 0"},
		{"id negative", ride("-4", "205", "3.66"), "ride.PULocationID: must be a location id from 1 to 2147483647, got -4"},
		{"id too large", ride("2147483648", "205", "3.66"), "ride.PULocationID: must be a location id from 1 to 2147483647, got 2147483648"},
		{"id beyond int64", ride("99999999999999999999", "205", "3.66"), "ride.PULocationID: must be a location id from 1 to 2147483647, got 99999999999999999999"},
		{"id huge float", ride("1e20", "205", "3.66"), "ride.PULocationID: must be a location id from 1 to 2147483647, got 1e20"},
		{"id beyond float64", ride("1e400", "205", "3.66"), "ride.PULocationID: must be a finite number, got 1e400"},
		{"id of many digits", ride("1"+strings.Repeat("0", 500), "205", "3.66"), "ride.PULocationID: must be a finite number, got 1000000000000000000000000000000000000000…"},

		{"id as a zero string", ride("130", `"0"`, "3.66"), `ride.DOLocationID: must be a location id from 1 to 2147483647, got a string "0"`},
		{"id as a negative string", ride("130", `"-4"`, "3.66"), `ride.DOLocationID: must be a location id from 1 to 2147483647, got a string "-4"`},
		{"id as a too large string", ride("130", `"2147483648"`, "3.66"), `ride.DOLocationID: must be a location id from 1 to 2147483647, got a string "2147483648"`},
		{"id as a beyond int64 string", ride("130", `"99999999999999999999"`, "3.66"), `ride.DOLocationID: must be a location id from 1 to 2147483647, got a string "99999999999999999999"`},
		{"id as a long string", ride(`"`+long+`"`, "205", "3.66"), `ride.PULocationID: must be an integer location id, as a number (130) or a string of its digits ("130"), got a string "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…`},

		// trip_distance.
		{"distance missing", `{"ride": {"PULocationID": 1, "DOLocationID": 2}, "ride_id": 1}`, "ride.trip_distance: missing"},
		{"distance as string", ride("130", "205", `"3.66"`), `ride.trip_distance: must be a JSON number, got a string "3.66"`},
		{"distance NaN string", ride("130", "205", `"NaN"`), `ride.trip_distance: must be a JSON number, got a string "NaN"`},
		{"distance long string", ride("130", "205", `"`+long+`"`), `ride.trip_distance: must be a JSON number, got a string "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…`},
		{"distance NaN literal", ride("130", "205", `NaN`), "ride.trip_distance: not valid JSON: invalid character 'N' at start of value (byte offset 69)"},
		{"distance Infinity literal", ride("130", "205", `Infinity`), "ride.trip_distance: not valid JSON: invalid character 'I' at start of value (byte offset 69)"},
		{"distance null", ride("130", "205", `null`), "ride.trip_distance: must be a JSON number, got null"},
		{"distance boolean", ride("130", "205", `false`), "ride.trip_distance: must be a JSON number, got false"},
		{"distance beyond float64", ride("130", "205", `1e400`), "ride.trip_distance: must be a finite number, got 1e400"},
		{"distance negative", ride("130", "205", `-1.5`), "ride.trip_distance: must be ≥ 0, got -1.5"},
		{"distance leading zero", ride("130", "205", `03.66`), "ride: not valid JSON: invalid character '3' after object value (expecting ',' or '}') (byte offset 70)"},
	}
	// A string must hold the digits of an integer exactly as str(130)
	// writes them: the original keys any other spelling as a key no model
	// saw ("130.0_205"), silently. A JSON escape is read as json.loads
	// reads it.
	for _, id := range []string{`"130.0"`, `" 130"`, `"130 "`, `"1e2"`, `"+130"`, `"0130"`, `""`, `"-0"`, `"1_30"`, `"١٣٠"`, `"0x82"`, `"130\n"`, `"\u0031\u0033\u0030.0"`} {
		cases = append(cases, struct{ name, in, want string }{"id as the string " + id, ride(id, "205", "3.66"),
			`ride.PULocationID: must be an integer location id, as a number (130) or a string of its digits ("130"), got a string ` + id})
	}
	for _, c := range cases {
		for _, p := range precisions {
			t.Run(c.name+"/"+p.String(), func(t *testing.T) {
				checkError(t, c.in, p, c.want)
			})
		}
	}
}

// A model that reads a location id as a number (its column is
// "PULocationID", not "PULocationID=130") refuses that id as a string: the
// original's DictVectorizer one-hots a string, "PULocationID=130", a column
// such a model does not have, and scores the ride as if the id were 0. The
// id it reads as a key or a category it takes as a string.
func TestParseRideEventNumberIDs(t *testing.T) {
	const asNumber = `must be a JSON number: the model reads %s as a number, got a string "%s"`
	for _, p := range precisions {
		for _, c := range []struct {
			numbers feature.NumberIDs
			pu, do  string
			want    string
		}{
			{feature.PUNumber, `"130"`, "205", "ride.PULocationID: " + fmt.Sprintf(asNumber, "PULocationID", "130")},
			{feature.DONumber, "130", `"205"`, "ride.DOLocationID: " + fmt.Sprintf(asNumber, "DOLocationID", "205")},
			{feature.PUNumber | feature.DONumber, "130", `"205"`, "ride.DOLocationID: " + fmt.Sprintf(asNumber, "DOLocationID", "205")},
			{feature.PUNumber, `"\u0031\u0033\u0030"`, "205", "ride.PULocationID: " + fmt.Sprintf(asNumber, "PULocationID", `\u0031\u0033\u0030`)},
			// The string rules come first, for every model.
			{feature.PUNumber, `"130.0"`, "205", `ride.PULocationID: must be an integer location id, as a number (130) or a string of its digits ("130"), got a string "130.0"`},
		} {
			in := ride(c.pu, c.do, "3.66")
			_, err := ParseRideEventFor([]byte(in), p, c.numbers)
			require.Error(t, err, in)
			assert.Equal(t, c.want, err.Error(), in)
			var fe *feature.FieldError
			require.ErrorAs(t, err, &fe)
			// Counted without the value (feature.FieldError.Class).
			assert.True(t, strings.HasPrefix(c.want, fe.Class()+", got a string "), "%s: class %q", in, fe.Class())
		}
		// The id the model does not read as a number is taken as a string.
		for numbers, in := range map[feature.NumberIDs]string{
			feature.PUNumber: ride("130", `"205"`, "3.66"),
			feature.DONumber: ride(`"130"`, "205", "3.66"),
			0:                ride(`"130"`, `"205"`, "3.66"),
		} {
			got, err := ParseRideEventFor([]byte(in), p, numbers)
			require.NoError(t, err, in)
			assert.Equal(t, feats(130, 205, 3.66), got.Features, in)
		}
	}
}

// checkError checks ParseRideEvent's error on in: want, exactly, a
// *feature.FieldError naming its field first, bounded and valid UTF-8.
func checkError(t *testing.T, in string, p feature.Precision, want string) {
	t.Helper()
	_, err := ParseRideEvent([]byte(in), p)
	var fe *feature.FieldError
	require.True(t, errors.As(err, &fe), "want a *feature.FieldError, got %v", err)
	assert.Equal(t, want, err.Error())
	assert.True(t, strings.HasPrefix(err.Error(), fe.Field+": "))
	assert.True(t, utf8.ValidString(err.Error()))
	assert.LessOrEqual(t, len(err.Error()), maxErrorBytes)
}

// A distance beyond float32 is a bad record for a float32 model, as
// scikit-learn (which converts X to float32, then refuses what is not
// finite) and XGBoost refuse it; a float64 model takes it. The bound is
// where the float64 the number parses to becomes +Inf as a float32,
// feature.Float32Overflow = 2^128 − 2^103: each side of it, bit for bit.
func TestParseRideEventPrecision(t *testing.T) {
	const beyond = "ride.trip_distance: must be below 3.4028235677973366e+38 (the model reads float32), got "
	// The bound is MaxFloat32 plus half its ulp; the float64 below it rounds
	// down to MaxFloat32.
	require.Equal(t, math.MaxFloat32+0x1p103, feature.Float32Overflow)
	below := math.Float64frombits(0x47efffffefffffff)
	require.Equal(t, below, math.Nextafter(feature.Float32Overflow, 0))
	require.Equal(t, float32(math.MaxFloat32), float32(below))
	accepted := []struct {
		name, dist string
		bits       uint64
	}{
		{"MaxFloat32", "3.4028234663852886e+38", math.Float64bits(math.MaxFloat32)},
		{"above MaxFloat32, rounding down to it", "3.4028235e+38", math.Float64bits(3.4028235e+38)},
		{"the largest float64 under the bound", "3.4028235677973362e+38", 0x47efffffefffffff},
		// One below the midpoint of that float64 and the bound: it parses to the float64 below.
		{"just under the midpoint", "3.40282356779733642748073463979561713663e38", 0x47efffffefffffff},
	}
	for _, c := range accepted {
		for _, p := range precisions {
			got, err := ParseRideEvent([]byte(ride("130", "205", c.dist)), p)
			require.NoError(t, err, "%s, %v", c.name, p)
			assert.Equal(t, c.bits, math.Float64bits(got.Distance), "%s, %v", c.name, p)
		}
	}
	refused := []struct{ name, dist, got string }{
		{"the bound", "3.4028235677973366e+38", "3.4028235677973366e+38"},
		{"the bound, every digit", "340282356779733661637539395458142568448", "3.4028235677973366e+38"},
		// The midpoint parses to the bound (ties to even), so it is refused.
		{"the midpoint", "3.40282356779733642748073463979561713664e38", "3.4028235677973366e+38"},
		{"1e39", "1e39", "1e+39"},
		{"1e300", "1e300", "1e+300"},
		{"the largest float64", "1.7976931348623157e308", "1.7976931348623157e+308"},
	}
	for _, c := range refused {
		checkError(t, ride("130", "205", c.dist), feature.Float32, beyond+c.got)
		checkError(t, `{"ride_id": 1, "ride": {"trip_distance": `+c.dist+`, "DOLocationID": 2, "PULocationID": 1}}`, feature.Float32, beyond+c.got)
		got, err := ParseRideEvent([]byte(ride("130", "205", c.dist)), feature.Float64)
		require.NoError(t, err, "%s: a float64 model takes it", c.name)
		want, err := strconv.ParseFloat(c.dist, 64)
		require.NoError(t, err)
		assert.Equal(t, math.Float64bits(want), math.Float64bits(got.Distance), c.name)
	}
	// Negative or beyond float64: refused by the rules before, for every model.
	for _, p := range precisions {
		checkError(t, ride("130", "205", "-1e39"), p, "ride.trip_distance: must be ≥ 0, got -1e+39")
		checkError(t, ride("130", "205", "-3.4028235677973366e+38"), p, "ride.trip_distance: must be ≥ 0, got -3.4028235677973366e+38")
		checkError(t, ride("130", "205", "1e400"), p, "ride.trip_distance: must be a finite number, got 1e400")
		checkError(t, ride("130", "205", "-1e400"), p, "ride.trip_distance: must be a finite number, got -1e400")
	}
}

// maxErrorBytes bounds an error's text: it goes into logs, which never carry
// more than a bounded prefix of a record.
const maxErrorBytes = 256

func TestPartitionKey(t *testing.T) {
	for in, want := range map[string]string{`123`: "123", `"abc"`: "abc", `"a\"b"`: `a"b`, `1.5e3`: "1.5e3"} {
		e, err := ParseRideEvent([]byte(withID(in)), feature.Float32)
		require.NoError(t, err)
		assert.Equal(t, want, e.PartitionKey())
	}
}

// FuzzParseRideEvent: whatever the bytes, parsing does not panic; what it
// accepts is a valid ride whose id is valid JSON and valid UTF-8 (it is
// echoed into the prediction event); what it refuses gets a bounded,
// valid UTF-8 message naming a field.
func FuzzParseRideEvent(f *testing.F) {
	f.Add([]byte(ride("130", "205", "3.66")))
	f.Add([]byte(`{"ride": {"PULocationID": 1.0, "DOLocationID": 2e0, "trip_distance": 0}, "ride_id": "x"}`))
	f.Add([]byte(withID(`"\ud83d\ude00"`)))
	f.Add([]byte(withID(`1, "ride": {}`)))
	f.Add([]byte(`{"RIDE": {"pulocationid": 1}, "Ride_Id": 1}`))
	f.Add([]byte(withID("\"a\xffb\"")))
	f.Add([]byte(`Hi test 1`))
	f.Add([]byte(ride("130", "205", "1e39")))
	f.Add([]byte(ride("130", "205", "3.4028235677973366e+38")))
	f.Add([]byte(ride("130", "205", "3.4028235677973362e+38")))
	f.Add([]byte(ride(`"130"`, `"205"`, "3.66")))
	f.Add([]byte(ride(`"\u0031\u0033\u0030"`, "205", "3.66")))
	for _, id := range []string{`"130.0"`, `" 130"`, `"1e2"`, `"+130"`, `"0130"`, `""`, `"0"`, `"-4"`, `"2147483648"`} {
		f.Add([]byte(ride(id, "205", "3.66")))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A float32 model refuses what a float64 one does, and a distance
		// beyond float32 besides; what it accepts, a float64 one reads alike.
		e32, err32 := ParseRideEvent(data, feature.Float32)
		e, err := ParseRideEvent(data, feature.Float64)
		switch {
		case err32 == nil:
			require.NoError(t, err, "%q", data)
			require.Equal(t, e, e32, "%q", data)
			require.False(t, math.IsInf(float64(float32(e32.Distance)), 0), "%q", data)
		case err == nil:
			require.GreaterOrEqual(t, e.Distance, feature.Float32Overflow, "%q", data)
			require.Equal(t, "ride.trip_distance: must be below 3.4028235677973366e+38 (the model reads float32), got "+
				strconv.FormatFloat(e.Distance, 'g', -1, 64), err32.Error())
		default:
			require.Equal(t, err.Error(), err32.Error(), "%q", data)
		}
		// A model that reads the ids as numbers takes what the others take,
		// alike, but for an id sent as a string.
		en, errn := ParseRideEventFor(data, feature.Float64, feature.PUNumber|feature.DONumber)
		switch {
		case errn == nil:
			require.NoError(t, err, "%q", data)
			require.Equal(t, e, en, "%q", data)
		case err == nil:
			require.Contains(t, errn.Error(), " as a number, got a string ", "%q", data)
		}
		if err != nil {
			var fe *feature.FieldError
			require.ErrorAs(t, err, &fe)
			require.NotEmpty(t, fe.Field)
			require.True(t, utf8.ValidString(err.Error()), "%q", err)
			require.LessOrEqual(t, len(err.Error()), maxErrorBytes, "%q", err)
			return
		}
		require.True(t, utf8.Valid(data), "accepted invalid UTF-8: %q", data)
		require.Positive(t, e.PU)
		require.Positive(t, e.DO)
		require.False(t, math.IsNaN(e.Distance) || math.IsInf(e.Distance, 0) || e.Distance < 0)
		require.True(t, json.Valid(e.RideID))
		require.NotEmpty(t, e.PartitionKey())
		require.True(t, utf8.ValidString(e.PartitionKey()))
		// The prediction event that echoes the id is valid JSON.
		p := PredictionEvent{Model: "m", Version: "v", Prediction: Prediction{RideDuration: 1, RideID: e.RideID}}
		require.True(t, json.Valid(p.AppendJSON(nil)))
	})
}

func feats(pu, do int32, distance float64) feature.Features {
	return feature.Features{Key: feature.Key{PU: pu, DO: do}, Distance: distance}
}
