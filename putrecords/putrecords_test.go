package putrecords

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/faultproxy"
	"github.com/rideduration/rideduration/internal/testenv"
)

// Writes go to a real (local) Kinesis: moto_server. The faults it never
// produces are injected by a proxy in front of it (TestPutFaults).
func TestPutMoto(t *testing.T) {
	c := testenv.Kinesis(t, testenv.Moto(t))
	testenv.CreateStream(t, c, "s", 2)
	entries := make([]Entry, 1203)
	for i := range entries {
		entries[i] = Entry{Data: []byte{byte(i), byte(i >> 8)}, Key: string(rune('a' + i%26)), Index: i}
	}
	w := &Writer{Client: c}
	res := w.Put(context.Background(), "s", entries)
	require.Empty(t, res.Failed)
	assert.Equal(t, 3, res.Calls, "500 records a call")
	assert.Zero(t, res.Resent)
	recs := testenv.ReadStream(t, c, "s")
	require.Len(t, recs, len(entries))
	seen := map[[2]byte]string{}
	for _, r := range recs {
		seen[[2]byte(r.Data)] = aws.ToString(r.PartitionKey)
	}
	for i, e := range entries {
		require.Equal(t, e.Key, seen[[2]byte(e.Data)], "entry %d", i)
	}

	// An error no retry can cure is given up at once, even with no bound
	// on attempts or time.
	res = w.Put(context.Background(), "no_such_stream", entries[:3])
	assert.Equal(t, []int{0, 1, 2}, res.Failed)
	assert.Equal(t, 1, res.Calls)
	assert.ErrorContains(t, res.LastErr, "ResourceNotFoundException")
}

// faulty returns a stream on moto behind a fault-injecting proxy (moto
// never fails anything), a client through the proxy, with the SDK's
// default retryer (the Writer makes one attempt per call all the same, so
// it sees every fault), and a client straight to moto.
func faulty(t *testing.T, moto, stream string) (p *faultproxy.Proxy, via, direct *kinesis.Client) {
	t.Helper()
	direct = testenv.Kinesis(t, moto)
	testenv.CreateStream(t, direct, stream, 1)
	p = faultproxy.Start(t, moto, 7)
	return p, testenv.Kinesis(t, p.URL), direct
}

func numbered(n int) []Entry {
	entries := make([]Entry, n)
	for i := range entries {
		entries[i] = Entry{Data: []byte(strconv.Itoa(i)), Key: strconv.Itoa(i), Index: i}
	}
	return entries
}

func TestPutFaults(t *testing.T) {
	moto := testenv.Moto(t)

	t.Run("resends until every entry is written", func(t *testing.T) {
		p, via, direct := faulty(t, moto, "resend")
		p.Set("PutRecords", faultproxy.Faults{EntryFailure: 0.5, Throttle: 0.2, ServerError: 0.1})
		w := &Writer{Client: via, MaxBackoff: 10 * time.Millisecond}
		res := w.Put(context.Background(), "resend", numbered(1203))
		require.Empty(t, res.Failed)
		assert.False(t, res.OutOfTime)
		assert.Greater(t, res.Resent, 600, "half of the entries fail at their first call")
		st := p.Stats()["PutRecords"]
		assert.Equal(t, st.Calls, res.Calls, "no attempt the Writer does not see")
		assert.Positive(t, st.Throttled+st.ServerErrors, "whole calls failed, and were resent")

		// Each entry exactly once: the faults injected here never write.
		got := map[string]int{}
		for _, r := range testenv.ReadStream(t, direct, "resend") {
			got[string(r.Data)]++
		}
		require.Len(t, got, 1203)
		for d, n := range got {
			require.Equal(t, 1, n, "entry %s", d)
		}
	})

	t.Run("stops before the deadline", func(t *testing.T) {
		p, via, direct := faulty(t, moto, "never")
		p.Set("PutRecords", faultproxy.Faults{EntryFailure: 1}) // a stream that accepts nothing
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		deadline, _ := ctx.Deadline()
		w := &Writer{Client: via, Margin: 300 * time.Millisecond}
		res := w.Put(ctx, "never", numbered(700))
		assert.True(t, time.Now().Before(deadline), "Put returned after its context's deadline")
		assert.Len(t, res.Failed, 700, "every entry reported")
		assert.True(t, res.OutOfTime)
		assert.Greater(t, res.Calls, 2, "resent while time allowed")
		assert.Empty(t, testenv.ReadStream(t, direct, "never"))
	})

	t.Run("a call in flight is cut at the margin", func(t *testing.T) {
		p, via, _ := faulty(t, moto, "hung")
		p.Set("PutRecords", faultproxy.Faults{Delay: 1, MaxDelay: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		deadline, _ := ctx.Deadline()
		res := (&Writer{Client: via}).Put(ctx, "hung", numbered(3))
		assert.True(t, time.Now().Before(deadline), "Put returned after its context's deadline")
		assert.Equal(t, []int{0, 1, 2}, res.Failed)
		assert.True(t, res.OutOfTime)
	})

	t.Run("without a deadline, Attempts bounds", func(t *testing.T) {
		p, via, _ := faulty(t, moto, "bounded")
		p.Set("PutRecords", faultproxy.Faults{EntryFailure: 1})
		w := &Writer{Client: via, Attempts: 3, MaxBackoff: time.Millisecond}
		res := w.Put(context.Background(), "bounded", numbered(600))
		assert.Len(t, res.Failed, 600)
		assert.Equal(t, 6, res.Calls, "3 rounds of 500 + 100")
		assert.Equal(t, 1200, res.Resent)
		assert.False(t, res.OutOfTime)
		assert.ErrorContains(t, res.LastErr, "Rate exceeded")
	})

	// A stream that answers, however little it takes, is waited for: only
	// calls that no Kinesis answers count towards Unreachable.
	t.Run("without a deadline or bound, until ctx is cancelled", func(t *testing.T) {
		p, via, _ := faulty(t, moto, "cancelled")
		p.Set("PutRecords", faultproxy.Faults{EntryFailure: 1, Throttle: 0.5})
		ctx, cancel := context.WithCancel(context.Background())
		w := &Writer{Client: &cancelAfter{API: via, calls: 5, cancel: cancel}, MaxBackoff: time.Millisecond, Unreachable: time.Nanosecond}
		res := w.Put(ctx, "cancelled", numbered(10))
		assert.Len(t, res.Failed, 10)
		assert.Equal(t, 5, res.Calls)
		assert.True(t, res.OutOfTime)
		assert.NotErrorAs(t, res.LastErr, new(*UnreachableError))
	})
}

// cancelAfter cancels a context after some calls.
type cancelAfter struct {
	API
	calls  int
	cancel context.CancelFunc
}

func (c *cancelAfter) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, o ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	out, err := c.API.PutRecords(ctx, in, o...)
	if c.calls--; c.calls == 0 {
		c.cancel()
	}
	return out, err
}

// Under throttling, every chunk of a large batch is sent once before any
// is sent again, and Put stops at its margin. The client is built as in
// production (NewClient, from the environment), so the SDK's retries are
// configured: were they to resend a chunk, with their seconds of backoff,
// the later chunks would be given up without ever being sent.
func TestPutThrottledChunks(t *testing.T) {
	p, _, direct := faulty(t, testenv.Moto(t), "throttled")
	p.Set("PutRecords", faultproxy.Faults{Throttle: 1})
	for _, kv := range append(testenv.AWSEnv(p.URL), "AWS_ENDPOINT_URL_KINESIS=", "KINESIS_ENDPOINT_URL=") {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	c, err := NewClient(context.Background())
	require.NoError(t, err)
	sent := &firstKeys{next: c.Options().HTTPClient}
	c = kinesis.New(c.Options(), func(o *kinesis.Options) { o.HTTPClient = sent })

	const chunks = 20
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	res := (&Writer{Client: c}).Put(ctx, "throttled", numbered(chunks*MaxRecords))
	assert.True(t, time.Now().Before(deadline), "Put returned after its context's deadline")
	assert.Len(t, res.Failed, chunks*MaxRecords)
	assert.True(t, res.OutOfTime)
	firsts := make([]string, chunks)
	for i := range firsts {
		firsts[i] = strconv.Itoa(i * MaxRecords)
	}
	require.Greater(t, len(sent.keys), chunks, "resent while time allowed")
	assert.Equal(t, firsts, sent.keys[:chunks], "every chunk sent once before any is sent again")
	// (A call cut at the margin may end before it is sent.)
	assert.LessOrEqual(t, len(sent.keys), res.Calls, "no attempt the Writer does not see")
	assert.Empty(t, testenv.ReadStream(t, direct, "throttled"))
}

// firstKeys is an HTTP client that records the partition key of the first
// record of every PutRecords request it sends: the chunk the request
// carries.
type firstKeys struct {
	next kinesis.HTTPClient
	keys []string
}

func (f *firstKeys) Do(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	var in struct {
		Records []struct{ PartitionKey string }
	}
	if json.Unmarshal(body, &in) == nil && len(in.Records) > 0 {
		f.keys = append(f.keys, in.Records[0].PartitionKey)
	}
	return f.next.Do(req)
}

// An entry is written only when the response says so. Kinesis answers one
// result per entry, in order, and counts the failed ones in
// FailedRecordCount; moto does too, so a fake (over moto) gives the
// responses that do not: for fewer entries than sent, or with a count that
// disagrees with the results.
func TestPutMisanswered(t *testing.T) {
	c := testenv.Kinesis(t, testenv.Moto(t))
	for _, tc := range []struct {
		name    string
		fake    misanswer
		resent  int
		lastErr string
	}{
		{"fewer results than entries", misanswer{forward: 3}, 2, "PutRecords response has 3 results for 5 records"},
		{"a result with neither error nor sequence number", misanswer{forward: 3, empty: 2, failed: aws.Int32(2)}, 2,
			"PutRecords response counts 2 failed records, but 0 results have an error code"},
		{"a wrong count, every entry written", misanswer{forward: 5, failed: aws.Int32(1)}, 0,
			"PutRecords response counts 1 failed records, but 0 results have an error code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := fmt.Sprint("misanswered_", tc.fake.forward, tc.fake.empty)
			testenv.CreateStream(t, c, stream, 1)
			tc.fake.API = c
			res := (&Writer{Client: &tc.fake, MaxBackoff: time.Millisecond}).Put(context.Background(), stream, numbered(5))
			assert.Empty(t, res.Failed)
			assert.Equal(t, tc.resent, res.Resent)
			assert.EqualError(t, res.LastErr, tc.lastErr)
			got := map[string]int{}
			for _, r := range testenv.ReadStream(t, c, stream) {
				got[string(r.Data)]++
			}
			assert.Equal(t, map[string]int{"0": 1, "1": 1, "2": 1, "3": 1, "4": 1}, got, "each entry once")
		})
	}
}

// misanswer forwards the first PutRecords call's first entries only, and
// misreports it; later calls are forwarded as they are.
type misanswer struct {
	API
	forward int    // entries of the first call forwarded; the others are not written
	empty   int    // results with neither error code nor sequence number added to moto's
	failed  *int32 // the FailedRecordCount answered, if set
	calls   int
}

func (m *misanswer) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, o ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	if m.calls++; m.calls > 1 {
		return m.API.PutRecords(ctx, in, o...)
	}
	first := *in
	first.Records = in.Records[:m.forward]
	out, err := m.API.PutRecords(ctx, &first, o...)
	if err != nil {
		return out, err
	}
	out.Records = append(out.Records, make([]types.PutRecordsResultEntry, m.empty)...)
	if m.failed != nil {
		out.FailedRecordCount = m.failed
	}
	return out, nil
}

// A stream encrypted with KMS can be throttled by its key: the call fails
// as a whole with KMSThrottlingException, or an entry does, and both are
// resent like Kinesis's own throttling. moto never throttles, so a fake
// (over moto) does, for the first two calls.
func TestPutKMSThrottling(t *testing.T) {
	c := testenv.Kinesis(t, testenv.Moto(t))
	for _, whole := range []bool{true, false} {
		t.Run(fmt.Sprint("whole call ", whole), func(t *testing.T) {
			stream := fmt.Sprint("kms_", whole)
			testenv.CreateStream(t, c, stream, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			w := &Writer{Client: &kmsThrottled{API: c, whole: whole, calls: 2}, MaxBackoff: time.Millisecond}
			res := w.Put(ctx, stream, numbered(3))
			assert.Empty(t, res.Failed, "%v", res.LastErr)
			assert.Equal(t, 3, res.Calls)
			assert.Len(t, testenv.ReadStream(t, c, stream), 3)
		})
	}
}

// kmsThrottled answers its first calls KMSThrottlingException, for the
// whole call or for every entry, without forwarding them.
type kmsThrottled struct {
	API
	whole bool
	calls int
}

func (k *kmsThrottled) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, o ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	if k.calls == 0 {
		return k.API.PutRecords(ctx, in, o...)
	}
	k.calls--
	const msg = "The request was denied due to request throttling. (Service: AWSKMS)"
	if k.whole {
		return nil, &types.KMSThrottlingException{Message: aws.String(msg)}
	}
	out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int32(int32(len(in.Records)))}
	for range in.Records {
		out.Records = append(out.Records, types.PutRecordsResultEntry{ErrorCode: aws.String("KMSThrottlingException"), ErrorMessage: aws.String(msg)})
	}
	return out, nil
}

// With no Kinesis at the endpoint, Put gives up after Writer.Unreachable,
// even with no deadline and no bound on attempts, and says why.
// (cancelAfter only keeps a Put that would not stop from running forever.)
func TestPutUnreachable(t *testing.T) {
	refused := fmt.Sprintf("http://127.0.0.1:%d", testenv.UnusedPort(t))
	for _, tc := range []struct{ endpoint, cause string }{
		{refused, "connection refused"},
		{"http://kinesis.invalid:4566", ""}, // no such host, or no DNS at all
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			client := &cancelAfter{API: testenv.Kinesis(t, tc.endpoint), calls: 100, cancel: cancel}
			w := &Writer{Client: client, MaxBackoff: 10 * time.Millisecond, Unreachable: 200 * time.Millisecond}
			res := w.Put(ctx, "s", numbered(3))
			assert.Equal(t, []int{0, 1, 2}, res.Failed)
			assert.False(t, res.OutOfTime, "gave up, not cancelled")
			var ue *UnreachableError
			require.ErrorAs(t, res.LastErr, &ue)
			assert.Equal(t, tc.endpoint, ue.Endpoint)
			assert.ErrorContains(t, ue, "no Kinesis at "+tc.endpoint+": ")
			assert.ErrorContains(t, ue, tc.cause)
		})
	}
}

// The margin is never more than half the time left, so that a short
// timeout still leaves time to write.
func TestBudget(t *testing.T) {
	w := &Writer{Margin: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	bctx, bcancel := w.budget(ctx)
	defer bcancel()
	end, ok := bctx.Deadline()
	require.True(t, ok)
	margin := deadline.Sub(end)
	assert.True(t, margin <= 5*time.Second && margin > 4*time.Second, "margin %v: half of the 10s left", margin)

	w.Margin = 0
	bctx2, bcancel2 := w.budget(ctx)
	defer bcancel2()
	end, _ = bctx2.Deadline()
	assert.Equal(t, deadline.Add(-DefaultMargin), end)

	bctx3, bcancel3 := w.budget(context.Background())
	defer bcancel3()
	_, ok = bctx3.Deadline()
	assert.False(t, ok, "no deadline, no budget")
}

func TestChunk(t *testing.T) {
	small := func(n int) []Entry { return make([]Entry, n) }
	assert.Equal(t, 0, chunk(nil))
	assert.Equal(t, 500, chunk(small(500)))
	assert.Equal(t, 500, chunk(small(1200)))
	assert.Equal(t, 3, chunk(small(3)))

	mib := func(n int) []Entry {
		es := make([]Entry, n)
		for i := range es {
			es[i] = Entry{Data: make([]byte, 1<<20-10), Key: "0123456789"} // 1 MiB each, the record limit
		}
		return es
	}
	assert.Equal(t, 5, chunk(mib(7)), "5 MiB per call")
	assert.Equal(t, 5, chunk(mib(5)))
}

func TestBackoff(t *testing.T) {
	w := &Writer{MaxBackoff: 300 * time.Millisecond}
	for stalls := 0; stalls < 70; stalls++ {
		limit := min(300*time.Millisecond, 50*time.Millisecond<<min(stalls, 20))
		for range 50 {
			d := w.backoff(stalls)
			require.True(t, d > 0 && d <= limit, "stalls %d: %v not in (0, %v]", stalls, d, limit)
		}
	}
}
