package faultproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// setup creates a stream on moto, named after the test, starts a proxy in
// front of moto and returns the proxy, a client through it that makes one
// attempt per call (so that each injected fault is seen), a client straight
// to moto and the stream.
func setup(t *testing.T, moto string) (p *Proxy, via, direct *kinesis.Client, stream string) {
	t.Helper()
	stream = strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	direct = testenv.Kinesis(t, moto)
	testenv.CreateStream(t, direct, stream, 1)
	p = Start(t, moto, 1)
	via = kinesis.New(testenv.Kinesis(t, p.URL).Options(), func(o *kinesis.Options) { o.RetryMaxAttempts = 1 })
	return p, via, direct, stream
}

func entries(n int) []types.PutRecordsRequestEntry {
	out := make([]types.PutRecordsRequestEntry, n)
	for i := range out {
		out[i] = types.PutRecordsRequestEntry{Data: fmt.Appendf(nil, "entry %d", i), PartitionKey: aws.String(fmt.Sprint(i))}
	}
	return out
}

func put(via *kinesis.Client, stream string, n int) (*kinesis.PutRecordsOutput, error) {
	return via.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries(n)})
}

// One moto_server for all the cases; each has its own stream and proxy.
func TestProxy(t *testing.T) {
	moto := testenv.Moto(t)
	t.Run("pass through", func(t *testing.T) { testPassThrough(t, moto) })
	t.Run("entry failures", func(t *testing.T) { testEntryFailures(t, moto) })
	t.Run("call faults", func(t *testing.T) { testCallFaults(t, moto) })
}

func testPassThrough(t *testing.T, moto string) {
	p, via, direct, s := setup(t, moto)
	out, err := put(via, s, 3)
	require.NoError(t, err)
	assert.Zero(t, aws.ToInt32(out.FailedRecordCount))
	assert.Equal(t, []string{"entry 0", "entry 1", "entry 2"}, testenv.ReadStreamData(t, direct, s))
	assert.Equal(t, Stats{Calls: 1, Forwarded: 1, Entries: 3}, p.Stats()["PutRecords"])
}

// Failed entries are not written; the response has one result per entry,
// in request order, and counts the failures.
func testEntryFailures(t *testing.T, moto string) {
	p, via, direct, s := setup(t, moto)
	p.Set("PutRecords", Faults{EntryFailure: 0.3})
	out, err := put(via, s, 500)
	require.NoError(t, err)
	require.Len(t, out.Records, 500)

	var want []string
	failed := 0
	for i, r := range out.Records {
		if r.ErrorCode == nil {
			want = append(want, fmt.Sprintf("entry %d", i))
			assert.NotEmpty(t, aws.ToString(r.SequenceNumber), "entry %d", i)
			continue
		}
		failed++
		assert.Contains(t, []string{"ProvisionedThroughputExceededException", "InternalFailure"}, aws.ToString(r.ErrorCode))
		assert.NotEmpty(t, aws.ToString(r.ErrorMessage))
		assert.Nil(t, r.SequenceNumber)
	}
	assert.Equal(t, int32(failed), aws.ToInt32(out.FailedRecordCount))
	assert.InDelta(t, 150, failed, 45, "about 30%% of 500")
	assert.Equal(t, want, testenv.ReadStreamData(t, direct, s), "exactly the surviving entries, in order")
	st := p.Stats()["PutRecords"]
	assert.Equal(t, 500, st.Entries)
	assert.Equal(t, failed, st.EntriesFailed)

	p.Set("PutRecords", Faults{EntryFailure: 1})
	out, err = put(via, s, 4)
	require.NoError(t, err)
	assert.Equal(t, int32(4), aws.ToInt32(out.FailedRecordCount))
	assert.Len(t, testenv.ReadStreamData(t, direct, s), len(want), "nothing forwarded")
	assert.Equal(t, 1, p.Stats()["PutRecords"].Forwarded, "a call whose entries all fail is not forwarded")
}

// Whole-call faults come back as the SDK sees Kinesis's own: throttles and
// 5xx it retries.
func testCallFaults(t *testing.T, moto string) {
	standard := retry.NewStandard()
	throttle := retry.IsErrorThrottles(retry.DefaultThrottles)
	status := func(err error) int {
		var re *awshttp.ResponseError
		require.True(t, errors.As(err, &re), "%v", err)
		return re.HTTPStatusCode()
	}
	code := func(err error) string {
		var ae smithy.APIError
		require.True(t, errors.As(err, &ae), "%v", err)
		return ae.ErrorCode()
	}

	t.Run("throttled", func(t *testing.T) {
		p, via, direct, s := setup(t, moto)
		p.Set("PutRecords", Faults{Throttle: 1})
		seen := map[string]bool{}
		for range 20 {
			_, err := put(via, s, 2)
			require.Error(t, err)
			assert.Equal(t, http.StatusBadRequest, status(err))
			seen[code(err)] = true
			assert.True(t, standard.IsErrorRetryable(err), "retryable: %v", err)
			assert.Equal(t, aws.TrueTernary, throttle.IsErrorThrottle(err), "a throttle: %v", err)
		}
		assert.Equal(t, map[string]bool{"ProvisionedThroughputExceededException": true, "LimitExceededException": true}, seen)
		var pe *types.ProvisionedThroughputExceededException
		_, err := put(via, s, 1)
		if !errors.As(err, &pe) {
			var le *types.LimitExceededException
			assert.ErrorAs(t, err, &le, "modeled error types")
		}
		assert.Empty(t, testenv.ReadStreamData(t, direct, s))
		assert.Equal(t, Stats{Calls: 21, Throttled: 21}, p.Stats()["PutRecords"])
	})

	t.Run("server error", func(t *testing.T) {
		p, via, direct, s := setup(t, moto)
		p.Set("PutRecords", Faults{ServerError: 1})
		_, err := put(via, s, 2)
		require.Error(t, err)
		assert.Equal(t, http.StatusInternalServerError, status(err))
		assert.Equal(t, "InternalFailure", code(err))
		assert.True(t, standard.IsErrorRetryable(err))
		assert.Empty(t, testenv.ReadStreamData(t, direct, s), "not forwarded")
	})

	t.Run("lost response", func(t *testing.T) {
		p, via, direct, s := setup(t, moto)
		p.Set("PutRecords", Faults{LostResponse: 1})
		_, err := put(via, s, 2)
		require.Error(t, err)
		assert.Equal(t, http.StatusInternalServerError, status(err))
		assert.Len(t, testenv.ReadStreamData(t, direct, s), 2, "written, though the client was told otherwise")
		assert.Equal(t, Stats{Calls: 1, Forwarded: 1, LostResponses: 1, Entries: 2}, p.Stats()["PutRecords"])
	})

	t.Run("GetRecords", func(t *testing.T) {
		p, via, direct, s := setup(t, moto)
		_, err := put(direct, s, 1)
		require.NoError(t, err)
		it, err := via.GetShardIterator(context.Background(), &kinesis.GetShardIteratorInput{StreamName: aws.String(s),
			ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		require.NoError(t, err)
		p.Set("GetRecords", Faults{ServerError: 1})
		_, err = via.GetRecords(context.Background(), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		require.Error(t, err)
		assert.Equal(t, http.StatusInternalServerError, status(err))
		p.Set("GetRecords", Faults{})
		out, err := via.GetRecords(context.Background(), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		require.NoError(t, err, "the iterator is still good: the failed call never reached moto")
		assert.Len(t, out.Records, 1)
	})

	t.Run("a stream down, then back", func(t *testing.T) {
		p, via, direct, s := setup(t, moto)
		testenv.CreateStream(t, direct, "other", 1)
		p.SetDown(s, true)
		_, err := put(via, s, 1)
		require.Error(t, err)
		assert.Equal(t, http.StatusServiceUnavailable, status(err))
		assert.True(t, standard.IsErrorRetryable(err))
		_, err = via.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String("other"), Records: entries(1)})
		assert.NoError(t, err, "other streams are up")
		_, err = via.DescribeStreamSummary(context.Background(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(s)})
		assert.Error(t, err, "every call naming the stream")
		p.SetDown(s, false)
		_, err = put(via, s, 1)
		assert.NoError(t, err)
		assert.Equal(t, Stats{Calls: 2, Forwarded: 1, Unavailable: 1, Entries: 1}, p.StreamStats("PutRecords", s))
		assert.Equal(t, Stats{Calls: 1, Forwarded: 1, Entries: 1}, p.StreamStats("PutRecords", "other"))
		assert.Len(t, testenv.ReadStreamData(t, direct, s), 1)
	})

	t.Run("delay", func(t *testing.T) {
		p, via, _, s := setup(t, moto)
		p.Set("PutRecords", Faults{Delay: 1, MaxDelay: 50 * time.Millisecond})
		for range 3 {
			_, err := put(via, s, 1)
			require.NoError(t, err)
		}
		assert.Equal(t, Stats{Calls: 3, Forwarded: 3, Delayed: 3, Entries: 3}, p.Stats()["PutRecords"])
	})
}

// A sequence number moto gives twice (its race between concurrent writes,
// which the proxy's lock keeps out) is counted.
func TestSequenceReused(t *testing.T) {
	p := &Proxy{acked: map[string]bool{}, stats: map[opStream]*Stats{{"PutRecords", "s"}: {}, {"PutRecords", "t"}: {}}}
	p.ack("t", []json.RawMessage{[]byte(`{"SequenceNumber": "7", "ShardId": "shardId-000000000000"}`)})
	p.ack("s", []json.RawMessage{[]byte(`{"SequenceNumber": "7", "ShardId": "shardId-000000000000"}`),
		[]byte(`{"SequenceNumber": "7", "ShardId": "shardId-000000000001"}`)})
	p.ack("s", []json.RawMessage{[]byte(`{"SequenceNumber": "7", "ShardId": "shardId-000000000000"}`),
		[]byte(`{"ErrorCode": "InternalFailure"}`)})
	assert.Equal(t, 1, p.StreamStats("PutRecords", "s").SequenceReused)
	assert.Zero(t, p.StreamStats("PutRecords", "t").SequenceReused, "another stream's sequence numbers")
	assert.Equal(t, 1, p.Stats()["PutRecords"].SequenceReused)
}
