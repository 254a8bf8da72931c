package kpl

import (
	"crypto/md5"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

func TestRoundTrip(t *testing.T) {
	in := []UserRecord{
		{PartitionKey: "1", Data: []byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 1}`)},
		{PartitionKey: "2", ExplicitHashKey: "170141183460469231731687303715884105728", Data: []byte("two")},
		{PartitionKey: "1", Data: []byte{}},
		{PartitionKey: "ride-é", ExplicitHashKey: "170141183460469231731687303715884105728", Data: []byte{0, 0xff}},
	}
	agg := Aggregate(in)
	require.True(t, IsAggregated(agg))
	out, err := Deaggregate(agg)
	require.NoError(t, err)
	assert.Equal(t, in, out)

	// Each distinct key once in its table, as the KPL writes them.
	var msg AggregatedRecord
	require.NoError(t, unmarshal(agg, &msg))
	assert.Equal(t, []string{"1", "2", "ride-é"}, msg.PartitionKeyTable)
	assert.Len(t, msg.ExplicitHashKeyTable, 1)
}

// handBuilt writes an aggregate field by field from the published format,
// with protowire: a check of the format that shares no code with Aggregate.
func handBuilt(keys []string, records ...[]byte) []byte {
	var msg []byte
	for _, k := range keys {
		msg = protowire.AppendTag(msg, 1, protowire.BytesType) // partition_key_table
		msg = protowire.AppendString(msg, k)
	}
	for _, r := range records {
		msg = protowire.AppendTag(msg, 3, protowire.BytesType) // records
		msg = protowire.AppendBytes(msg, r)
	}
	sum := md5.Sum(msg)
	return append(append([]byte{0xf3, 0x89, 0x9a, 0xc2}, msg...), sum[:]...)
}

// record is one Record message: partition_key_index, then data.
func record(keyIndex uint64, data string) []byte {
	r := protowire.AppendTag(nil, 1, protowire.VarintType)
	r = protowire.AppendVarint(r, keyIndex)
	r = protowire.AppendTag(r, 3, protowire.BytesType)
	return protowire.AppendString(r, data)
}

func TestDeaggregateHandBuilt(t *testing.T) {
	out, err := Deaggregate(handBuilt([]string{"a", "b"}, record(1, "first"), record(0, "second"), record(1, "")))
	require.NoError(t, err)
	assert.Equal(t, []UserRecord{
		{PartitionKey: "b", Data: []byte("first")},
		{PartitionKey: "a", Data: []byte("second")},
		{PartitionKey: "b", Data: []byte{}},
	}, out)

	// No user record: nothing to predict, nothing wrong.
	out, err = Deaggregate(handBuilt(nil))
	require.NoError(t, err)
	assert.Empty(t, out)
}

func TestIsAggregated(t *testing.T) {
	assert.True(t, IsAggregated([]byte{0xf3, 0x89, 0x9a, 0xc2}))
	assert.False(t, IsAggregated([]byte{0xf3, 0x89, 0x9a}))
	assert.False(t, IsAggregated([]byte(`{"ride": {}}`)))
	assert.False(t, IsAggregated([]byte("Hi test 1")))
	assert.False(t, IsAggregated(nil))
}

// Every way an aggregate can be damaged, with its exact message.
func TestDeaggregateErrors(t *testing.T) {
	good := handBuilt([]string{"a"}, record(0, "x"))
	badSum := append([]byte{}, good...)
	badSum[len(badSum)-1] ^= 1
	badData := append([]byte{}, good...)
	badData[6] ^= 1
	noData := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 0)
	withHash := protowire.AppendVarint(protowire.AppendTag(record(0, "x"), 2, protowire.VarintType), 3)

	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"no magic", []byte("Hi test 1"), "not a KPL aggregated record (no magic bytes)"},
		{"too short", append([]byte{0xf3, 0x89, 0x9a, 0xc2}, make([]byte, 15)...), "KPL aggregated record of 19 bytes: too short for its magic bytes and MD5"},
		{"MD5 damaged", badSum, "KPL aggregated record: its MD5 does not match its content (damaged in transit or not written by a KPL)"},
		{"content damaged", badData, "KPL aggregated record: its MD5 does not match its content (damaged in transit or not written by a KPL)"},
		{"not a protobuf", handBuilt(nil, []byte{0xff}), "KPL aggregated record: not an AggregatedRecord protobuf (invalid wire format)"},
		{"garbage with a right MD5", withSum([]byte{0x0a, 0xff, 0xff}), "KPL aggregated record: not an AggregatedRecord protobuf (invalid wire format)"},
		{"required data missing", handBuilt([]string{"a"}, record(0, "x"), noData), "KPL aggregated record: user record 1 has no data"},
		{"required key index missing", handBuilt([]string{"a"}, protowire.AppendString(protowire.AppendTag(nil, 3, protowire.BytesType), "x")), "KPL aggregated record: user record 0 has no partition_key_index"},
		{"partition key index beyond the table", handBuilt([]string{"a"}, record(0, "x"), record(1, "y")), "KPL aggregated record: user record 1: partition key index 1, but the table holds 1 keys"},
		{"explicit hash key index beyond the table", handBuilt([]string{"a"}, withHash), "KPL aggregated record: user record 0: explicit hash key index 3, but the table holds 0 keys"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Deaggregate(c.data)
			require.Error(t, err)
			assert.Nil(t, out)
			assert.Equal(t, c.want, err.Error())
		})
	}
}

// withSum frames a protobuf message as an aggregate: magic, message, MD5.
func withSum(msg []byte) []byte {
	sum := md5.Sum(msg)
	return append(append([]byte{0xf3, 0x89, 0x9a, 0xc2}, msg...), sum[:]...)
}

// FuzzDeaggregate: any message, framed with its right MD5 (so that the
// fuzzer reaches the protobuf decoder) or as it comes: no panic, a bounded
// message on error, and what decodes survives a round trip.
func FuzzDeaggregate(f *testing.F) {
	f.Add(handBuilt([]string{"a", "b"}, record(1, "first"), record(0, "second"))[4:], true)
	f.Add(Aggregate([]UserRecord{{PartitionKey: "k", ExplicitHashKey: "1", Data: []byte("d")}})[4:], true)
	f.Add(handBuilt([]string{"a"}, record(3, "x"))[4:], true)
	f.Add([]byte{0x0a, 0xff, 0xff}, true)
	f.Add([]byte("Hi test 1"), false)
	f.Fuzz(func(t *testing.T, msg []byte, frame bool) {
		data := append([]byte{0xf3, 0x89, 0x9a, 0xc2}, msg...)
		if frame {
			data = withSum(msg)
		}
		out, err := Deaggregate(data)
		if err != nil {
			require.LessOrEqual(t, len(err.Error()), 256, "%q", err)
			require.True(t, utf8.ValidString(err.Error()), "%q", err)
			return
		}
		again, err := Deaggregate(Aggregate(out))
		require.NoError(t, err)
		if len(out) == 0 {
			require.Empty(t, again)
			return
		}
		require.Equal(t, out, again)
	})
}

func unmarshal(agg []byte, msg *AggregatedRecord) error {
	return proto.Unmarshal(agg[4:len(agg)-md5.Size], msg)
}

// The smallest user record the format allows (key index 0, no data) takes
// 6 bytes, and the smallest key table (one empty key) 2: MaxUserRecords of
// them make an aggregate of exactly 1 MiB, Kinesis's limit on a record,
// which decodes; one more is refused, before any user record is decoded,
// as is any record over 1 MiB: 174,000 one-byte user records take 1.2 MB.
func TestDeaggregateMaxUserRecords(t *testing.T) {
	empty := record(0, "")
	records := make([][]byte, MaxUserRecords+1)
	for i := range records {
		records[i] = empty
	}
	full := handBuilt([]string{""}, records[:MaxUserRecords]...)
	require.Len(t, full, 1<<20)
	out, err := Deaggregate(full)
	require.NoError(t, err)
	assert.Len(t, out, MaxUserRecords)

	over := handBuilt([]string{""}, records...)
	out, err = Deaggregate(over)
	require.EqualError(t, err, "KPL aggregated record of 1048582 bytes: more than the 1048576 a KPL writes in one record")
	assert.Nil(t, out)

	oneByte := record(0, "x")
	records = records[:174_000]
	for i := range records {
		records[i] = oneByte
	}
	out, err = Deaggregate(handBuilt([]string{"k"}, records...))
	require.EqualError(t, err, "KPL aggregated record of 1218023 bytes: more than the 1048576 a KPL writes in one record")
	assert.Nil(t, out)

	// The record over the limits of a KPL's aggregate is counted, but its
	// user records are not decoded (a decoded one allocates).
	n, err := countRecords(over[len(magicBytes) : len(over)-md5.Size])
	require.EqualError(t, err, "KPL aggregated record: more than 174759 user records, more than a KPL writes in one record")
	assert.Zero(t, n)

	// Refused as soon as the count passes the limit: the records are
	// counted, not decoded (a decoded one allocates).
	allocs := testing.AllocsPerRun(3, func() { _, _ = Deaggregate(over) })
	assert.Less(t, allocs, 10.0)
}
