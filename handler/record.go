package handler

import (
	"iter"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/kpl"
	"github.com/rideduration/rideduration/model"
	"github.com/rideduration/rideduration/wire"
)

// userRecord is one record that should hold a ride event: a Kinesis
// record's data or, when a producer aggregated records with the Kinesis
// Producer Library (Lambda does not de-aggregate them), one user record of
// the aggregate.
type userRecord struct {
	index int    // of the Kinesis record in the event: what a failure reports
	sub   int    // of the user record in its aggregate; -1 for a plain record
	key   string // a user record's own partition key (from the aggregate's table)
	data  []byte
	err   error // the aggregate could not be read
}

// userRecords yields the user records of an event, in order, without
// collecting them. An aggregate that cannot be read (damaged, wrong MD5,
// more user records than a KPL writes: kpl.MaxUserRecords) is one bad
// record.
func userRecords(recs []events.KinesisEventRecord) iter.Seq[userRecord] {
	return func(yield func(userRecord) bool) {
		for i := range recs {
			data := recs[i].Kinesis.Data
			if !kpl.IsAggregated(data) {
				if !yield(userRecord{index: i, sub: -1, data: data}) {
					return
				}
				continue
			}
			users, err := kpl.Deaggregate(data)
			if err != nil {
				if !yield(userRecord{index: i, sub: -1, data: data, err: &feature.FieldError{Field: "record", Reason: err.Error()}}) {
					return
				}
				continue
			}
			for sub, u := range users {
				if !yield(userRecord{index: i, sub: sub, key: u.PartitionKey, data: u.Data}) {
					return
				}
			}
		}
	}
}

// parse reads the ride event of the record, for model m.
func (r userRecord) parse(m *model.Model) (wire.RideEvent, error) {
	if r.err != nil {
		return wire.RideEvent{}, r.err
	}
	return wire.ParseRideEventFor(r.data, m.Precision, m.NumberIDs)
}

// logAttrs locates the record in a log line: shard, event id, sequence
// number and, in an aggregate, the user record's sub-sequence number (as the
// KCL calls it). Never the data: a log line carries no more of a record than
// the bounded quote of its error.
func (r userRecord) logAttrs(rec *events.KinesisEventRecord) []any {
	attrs := []any{"shard", shardID(rec), "event_id", rec.EventID, "sequence_number", rec.Kinesis.SequenceNumber}
	if r.sub >= 0 {
		attrs = append(attrs, "sub_sequence_number", r.sub)
	}
	return attrs
}
