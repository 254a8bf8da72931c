// Package kpl de-aggregates the records of the Kinesis Producer Library.
//
// A producer built on the KPL packs many user records into one Kinesis
// record, and Lambda hands the function that record as it is. Its format,
// published with the KPL (awslabs/amazon-kinesis-producer,
// aggregation-format.md):
//
//	magic f3 89 9a c2 | AggregatedRecord protobuf | MD5 of the protobuf (16 bytes)
//
// The protobuf message is aggregated.proto; aggregated.pb.go is generated
// from it by protoc-gen-go, the protobuf maintainers' generator, so the
// decoding (wire format, proto2 required fields) is google.golang.org/protobuf's,
// not this package's.
package kpl

//go:generate go test -run ^TestGenerated$ -update

import (
	"bytes"
	"crypto/md5"
	"fmt"

	"google.golang.org/protobuf/proto"
)

// magic starts every aggregated record.
var magic = []byte{0xf3, 0x89, 0x9a, 0xc2}

// IsAggregated reports whether a Kinesis record's data is a KPL aggregate:
// whether it starts with the magic bytes. (No JSON text does: JSON starts
// with white space or a value, and the bytes are not valid UTF-8.)
func IsAggregated(data []byte) bool { return bytes.HasPrefix(data, magic) }

// UserRecord is one record a producer put through the KPL.
type UserRecord struct {
	PartitionKey    string
	ExplicitHashKey string // "" when the producer set none
	Data            []byte
}

// Deaggregate returns the user records of an aggregated record, in order
// (the order is the sub-sequence number of the KCL). A damaged record — too
// short, a wrong MD5, a protobuf that does not parse, a key index beyond its
// table — is an error that says which; an error never quotes the record.
func Deaggregate(data []byte) ([]UserRecord, error) {
	if !IsAggregated(data) {
		return nil, fmt.Errorf("not a KPL aggregated record (no magic bytes)")
	}
	if len(data) < len(magic)+md5.Size {
		return nil, fmt.Errorf("KPL aggregated record of %d bytes: too short for its magic bytes and MD5", len(data))
	}
	msg, sum := data[len(magic):len(data)-md5.Size], data[len(data)-md5.Size:]
	if got := md5.Sum(msg); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("KPL aggregated record: its MD5 does not match its content (damaged in transit or not written by a KPL)")
	}
	// The required fields are checked below, to say which one is missing
	// (protobuf's error texts are deliberately unstable).
	var agg AggregatedRecord
	if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(msg, &agg); err != nil {
		return nil, fmt.Errorf("KPL aggregated record: not an AggregatedRecord protobuf (invalid wire format)")
	}
	keys, hashKeys := agg.GetPartitionKeyTable(), agg.GetExplicitHashKeyTable()
	out := make([]UserRecord, len(agg.GetRecords()))
	for i, r := range agg.GetRecords() {
		switch {
		case r.PartitionKeyIndex == nil:
			return nil, fmt.Errorf("KPL aggregated record: user record %d has no partition_key_index", i)
		case r.Data == nil:
			return nil, fmt.Errorf("KPL aggregated record: user record %d has no data", i)
		}
		if k := r.GetPartitionKeyIndex(); k >= uint64(len(keys)) {
			return nil, fmt.Errorf("KPL aggregated record: user record %d: partition key index %d, but the table holds %d keys", i, k, len(keys))
		}
		out[i] = UserRecord{PartitionKey: keys[r.GetPartitionKeyIndex()], Data: r.GetData()}
		if r.ExplicitHashKeyIndex != nil {
			k := r.GetExplicitHashKeyIndex()
			if k >= uint64(len(hashKeys)) {
				return nil, fmt.Errorf("KPL aggregated record: user record %d: explicit hash key index %d, but the table holds %d keys", i, k, len(hashKeys))
			}
			out[i].ExplicitHashKey = hashKeys[k]
		}
	}
	return out, nil
}

// Aggregate packs user records into one aggregated record, as the KPL does
// (each distinct key once in its table): the inverse of Deaggregate, for
// tests and tools that act as a KPL producer.
func Aggregate(records []UserRecord) []byte {
	var agg AggregatedRecord
	keyIndex, hashIndex := map[string]uint64{}, map[string]uint64{}
	index := func(table *[]string, seen map[string]uint64, key string) uint64 {
		i, ok := seen[key]
		if !ok {
			i = uint64(len(*table))
			seen[key] = i
			*table = append(*table, key)
		}
		return i
	}
	for _, u := range records {
		r := &Record{
			PartitionKeyIndex: proto.Uint64(index(&agg.PartitionKeyTable, keyIndex, u.PartitionKey)),
			Data:              u.Data,
		}
		if r.Data == nil {
			r.Data = []byte{} // required: present even when empty
		}
		if u.ExplicitHashKey != "" {
			r.ExplicitHashKeyIndex = proto.Uint64(index(&agg.ExplicitHashKeyTable, hashIndex, u.ExplicitHashKey))
		}
		agg.Records = append(agg.Records, r)
	}
	msg, err := proto.Marshal(&agg)
	if err != nil {
		panic("kpl: marshalling an aggregate: " + err.Error()) // unreachable: every required field is set
	}
	sum := md5.Sum(msg)
	return append(append(append([]byte{}, magic...), msg...), sum[:]...)
}
