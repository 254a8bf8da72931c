package eventsource

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// delivery is one record as the function got it.
type delivery struct {
	shard, seq, key, data string
}

// function is a hand-made function: it keeps every invocation's records
// and answers as answer says (nil: success for the whole batch).
type function struct {
	mu     sync.Mutex
	calls  [][]delivery // the records of each invocation
	ids    []string     // the request id of each invocation
	done   []delivery   // the records each answer said were done, in order
	answer func(ctx context.Context, call int, recs []delivery) ([]events.KinesisBatchItemFailure, error)
}

func (f *function) handle(ctx context.Context, ev events.KinesisEvent) ([]events.KinesisBatchItemFailure, error) {
	recs := make([]delivery, len(ev.Records))
	for i, r := range ev.Records {
		shard := r.EventID[:len(r.EventID)-len(r.Kinesis.SequenceNumber)-1]
		recs[i] = delivery{shard: shard, seq: r.Kinesis.SequenceNumber, key: r.Kinesis.PartitionKey, data: string(r.Kinesis.Data)}
	}
	f.mu.Lock()
	call := len(f.calls)
	f.calls = append(f.calls, recs)
	lc, _ := lambdacontext.FromContext(ctx)
	f.ids = append(f.ids, lc.AwsRequestID)
	answer := f.answer
	f.mu.Unlock()
	var failures []events.KinesisBatchItemFailure
	var err error
	if answer != nil {
		failures, err = answer(ctx, call, recs) // outside the lock: it may block or panic
	}
	if err != nil || ctx.Err() != nil {
		return failures, err // a response after the timeout is discarded: nothing was done
	}
	n := len(recs)
	for _, fl := range failures {
		i := slices.IndexFunc(recs, func(d delivery) bool { return d.seq == fl.ItemIdentifier })
		if i < 0 {
			i = 0 // naming no record fails the whole batch
		}
		n = min(n, i)
	}
	f.mu.Lock()
	f.done = append(f.done, recs[:n]...)
	f.mu.Unlock()
	return failures, err
}

// doneData returns the data of the records done, in order.
func (f *function) doneData() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, d := range f.done {
		out = append(out, d.data)
	}
	return out
}

// sizes returns the number of records of each invocation.
func (f *function) sizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for _, c := range f.calls {
		out = append(out, len(c))
	}
	return out
}

// motoEnv is one moto, as Kinesis and SQS, that a test's cases share.
type motoEnv struct {
	endpoint string
	c        *kinesis.Client
	q        *sqs.Client
}

func newMotoEnv(t *testing.T) *motoEnv {
	endpoint := testenv.Moto(t)
	return &motoEnv{endpoint: endpoint, c: testenv.Kinesis(t, endpoint), q: testenv.SQS(t, endpoint)}
}

// mapping returns a mapping of stream to f with the template's
// configuration, polling fast, logging to the test's log on failure.
func mapping(t *testing.T, c KinesisAPI, stream string, f *function) *Mapping {
	m := New(c, stream, f.handle)
	m.Poll, m.RetryWait, m.Region, m.Logger = 20*time.Millisecond, 5*time.Millisecond, "us-east-1", testLogger(t)
	return m
}

// testLogger logs to a buffer shown only when the test fails.
func testLogger(t *testing.T) *slog.Logger {
	var mu sync.Mutex
	var buf bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			t.Logf("mapping log:\n%s", buf.String())
			mu.Unlock()
		}
	})
	return slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, nil))
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// runUntil runs m until cond holds, then stops it as Ctrl-C would and
// checks that it stopped cleanly. The bound only catches a hang: nothing
// is asserted on timing.
func runUntil(t *testing.T, m *Mapping, cond func() bool) {
	t.Helper()
	errc, stop := start(t, m)
	waitFor(t, errc, cond)
	stop()
}

// start runs m in the background until stop, which stops it as Ctrl-C
// would and checks that it stopped cleanly; errc gets Run's result, for
// waitFor. The test's end stops it too, if the test fails first.
func start(t *testing.T, m *Mapping) (errc chan error, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	errc = make(chan error, 1)
	go func() { errc <- m.Run(ctx) }()
	return errc, func() {
		t.Helper()
		cancel()
		require.NoError(t, <-errc)
	}
}

// waitFor polls cond until it holds; it fails the test if the mapping
// stopped (errc) or after a generous bound.
func waitFor(t *testing.T, errc chan error, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-errc:
			t.Fatalf("mapping stopped early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
	}
}

// put puts one record per data, with partition key key(i), and returns
// their sequence numbers.
func put(t *testing.T, c *kinesis.Client, stream string, key func(i int) string, data ...string) []string {
	t.Helper()
	var seqs []string
	for i, d := range data {
		out, err := c.PutRecord(context.Background(), &kinesis.PutRecordInput{
			StreamName: aws.String(stream), PartitionKey: aws.String(key(i)), Data: []byte(d)})
		require.NoError(t, err)
		seqs = append(seqs, aws.ToString(out.SequenceNumber))
	}
	return seqs
}

// numbered returns "prefix 0" ... "prefix n-1".
func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %d", prefix, i)
	}
	return out
}

func byIndex(i int) string { return fmt.Sprint(i) }

// failureRecords decodes on-failure message bodies.
func failureRecords(t *testing.T, bodies []string) []FailureRecord {
	t.Helper()
	var out []FailureRecord
	for _, b := range bodies {
		var r FailureRecord
		dec := json.NewDecoder(bytes.NewReader([]byte(b)))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&r), "%s", b)
		out = append(out, r)
	}
	return out
}

// less compares decimal sequence numbers.
func less(a, b string) bool { return len(a) < len(b) || (len(a) == len(b) && a < b) }
