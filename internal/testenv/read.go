package testenv

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// ReadStream returns every record of every shard of stream, shard by shard
// from TRIM_HORIZON, each shard's records in order.
func ReadStream(t testing.TB, c *kinesis.Client, name string) []types.Record {
	t.Helper()
	ctx := context.Background()
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(name)})
	if err != nil {
		t.Fatalf("list shards of %s: %v", name, err)
	}
	var out []types.Record
	for _, sh := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(name), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatalf("shard iterator of %s/%s: %v", name, aws.ToString(sh.ShardId), err)
		}
		iter := it.ShardIterator
		for iter != nil {
			recs, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatalf("get records of %s: %v", name, err)
			}
			if len(recs.Records) == 0 {
				break // an open shard's iterator never ends: stop at the tip
			}
			out = append(out, recs.Records...)
			iter = recs.NextShardIterator
		}
	}
	return out
}

// ReadStreamData is ReadStream's records' data, as strings, in order.
func ReadStreamData(t testing.TB, c *kinesis.Client, name string) []string {
	t.Helper()
	var out []string
	for _, r := range ReadStream(t, c, name) {
		out = append(out, string(r.Data))
	}
	return out
}
