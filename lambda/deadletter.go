package lambda

import (
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rideduration/rideduration/feature"
)

// badRecord is a record that can never be predicted, and why.
type badRecord struct {
	index  int
	reason string
}

// DeadLetter is a record of the dead-letter stream: the raw ride record, where
// it came from, and why it was refused.
type DeadLetter struct {
	Reason         string `json:"reason"`
	EventSourceARN string `json:"event_source_arn,omitempty"`
	EventID        string `json:"event_id"`
	SequenceNumber string `json:"sequence_number"`
	PartitionKey   string `json:"partition_key"`
	Data           []byte `json:"data"` // base64 in JSON: the record may not be text
	// Truncated is set when the record was longer than feature.MaxEventBytes: Data
	// then holds its first feature.MaxEventBytes bytes, so that the dead letter fits
	// in one Kinesis record (1 MiB).
	Truncated bool `json:"truncated,omitempty"`
	Size      int  `json:"size"` // of the raw record
}

func deadLetters(recs []events.KinesisEventRecord, bad []badRecord) []entry {
	out := make([]entry, len(bad))
	for i, b := range bad {
		rec := &recs[b.index]
		d := DeadLetter{
			Reason:         b.reason,
			EventSourceARN: rec.EventSourceArn,
			EventID:        rec.EventID,
			SequenceNumber: rec.Kinesis.SequenceNumber,
			PartitionKey:   rec.Kinesis.PartitionKey,
			Data:           rec.Kinesis.Data,
			Size:           len(rec.Kinesis.Data),
		}
		if len(d.Data) > feature.MaxEventBytes {
			d.Data, d.Truncated = d.Data[:feature.MaxEventBytes], true
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
		out[i] = entry{data: data, key: key, index: b.index}
	}
	return out
}
