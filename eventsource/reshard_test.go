package eventsource

import (
	"context"
	"math/big"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// Resharding on moto 5.2: after a split or a merge the mapping re-lists
// the shards and starts each child, from its start, once its parents are
// read to their end; every record is delivered.
//
// Two moto quirks shape the test. moto keeps putting records in a closed
// parent (it routes a key to the first shard whose range holds it, open or
// not), so after a split every new record goes to the parent, which the
// mapping keeps polling; a merged shard gets only the keys at the end of
// its first parent's range, which moto's parents miss. And moto never ends
// a closed shard (Kinesis gives no next iterator once it is read), so the
// merge is also run with that end given by the watch below.
func TestResharding(t *testing.T) {
	c := testenv.Kinesis(t, testenv.Moto(t))
	ctx := context.Background()
	keys := func(i int) string { return []string{"a", "b", "c", "d", "e", "f", "g", "h"}[i%8] }
	const parent0, parent1 = "shardId-000000000000", "shardId-000000000001"

	t.Run("split", func(t *testing.T) {
		testenv.CreateStream(t, c, "split", 1)
		w := &watch{KinesisAPI: c}
		f, stop := runWatched(t, w, "split")
		before := put(t, c, "split", keys, numbered("before", 16)...)
		w.waitFor(t, func() bool { return len(f.doneData()) == 16 })
		half := new(big.Int).Lsh(big.NewInt(1), 127).String()
		_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("split"),
			ShardToSplit: aws.String(parent0), NewStartingHashKey: aws.String(half)})
		require.NoError(t, err)
		put(t, c, "split", keys, numbered("after", 16)...) // moto puts them in the closed parent
		w.waitFor(t, func() bool { return w.started("shardId-000000000001") && w.started("shardId-000000000002") })
		w.waitFor(t, func() bool { return len(f.doneData()) == 32 })
		stop()

		assert.Equal(t, append(numbered("before", 16), numbered("after", 16)...), f.doneData(), "each once, in order")
		// The children were started after the parent's records put before
		// the split, the end of the parent when the split happened.
		lastBefore := w.index("deliver " + parent0 + " " + before[15])
		for _, child := range []string{"shardId-000000000001", "shardId-000000000002"} {
			assert.Greater(t, w.index("iterator "+child+" TRIM_HORIZON"), lastBefore, "%s started after its parent's end", child)
		}
	})

	for _, kinesisEnd := range []bool{false, true} {
		name := "merge"
		if kinesisEnd {
			name = "merge, closed shards ending as on Kinesis"
		}
		t.Run(name, func(t *testing.T) {
			stream := map[bool]string{false: "merge", true: "merge-end"}[kinesisEnd]
			testenv.CreateStream(t, c, stream, 2)
			w := &watch{KinesisAPI: c, kinesisEnd: kinesisEnd}
			f, stop := runWatched(t, w, stream)
			put(t, c, stream, keys, numbered("before", 16)...)
			w.waitFor(t, func() bool { return len(f.doneData()) == 16 })
			_, err := c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(stream),
				ShardToMerge: aws.String(parent0), AdjacentShardToMerge: aws.String(parent1)})
			require.NoError(t, err)
			// The last hash key of the first parent: the one key moto puts in
			// the merged shard.
			key := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 127), big.NewInt(1)).String()
			for _, d := range numbered("after", 8) {
				_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("k"),
					ExplicitHashKey: aws.String(key), Data: []byte(d)})
				require.NoError(t, err)
			}
			w.waitFor(t, func() bool { return count(f.doneData(), "after") == 8 })
			stop()

			child := "shardId-000000000002"
			from := map[string][]string{} // data → shards it came from
			for _, d := range f.done {
				from[d.data] = append(from[d.data], d.shard)
			}
			for _, d := range numbered("after", 8) {
				assert.Equal(t, []string{child}, from[d], "%s once, from the merged shard", d)
			}
			for _, d := range numbered("before", 16) {
				// moto also copies the parents' records into the merged shard.
				require.NotEmpty(t, from[d], d)
				assert.Contains(t, []string{parent0, parent1}, from[d][0], "%s first from its parent", d)
				assert.LessOrEqual(t, len(from[d]), 2, "%s: at most moto's copy again", d)
			}
			// The merged shard was started after both parents were read to
			// their end: after their last records.
			start := w.index("iterator " + child + " TRIM_HORIZON")
			for _, p := range []string{parent0, parent1} {
				assert.Greater(t, start, w.last("deliver "+p), "merged shard started before %s ended", p)
			}
			if kinesisEnd {
				assert.True(t, w.ended(parent0) && w.ended(parent1), "the parents' reading ended")
			}
		})
	}
}

// runWatched runs a mapping of stream through w, its deliveries logged in
// w's sequence; stop stops it and checks it stopped cleanly.
func runWatched(t *testing.T, w *watch, stream string) (f *function, stop func()) {
	f = &function{}
	m := mapping(t, w, stream, f)
	m.Handler = func(ctx context.Context, ev events.KinesisEvent) ([]events.KinesisBatchItemFailure, error) {
		for _, r := range ev.Records {
			w.add("deliver " + r.EventID[:len(r.EventID)-len(r.Kinesis.SequenceNumber)-1] + " " + r.Kinesis.SequenceNumber)
		}
		return f.handle(ctx, ev)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.errc = make(chan error, 1)
	go func() { w.errc <- m.Run(ctx) }()
	return f, func() {
		cancel()
		require.NoError(t, <-w.errc)
	}
}

// watch passes every call to moto and logs, in one sequence with the
// deliveries, when each shard's reading starts. With kinesisEnd it also
// gives what moto never gives: Kinesis's end of a closed shard, no next
// iterator once the shard is read (a fake of that one behaviour, from the
// closed shards moto lists).
type watch struct {
	KinesisAPI
	kinesisEnd bool
	errc       chan error

	mu      sync.Mutex
	events  []string
	shardOf map[string]string // iterator → shard
	closed  map[string]bool
	done    map[string]bool // shards given their end
}

func (w *watch) add(e string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, e)
}

// index is the position of the first event e; last, of the last event
// starting with prefix.
func (w *watch) index(e string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Index(w.events, e)
}

func (w *watch) last(prefix string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.events) - 1; i >= 0; i-- {
		if len(w.events[i]) >= len(prefix) && w.events[i][:len(prefix)] == prefix {
			return i
		}
	}
	return -1
}

func (w *watch) started(shard string) bool { return w.index("iterator "+shard+" TRIM_HORIZON") >= 0 }

func (w *watch) ended(shard string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.done[shard]
}

func (w *watch) waitFor(t *testing.T, cond func() bool) { t.Helper(); waitFor(t, w.errc, cond) }

func (w *watch) ListShards(ctx context.Context, in *kinesis.ListShardsInput, o ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	out, err := w.KinesisAPI.ListShards(ctx, in, o...)
	if err == nil {
		w.mu.Lock()
		if w.closed == nil {
			w.closed = map[string]bool{}
		}
		for _, sh := range out.Shards {
			if sh.SequenceNumberRange.EndingSequenceNumber != nil {
				w.closed[aws.ToString(sh.ShardId)] = true
			}
		}
		w.mu.Unlock()
	}
	return out, err
}

func (w *watch) GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, o ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	out, err := w.KinesisAPI.GetShardIterator(ctx, in, o...)
	if err == nil {
		w.mu.Lock()
		w.events = append(w.events, "iterator "+aws.ToString(in.ShardId)+" "+string(in.ShardIteratorType))
		if w.shardOf == nil {
			w.shardOf = map[string]string{}
		}
		w.shardOf[aws.ToString(out.ShardIterator)] = aws.ToString(in.ShardId)
		w.mu.Unlock()
	}
	return out, err
}

func (w *watch) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, o ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	w.mu.Lock()
	shard, closed := w.shardOf[aws.ToString(in.ShardIterator)], w.closed[w.shardOf[aws.ToString(in.ShardIterator)]]
	w.mu.Unlock()
	out, err := w.KinesisAPI.GetRecords(ctx, in, o...)
	if err != nil {
		return out, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.kinesisEnd && closed && len(out.Records) == 0 {
		out.NextShardIterator = nil
		if w.done == nil {
			w.done = map[string]bool{}
		}
		w.done[shard] = true
	}
	w.shardOf[aws.ToString(out.NextShardIterator)] = shard
	return out, err
}

func count(data []string, prefix string) int {
	n := 0
	for _, d := range data {
		if len(d) > len(prefix) && d[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}
