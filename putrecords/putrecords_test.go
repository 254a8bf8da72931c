package putrecords

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
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
// never fails anything), a client through the proxy that makes one attempt
// per call, so that the Writer sees every fault, and a client straight to
// moto.
func faulty(t *testing.T, moto, stream string) (p *faultproxy.Proxy, via, direct *kinesis.Client) {
	t.Helper()
	direct = testenv.Kinesis(t, moto)
	testenv.CreateStream(t, direct, stream, 1)
	p = faultproxy.Start(t, moto, 7)
	via = kinesis.New(testenv.Kinesis(t, p.URL).Options(), func(o *kinesis.Options) { o.RetryMaxAttempts = 1 })
	return p, via, direct
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
		assert.Equal(t, st.Calls, res.Calls)
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

	t.Run("without a deadline or bound, until ctx is cancelled", func(t *testing.T) {
		p, via, _ := faulty(t, moto, "cancelled")
		p.Set("PutRecords", faultproxy.Faults{EntryFailure: 1})
		ctx, cancel := context.WithCancel(context.Background())
		w := &Writer{Client: &cancelAfter{API: via, calls: 5, cancel: cancel}, MaxBackoff: time.Millisecond}
		res := w.Put(ctx, "cancelled", numbered(10))
		assert.Len(t, res.Failed, 10)
		assert.Equal(t, 5, res.Calls)
		assert.True(t, res.OutOfTime)
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
