package putrecords

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// Writes go to a real (local) Kinesis: moto_server. Partial failures, which
// moto never produces, are tested through the handler (handler/partial_test.go).
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

	res = w.Put(context.Background(), "no_such_stream", entries[:3])
	assert.Equal(t, []int{0, 1, 2}, res.Failed)
	assert.ErrorContains(t, res.LastErr, "ResourceNotFoundException")
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
	for retry := 1; retry < 70; retry++ {
		limit := min(300*time.Millisecond, 50*time.Millisecond<<min(retry, 20))
		for range 50 {
			d := w.backoff(retry)
			require.True(t, d > 0 && d <= limit, "retry %d: %v not in (0, %v]", retry, d, limit)
		}
	}
}
