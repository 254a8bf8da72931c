// Package kinesisevent owns the JSON of the function's invocation: the
// Kinesis event Lambda invokes it with (an events.KinesisEvent, read by a
// Decoder) and the response it returns (Response, written by AppendJSON).
//
// A Decoder reads the event as Lambda writes it (no escapes) in one pass
// over the bytes (internal/jsonscan), with no reflection and one allocation
// an event, and hands anything else to encoding/json. Either way the result
// is json.Unmarshal's, field for field: FuzzDecode checks it. AppendJSON
// writes what json.Marshal writes, byte for byte, from prediction events
// already encoded. How much faster both are than aws-lambda-go's
// reflection is measured in docs/performance.md (BenchmarkDecode100,
// BenchmarkInvoke100).
package kinesisevent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rideduration/rideduration/internal/jsonscan"
)

// A Decoder reads Kinesis events. Its buffers are reused from one event to
// the next: the records of an event, and their data, are valid until the
// next Decode. A Decoder is not safe for concurrent use.
type Decoder struct {
	records []events.KinesisEventRecord
	data    []byte // every record's data, decoded, end to end
	text    []byte // the text of the string fields, each value once
	spans   []span // per record, where each of its string fields is in text
}

// span is a string field's value: text[from:to].
type span struct{ from, to int32 }

// Decode reads the event in payload. It is json.Unmarshal(payload, &ev),
// with ev's records and their data kept in the Decoder.
func (d *Decoder) Decode(payload []byte) (events.KinesisEvent, error) {
	if ev, ok := d.fast(payload); ok {
		return ev, nil
	}
	var ev events.KinesisEvent
	err := json.Unmarshal(payload, &ev)
	return ev, err
}

// The string fields of a record, then of its kinesis member, in the order
// of recordNames and kinesisNames: where their spans are kept.
const (
	awsRegion = iota
	eventID
	eventName
	eventSource
	eventSourceARN
	eventVersion
	invokeIdentityArn
	encryptionType
	partitionKey
	sequenceNumber
	kinesisSchemaVersion
	stringFields
)

// The members of the event, of a record and of its kinesis object, as
// events.KinesisEvent names them. encoding/json matches names without
// regard to case: a member that is one of these in another case is
// encoding/json's to read.
var (
	eventNames   = []string{"Records"}
	recordNames  = []string{"awsRegion", "eventID", "eventName", "eventSource", "eventSourceARN", "eventVersion", "invokeIdentityArn", "kinesis"}
	kinesisNames = []string{"approximateArrivalTimestamp", "data", "encryptionType", "partitionKey", "sequenceNumber", "kinesisSchemaVersion"}
)

// Where kinesisNames' string fields are among the spans.
const kinesisStrings = encryptionType - 2

// fast reads an event of plain JSON: no escapes, no nulls where a record's
// fields are, no member of a record twice, ASCII member names, valid UTF-8
// in the strings it keeps. It gives up (ok false) on anything else, for
// encoding/json to decide.
func (d *Decoder) fast(b []byte) (ev events.KinesisEvent, ok bool) {
	// Decoded data takes 3/4 of its base64 text: data never outgrows the
	// payload, so the records' Data can be slices of it as it fills.
	d.data = slices.Grow(d.data[:0], len(b))
	d.text = d.text[:0]
	if d.records == nil {
		d.records = make([]events.KinesisEventRecord, 0, 100) // "Records": [] is empty, not nil
	}
	d.records, d.spans = d.records[:0], d.spans[:0]
	hasRecords := false
	i, ok := object(b, 0, eventNames, func(_, i int) (int, bool) {
		hasRecords = true
		return d.recordArray(b, i)
	})
	if !ok || jsonscan.SkipSpace(b, i) != len(b) {
		return ev, false
	}
	if hasRecords {
		// One string holds the text of every string field: an allocation
		// an event, not one a field.
		text := string(d.text)
		for r := range d.records {
			rec, s := &d.records[r], d.spans[r*stringFields:]
			field := func(f int) string { return text[s[f].from:s[f].to] }
			rec.AwsRegion, rec.EventID, rec.EventName = field(awsRegion), field(eventID), field(eventName)
			rec.EventSource, rec.EventSourceArn, rec.EventVersion = field(eventSource), field(eventSourceARN), field(eventVersion)
			rec.InvokeIdentityArn = field(invokeIdentityArn)
			k := &rec.Kinesis
			k.EncryptionType, k.PartitionKey = field(encryptionType), field(partitionKey)
			k.SequenceNumber, k.KinesisSchemaVersion = field(sequenceNumber), field(kinesisSchemaVersion)
		}
		ev.Records = d.records
	}
	return ev, true
}

// object reads an object. A member named in known, given by its index, is
// read by value, and may appear once; any other is skipped, unless it is
// one of known in another case, or its name is not ASCII.
func object(b []byte, i int, known []string, value func(k, i int) (int, bool)) (int, bool) {
	i, empty, ok := jsonscan.Open(b, i, '{')
	var seen uint
	for more := ok && !empty; more; {
		var name []byte
		if name, i, ok = jsonscan.MemberName(b, i); !ok {
			return i, false
		}
		switch k := slices.Index(known, string(name)); {
		case k >= 0 && seen&(1<<k) == 0:
			seen |= 1 << k
			i, ok = value(k, i)
		case k >= 0 || !ascii(name) || folds(name, known):
			return i, false
		default:
			i, ok = jsonscan.SkipValue(b, i)
		}
		if !ok {
			return i, false
		}
		if more, i, ok = jsonscan.Next(b, i, '}'); !ok {
			return i, false
		}
	}
	return i, ok
}

// recordArray reads the Records array.
func (d *Decoder) recordArray(b []byte, i int) (int, bool) {
	i, empty, ok := jsonscan.Open(b, i, '[')
	for more := ok && !empty; more; {
		if i, ok = d.record(b, i); !ok {
			return i, false
		}
		if more, i, ok = jsonscan.Next(b, i, ']'); !ok {
			return i, false
		}
	}
	return i, ok
}

// record reads one record into a new element of d.records.
func (d *Decoder) record(b []byte, i int) (int, bool) {
	d.records = append(d.records, events.KinesisEventRecord{})
	rec := &d.records[len(d.records)-1]
	d.spans = append(d.spans, make([]span, stringFields)...)
	spans := d.spans[len(d.spans)-stringFields:]
	return object(b, i, recordNames, func(k, i int) (int, bool) {
		if k == len(recordNames)-1 { // kinesis
			return d.kinesis(b, i, &rec.Kinesis, spans)
		}
		return d.stringField(b, i, spans, k)
	})
}

// kinesis reads a record's kinesis object.
func (d *Decoder) kinesis(b []byte, i int, k *events.KinesisRecord, spans []span) (int, bool) {
	return object(b, i, kinesisNames, func(f, i int) (int, bool) {
		switch f {
		case 0: // approximateArrivalTimestamp
			num, i, ok := jsonscan.Number(b, i)
			if !ok {
				return i, false
			}
			t, err := secondsEpoch(num)
			k.ApproximateArrivalTimestamp = t
			return i, err == nil
		case 1: // data
			text, i, ok := jsonscan.PlainString(b, i)
			if !ok {
				return i, false
			}
			// As encoding/json decodes a []byte: the standard encoding,
			// padded; an empty string is an empty slice, not nil.
			at := len(d.data)
			n, err := base64.StdEncoding.Decode(d.data[at:at+base64.StdEncoding.DecodedLen(len(text))], text)
			d.data = d.data[:at+n]
			k.Data = d.data[at : at+n : at+n]
			return i, err == nil
		default:
			return d.stringField(b, i, spans, kinesisStrings+f)
		}
	})
}

// unique are the fields that differ from record to record; the others
// repeat (the region, the stream, the event name).
const unique = 1<<eventID | 1<<partitionKey | 1<<sequenceNumber

// stringField reads the string value of field f. A value of a repeating
// field equal to the previous record's is not kept twice.
func (d *Decoder) stringField(b []byte, i int, spans []span, f int) (int, bool) {
	s, i, ok := jsonscan.PlainString(b, i)
	if !ok || !utf8.Valid(s) { // encoding/json would replace the invalid bytes
		return i, false
	}
	if r := len(d.spans) - 2*stringFields; r >= 0 && unique&(1<<f) == 0 {
		if prev := d.spans[r+f]; string(d.text[prev.from:prev.to]) == string(s) {
			spans[f] = prev
			return i, true
		}
	}
	spans[f] = span{int32(len(d.text)), int32(len(d.text) + len(s))}
	d.text = append(d.text, s...)
	return i, true
}

// secondsEpoch is events.SecondsEpochTime's UnmarshalJSON of a number,
// without its second pass of encoding/json over the number.
func secondsEpoch(num []byte) (events.SecondsEpochTime, error) {
	epoch, err := strconv.ParseFloat(string(num), 64)
	if err != nil {
		return events.SecondsEpochTime{}, err
	}
	sec := int64(epoch)
	nsec := int64((epoch - float64(sec)) * 1e9)
	return events.SecondsEpochTime{Time: time.Unix(sec, nsec)}, nil
}

// ascii reports whether name is ASCII. encoding/json folds a name's case
// by Unicode's simple folding, where "ſ" (U+017F) is "s" and "K" (U+212A,
// the Kelvin sign) is "k", and reads invalid UTF-8 as U+FFFD: a name that
// is not ASCII is encoding/json's to match.
func ascii(name []byte) bool {
	for _, c := range name {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// folds reports whether name, ASCII, is one of names in another case.
func folds(name []byte, names []string) bool {
	for _, n := range names {
		if len(n) == len(name) && bytes.EqualFold(name, []byte(n)) {
			return true
		}
	}
	return false
}
