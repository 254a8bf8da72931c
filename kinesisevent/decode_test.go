package kinesisevent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixture is the original's test event, as Lambda writes it.
func fixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "handler", "testdata", "kinesis-test-event.json"))
	require.NoError(t, err)
	return b
}

// batch is the JSON of an n-record event as Lambda sends one: what
// json.Marshal writes of events.KinesisEvent, compact.
func batch(n int) []byte {
	ev := events.KinesisEvent{Records: make([]events.KinesisEventRecord, n)}
	for i := range ev.Records {
		seq := fmt.Sprintf("4963008166608487929058118563032477039860870488080252%04d", i)
		ev.Records[i] = events.KinesisEventRecord{
			AwsRegion:         "us-east-1",
			EventID:           "shardId-000000000000:" + seq,
			EventName:         "aws:kinesis:record",
			EventSource:       "aws:kinesis",
			EventSourceArn:    "arn:aws:kinesis:us-east-1:123456789012:stream/ride_events",
			EventVersion:      "1.0",
			InvokeIdentityArn: "arn:aws:iam::123456789012:role/lambda-kinesis-role",
			Kinesis: events.KinesisRecord{
				ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: time.Unix(1681552724, int64(i)*1e6)},
				Data: fmt.Appendf(nil, `{"ride": {"PULocationID": %d, "DOLocationID": %d, "trip_distance": %g}, "ride_id": %d}`,
					1+i*37%265, 1+i*91%265, float64(i%300)/10, 1000+i),
				PartitionKey:         fmt.Sprint(1000 + i),
				SequenceNumber:       seq,
				KinesisSchemaVersion: "1.0",
			},
		}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

// same requires Decode to give json.Unmarshal's answer, and says whether
// the fast path gave it.
func same(t *testing.T, d *Decoder, payload []byte) (fast bool) {
	t.Helper()
	var want events.KinesisEvent
	wantErr := json.Unmarshal(payload, &want)
	_, fast = d.fast(payload)
	got, err := d.Decode(payload)
	if wantErr != nil {
		require.False(t, fast, "the fast path read what encoding/json refuses: %q", payload)
		require.EqualError(t, err, wantErr.Error())
		return false
	}
	require.NoError(t, err)
	require.Equal(t, want, got, "%q", payload)
	return fast
}

func TestDecode(t *testing.T) {
	var d Decoder
	for name, payload := range map[string][]byte{
		"the original's event": fixture(t),
		"100 records":          batch(100),
		"one record":           batch(1),
		"no record":            []byte(`{"Records": []}`),
		"no Records":           []byte(`{}`),
		"empty members":        []byte(`{"Records":[{},{"kinesis":{}},{"kinesis":{"data":""}}]}`),
		"unknown members":      []byte(`{"x":[1,{"a":null},true],"Records":[{"new":{"b":[-1.5e3]},"kinesis":{"extra":false,"data":"aGk="}}],"y":"z"}`),
		"UTF-8":                []byte(`{"Records":[{"eventID":"é","kinesis":{"partitionKey":"ß"}}]}`),
	} {
		assert.True(t, same(t, &d, payload), "%s: the fast path gave up", name)
	}
}

// What the fast path leaves to encoding/json, which then decides: the
// answer is the same.
func TestDecodeFallback(t *testing.T) {
	var d Decoder
	for _, payload := range []string{
		`{"Records":[{"eventID":"a\"b"}]}`,                        // an escape
		`{"Records":[{"EventID":"x"}]}`,                           // a name in another case
		`{"records":[{"eventID":"x"}]}`,                           //
		`{"Records":[{"kinesis":{"Data":"aGk="}}]}`,               //
		`{"Records":[{"kinesis":{"ſequenceNumber":"1"}}]}`,        // ſ (U+017F) folds to s
		`{"Records":[{"Kinesis":{"data":"aGk="}}]}`,               // K (U+212A, Kelvin) folds to k
		`{"Records":[{"eventſource":"x"}]}`,                       //
		`{"Recordſ":[{"eventID":"x"}]}`,                           //
		`{"Records":[{"éventID":"x"}]}`,                           // non-ASCII, not a field's
		"{\"Records\":[{\"event\xffID\":\"x\"}]}",                 // invalid UTF-8 in a name
		`{"Records":[{"eventID":"x","eventID":"y"}]}`,             // a member twice
		`{"Records":[],"Records":[{"eventID":"y"}]}`,              //
		`{"Records":[{"kinesis":{"data":"aGk=","data":"aGk="}}]}`, //
		`{"Records":[{"eventID":null}]}`,                          // null
		`{"Records":null}`,                                        //
		`{"Records":[null]}`,                                      //
		`{"Records":[{"kinesis":{"approximateArrivalTimestamp":null}}]}`,
		`{"Records":[{"kinesis":{"data":"a"}}]}`,                                          // bad base64
		`{"Records":[{"kinesis":{"data":"aGk"}}]}`,                                        // unpadded
		`{"Records":[{"kinesis":{"approximateArrivalTimestamp":"1"}}]}`,                   // a string for a number
		`{"Records":[{"kinesis":{"approximateArrivalTimestamp":1e999}}]}`,                 // out of range
		`{"Records":[{"eventID":1}]}`,                                                     // a number for a string
		"{\"Records\":[{\"eventID\":\"\xff\"}]}",                                          // invalid UTF-8
		`{"Records":[{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]}`, // deep
		`{"Records":[]} x`, `{"Records":[],}`, `[]`, ``, `{"Records":[{"eventID":"x"}`,
	} {
		assert.False(t, same(t, &d, []byte(payload)), "%s", payload)
	}
}

// A Decoder's buffers serve the next event; the records it gives are the
// next event's.
func TestDecodeReuse(t *testing.T) {
	var d Decoder
	big, small := batch(100), batch(3)
	for _, payload := range [][]byte{big, small, big, fixture(t)} {
		same(t, &d, payload)
	}
}

// FuzzDecode: whenever the fast path answers, encoding/json gives the
// same records.
func FuzzDecode(f *testing.F) {
	f.Add(fixture(f))
	f.Add(batch(2))
	f.Add([]byte(`{"x":[1,{"a":null},true],"Records":[{"new":{"b":[-1.5e3]},"kinesis":{"extra":false,"data":"aGk="}}],"y":"z"}`))
	// Names that encoding/json matches by Unicode case folding: ſ (U+017F)
	// is s, K (U+212A) is k; é is no field's.
	f.Add([]byte(`{"Records":[{"eventID":"1","kinesis":{"ſequenceNumber":"2","data":"aGk="}}]}`))
	f.Add([]byte(`{"Records":[{"Kinesis":{"partitionKey":"k"},"awsRegion":"r"}]}`))
	f.Add([]byte(`{"Recordſ":[{"éventID":"x","eventName":"ÉVENTNAME"}]}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		var d Decoder
		same(t, &d, payload)
	})
}

// BenchmarkDecode100 reads a 100-record event: the Decoder, and
// encoding/json as aws-lambda-go does.
func BenchmarkDecode100(b *testing.B) {
	payload := batch(100)
	b.Run("Decoder", func(b *testing.B) {
		var d Decoder
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			if ev, err := d.Decode(payload); err != nil || len(ev.Records) != 100 {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			var ev events.KinesisEvent
			if err := json.Unmarshal(payload, &ev); err != nil || len(ev.Records) != 100 {
				b.Fatal(err)
			}
		}
	})
}
