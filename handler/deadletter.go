package handler

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rideduration/rideduration/putrecords"
	"github.com/rideduration/rideduration/wire"
)

// badRecord is a record that can never be predicted, and why.
type badRecord struct {
	userRecord
	reason string
	cause  error // its error, whose Class the log's summary counts
}

// maxKeyChars bounds a Kinesis partition key, in characters (the bound a
// ride id has for the same reason).
const maxKeyChars = wire.MaxRideIDLen

// partitionKey is the key of a bad record's dead letter: a user record's
// own (from its aggregate's table), so that the dead letters of one
// producer's key stay in order as its rides do; a plain record's, or an
// aggregate's as a whole, its Kinesis record's. A user record's key that
// Kinesis would refuse (it takes 1 to 256 characters of UTF-8) gives way to the
// Kinesis record's: it comes from the producer's aggregate, not from
// Kinesis, and one key refused fails a whole PutRecords call.
func (b *badRecord) partitionKey(rec *events.KinesisEventRecord) string {
	if n := utf8.RuneCountInString(b.key); b.sub >= 0 && n >= 1 && n <= maxKeyChars && utf8.ValidString(b.key) {
		return b.key
	}
	return rec.Kinesis.PartitionKey
}

func deadLetters(recs []events.KinesisEventRecord, bad []badRecord) []putrecords.Entry {
	out := make([]putrecords.Entry, len(bad))
	for i := range bad {
		b := &bad[i]
		rec := &recs[b.index]
		d := wire.DeadLetter{
			Reason:         b.reason,
			EventSourceARN: rec.EventSourceArn,
			EventID:        rec.EventID,
			SequenceNumber: rec.Kinesis.SequenceNumber,
			PartitionKey:   b.partitionKey(rec),
			Data:           b.data,
			Size:           len(b.data),
		}
		if b.sub >= 0 {
			d.SubSequenceNumber = &b.sub
		}
		if len(d.Data) > wire.MaxEventBytes {
			d.Data, d.Truncated = d.Data[:wire.MaxEventBytes], true
		}
		data, err := json.Marshal(d)
		if err != nil {
			panic(err) // unreachable: strings and bytes only
		}
		key := d.PartitionKey
		if key == "" {
			key = "dead-letter" // hand-made events may lack one
		}
		out[i] = putrecords.Entry{Data: data, Key: key, Index: b.index}
	}
	return out
}
