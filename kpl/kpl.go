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
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// magic starts every aggregated record.
var magic = []byte(magicBytes)

// IsAggregated reports whether a Kinesis record's data is a KPL aggregate:
// whether it starts with the magic bytes. (No JSON text does: JSON starts
// with white space or a value, and the bytes are not valid UTF-8.)
func IsAggregated(data []byte) bool { return bytes.HasPrefix(data, magic) }

// MaxAggregate is the most bytes a KPL writes in one aggregated record,
// and MaxUserRecords the most user records: an aggregate with more is not
// a KPL's, and is refused whole, before any of it is decoded.
//
// The KPL closes an aggregate when it holds AggregationMaxCount user
// records (default 4294967295: no bound in practice) or when its size
// reaches AggregationMaxSize (default 51200 bytes, at most 1048576, the
// Kinesis limit on a record's data), and trims it until the whole
// record, magic bytes + protobuf + MD5, is within that size
// (awslabs/amazon-kinesis-producer: aws/kinesis/core/configuration.h,
// aggregation_max_count and aggregation_max_size; reducer.h, Reducer::flush;
// kinesis_record.cc, KinesisRecord::accurate_size). So an aggregate is at
// most 1 MiB, and the count is bounded by the smallest encoding of a user
// record in aggregated.proto:
//
//	records (field 3): tag 1 byte + length 1 byte, around a Record of
//	  partition_key_index (field 1, required): tag 1 + varint ≥ 1 byte
//	  data (field 3, required):                tag 1 + length ≥ 1 byte + 0 bytes of data
//	= 6 bytes a user record
//
// besides 20 bytes of magic and MD5 and a partition key table of at
// least one key (tag 1 + length 1 + the key, ≥ 0 bytes as far as the format
// goes; the KPL wants 1 to 256 characters). (1048576 − 20 − 2) / 6 =
// 174759: that many empty user records under one empty key make exactly
// 1 MiB. A KPL never writes more; a record holding more is counted, not
// decoded, up to the one over the limit. (The KPL's newest configuration.h
// allows aggregation_max_size up to 10 MiB, for streams whose maximum
// record size is raised: even then an aggregate of ride events holds
// fewer, at most 10 MiB / (74 + 6) = 131072, as the smallest ride event
// takes 74 bytes.)
const MaxUserRecords = (MaxAggregate - len(magicBytes) - md5.Size - minKeyTable) / minUserRecord

// MaxAggregate is 1 MiB: see MaxUserRecords.
const MaxAggregate = 1 << 20

// The smallest encodings of aggregated.proto's parts, in bytes (see
// MaxUserRecords).
const (
	magicBytes    = "\xf3\x89\x9a\xc2"
	minKeyTable   = 2 // one partition_key_table entry: tag, length 0
	minUserRecord = 6 // a records entry: tag, length, and a Record of a key index and empty data
)

// UserRecord is one record a producer put through the KPL.
type UserRecord struct {
	PartitionKey    string
	ExplicitHashKey string // "" when the producer set none
	Data            []byte
}

// Deaggregate returns the user records of an aggregated record, in order
// (the order is the sub-sequence number of the KCL). A damaged record — too
// short or over MaxAggregate bytes, a wrong MD5, a protobuf that does not
// parse, more than MaxUserRecords user records, a key index beyond its table — is an error
// that says which; an error never quotes the record.
func Deaggregate(data []byte) ([]UserRecord, error) {
	if !IsAggregated(data) {
		return nil, fmt.Errorf("not a KPL aggregated record (no magic bytes)")
	}
	if len(data) > MaxAggregate {
		return nil, fmt.Errorf("KPL aggregated record of %d bytes: more than the %d a KPL writes in one record", len(data), MaxAggregate)
	}
	if len(data) < len(magic)+md5.Size {
		return nil, fmt.Errorf("KPL aggregated record of %d bytes: too short for its magic bytes and MD5", len(data))
	}
	msg, sum := data[len(magic):len(data)-md5.Size], data[len(data)-md5.Size:]
	if got := md5.Sum(msg); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("KPL aggregated record: its MD5 does not match its content (damaged in transit or not written by a KPL)")
	}
	n, err := countRecords(msg)
	if err != nil {
		return nil, err
	}
	// The required fields are checked below, to say which one is missing
	// (protobuf's error texts are deliberately unstable).
	var agg AggregatedRecord
	if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(msg, &agg); err != nil {
		return nil, errWireFormat
	}
	keys, hashKeys := agg.GetPartitionKeyTable(), agg.GetExplicitHashKeyTable()
	out := make([]UserRecord, n)
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

// errWireFormat is the error of a message that is not a protobuf.
var errWireFormat = errors.New("KPL aggregated record: not an AggregatedRecord protobuf (invalid wire format)")

// countRecords counts the user records of an AggregatedRecord message (its
// top-level records fields) without decoding them, and stops at the first
// one over MaxUserRecords.
func countRecords(msg []byte) (int, error) {
	n := 0
	for len(msg) > 0 {
		num, typ, tagLen := protowire.ConsumeTag(msg)
		if tagLen < 0 {
			return 0, errWireFormat
		}
		valueLen := protowire.ConsumeFieldValue(num, typ, msg[tagLen:])
		if valueLen < 0 {
			return 0, errWireFormat
		}
		if num == 3 && typ == protowire.BytesType {
			if n++; n > MaxUserRecords {
				return 0, fmt.Errorf("KPL aggregated record: more than %d user records, more than a KPL writes in one record", MaxUserRecords)
			}
		}
		msg = msg[tagLen+valueLen:]
	}
	return n, nil
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
