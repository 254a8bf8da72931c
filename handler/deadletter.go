package handler

import (
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rideduration/rideduration/putrecords"
	"github.com/rideduration/rideduration/wire"
)

// badRecord is a record that can never be predicted, and why.
type badRecord struct {
	userRecord
	reason string
}

func deadLetters(recs []events.KinesisEventRecord, bad []badRecord) []putrecords.Entry {
	out := make([]putrecords.Entry, len(bad))
	for i, b := range bad {
		rec := &recs[b.index]
		d := wire.DeadLetter{
			Reason:         b.reason,
			EventSourceARN: rec.EventSourceArn,
			EventID:        rec.EventID,
			SequenceNumber: rec.Kinesis.SequenceNumber,
			PartitionKey:   rec.Kinesis.PartitionKey,
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
		// Keep the ride's own partition key, so the dead letters of one
		// producer stay in order.
		key := rec.Kinesis.PartitionKey
		if key == "" {
			key = "dead-letter" // hand-made events may lack one
		}
		out[i] = putrecords.Entry{Data: data, Key: key, Index: b.index}
	}
	return out
}
