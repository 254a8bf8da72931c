package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/eventsource"
	"github.com/rideduration/rideduration/handler"
	"github.com/rideduration/rideduration/internal/compiled"
	"github.com/rideduration/rideduration/internal/faultproxy"
	"github.com/rideduration/rideduration/internal/golden"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/putrecords"
	"github.com/rideduration/rideduration/wire"
)

// The soaks: February rides go ride_events → `predict stream`
// (the local event-source mapping and the function's handler) → a
// fault-injecting proxy → moto's predictions stream. The proxy sits
// between the function and moto for every call (the mapping's reads too:
// `predict stream` takes one AWS_ENDPOINT_URL); the test writes the rides
// and reads the predictions straight from moto.

// soakFaults are the soak's fault rates: 30 % of PutRecords entries failed,
// 5 % of PutRecords calls throttled (HTTP 400), 3 % answered HTTP 500,
// 3 % of GetRecords calls answered HTTP 500, and one call in ten of each
// held up to 200 ms. None of them writes anything: a failed entry or call
// never reached moto.
func soakFaults() map[string]faultproxy.Faults {
	return map[string]faultproxy.Faults{
		"PutRecords": {EntryFailure: 0.30, Throttle: 0.05, ServerError: 0.03, Delay: 0.1, MaxDelay: 200 * time.Millisecond},
		"GetRecords": {ServerError: 0.03, Delay: 0.1, MaxDelay: 200 * time.Millisecond},
	}
}

// envInt reads a soak setting from the environment.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, "%s=%q", name, v)
	return n
}

// TestSoak is the main soak: SOAK_RIDES February rides (2,000 in CI; `make
// soak` runs 10,000), already on ride_events, through the built `predict
// stream -batch-size 500` under soakFaults. Every ride must be delivered,
// bit-identical to sklearn's prediction, with duplicates at most 2 % of the
// rides. Rides/s is reported, never asserted.
// SOAK_LOST_RESPONSES (a rate, default 0) adds PutRecords calls forwarded
// to moto and then answered HTTP 500, the one fault that duplicates.
func TestSoak(t *testing.T) {
	rides := envInt(t, "SOAK_RIDES", 2000)
	faults := soakFaults()
	if v := os.Getenv("SOAK_LOST_RESPONSES"); v != "" {
		rate, err := strconv.ParseFloat(v, 64)
		require.NoError(t, err, "SOAK_LOST_RESPONSES=%q", v)
		f := faults["PutRecords"]
		f.LostResponse = rate
		faults["PutRecords"] = f
	}
	p := newPipeline(t, int32(envInt(t, "SOAK_SHARDS", 1)), faults)
	p.produce(0, rides)
	fig := p.finish(p.startBinary(), rides)
	assert.Zero(t, fig.lost, "rides lost")
	assert.LessOrEqual(t, fig.duplicates, rides/50, "duplicates above 2%% of the rides")
}

// TestOutage: the predictions stream is unavailable for 10 s (every call
// naming it answered HTTP 503), while rides keep coming; then it comes
// back, and every ride is delivered, none lost. Through the built
// `predict stream` (the function's timeout is the template's 30 s:
// the handler resends through the outage), and with the mapping in process
// and a 3 s function timeout, shorter than the outage: the handler stops
// at its deadline margin and reports every unwritten record, the mapping
// re-delivers them, until the stream is back.
func TestOutage(t *testing.T) {
	for _, inProcess := range []bool{false, true} {
		name := "predict stream, timeout 30s"
		if inProcess {
			name = "in process, timeout 3s"
		}
		t.Run(name, func(t *testing.T) {
			const rides, waves = 3000, 30
			p := newPipeline(t, 1, nil)
			// Rides are written while the mapping reads: through the proxy, which
			// keeps moto's reads and writes apart (faultproxy.Proxy.motoLock).
			// It injects no fault here but the outage of ride_prediction.
			p.producer = testenv.Kinesis(t, p.proxy.URL)
			var run *process
			if inProcess {
				run = p.startInProcess(3 * time.Second)
			} else {
				run = p.startBinary()
			}
			// Rides arrive for 15 s, 100 every half second; the stream is down
			// from the 3rd second to the 13th.
			produced := make(chan struct{})
			go func() {
				defer close(produced)
				for w := range waves {
					p.produce(w*rides/waves, (w+1)*rides/waves)
					time.Sleep(500 * time.Millisecond)
				}
			}()
			time.Sleep(3 * time.Second)
			p.proxy.SetDown(predictionsStream, true)
			time.Sleep(10 * time.Second)
			p.proxy.SetDown(predictionsStream, false)
			<-produced
			fig := p.finish(run, rides)
			assert.Zero(t, fig.lost, "rides lost")
			assert.Positive(t, p.proxy.Stats()["PutRecords"].Unavailable, "the outage was felt")
			if inProcess {
				assert.Positive(t, fig.outOfTime, "invocations stopped at their deadline margin")
			}
		})
	}
}

const (
	ridesStream       = "ride_events"
	predictionsStream = "ride_prediction"
)

// pipeline is moto with both streams, the proxy in front of it, and the
// golden rides.
type pipeline struct {
	t        *testing.T
	direct   *kinesis.Client // straight to moto: the checks
	producer *kinesis.Client // writes the rides: straight to moto unless set
	proxy    *faultproxy.Proxy
	rows     []golden.Row
}

func newPipeline(t *testing.T, shards int32, faults map[string]faultproxy.Faults) *pipeline {
	t.Helper()
	moto := testenv.Moto(t)
	p := &pipeline{t: t, direct: testenv.Kinesis(t, moto), proxy: faultproxy.Start(t, moto, uint64(envInt(t, "SOAK_SEED", 2026)))}
	p.producer = p.direct
	testenv.CreateStream(t, p.direct, ridesStream, shards)
	testenv.CreateStream(t, p.direct, predictionsStream, 1)
	for op, f := range faults {
		p.proxy.Set(op, f)
	}
	rows, err := golden.Load()
	require.NoError(t, err)
	p.rows = rows
	return p
}

// produce puts rides [from, to) on ride_events: ride id = golden row index
// = partition key.
func (p *pipeline) produce(from, to int) {
	require.LessOrEqual(p.t, to, len(p.rows), "more rides than February has")
	for start := from; start < to; start += putrecords.MaxRecords {
		var entries []types.PutRecordsRequestEntry
		for i := start; i < min(to, start+putrecords.MaxRecords); i++ {
			entries = append(entries, types.PutRecordsRequestEntry{
				Data: []byte(rideJSON(p.rows[i], i)), PartitionKey: aws.String(strconv.Itoa(i))})
		}
		out, err := p.producer.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String(ridesStream), Records: entries})
		require.NoError(p.t, err)
		require.Zero(p.t, aws.ToInt32(out.FailedRecordCount), "moto never fails an entry")
	}
}

// process is a running mapping.
type process struct {
	started time.Time
	exited  chan struct{} // closed when the mapping stops by itself
	log     *os.File      // the function's and the mapping's JSON logs
	stop    func()        // Ctrl-C, and wait
}

// newProcess returns a process whose log is a file of the test's.
func newProcess(t *testing.T) *process {
	log, err := os.Create(filepath.Join(t.TempDir(), "log.jsonl"))
	require.NoError(t, err)
	t.Cleanup(func() { log.Close() })
	return &process{exited: make(chan struct{}), log: log}
}

// logged is what the process has logged so far.
func (r *process) logged(t *testing.T) []byte {
	b, err := os.ReadFile(r.log.Name())
	require.NoError(t, err)
	return b
}

// finish waits until rides [0, n) are delivered, stops the mapping, checks
// the predictions stream and reports the figures.
func (p *pipeline) finish(run *process, n int) figures {
	delivered := p.waitDelivered(n, run.exited)
	run.stop()
	fig := p.verify(n)
	fig.elapsed = delivered.Sub(run.started)
	fig.logs(run.logged(p.t))
	p.t.Logf("%s: %s", p.t.Name(), fig.report(p.proxy))
	assert.Zero(p.t, p.proxy.Stats()["PutRecords"].SequenceReused,
		"moto gave a sequence number twice: a record was overwritten (see faultproxy's motoLock)")
	if os.Getenv("SOAK_LOG") != "" {
		p.t.Logf("the function's log:\n%s", run.logged(p.t))
	}
	return fig
}

// startBinary runs the built `predict stream -batch-size 500 ride_events`,
// as a user would, with every call through the proxy.
func (p *pipeline) startBinary() *process {
	t := p.t
	bin := testenv.GoBuild(t, ".", "predict", nil)
	cmd := exec.Command(bin, "stream", "-batch-size", "500", ridesStream)
	cmd.Env = append(os.Environ(), testenv.AWSEnv(p.proxy.URL)...)
	cmd.Env = append(cmd.Env, "PREDICTIONS_STREAM_NAME="+predictionsStream, "RUN_ID=", "TEST_RUN=",
		"DEAD_LETTER_STREAM_NAME=", "DEADLINE_MARGIN=")
	run := newProcess(t)
	cmd.Stdout, cmd.Stderr = io.Discard, run.log
	run.started = time.Now()
	require.NoError(t, cmd.Start())
	var err error
	go func() { err = cmd.Wait(); close(run.exited) }()
	run.stop = func() {
		select {
		case <-run.exited:
			t.Errorf("the mapping stopped by itself: %v; its log ends:\n%s", err, tail(string(run.logged(t)), 2000))
			return
		default:
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		select {
		case <-run.exited:
			assert.NoError(t, err, "exit status after Ctrl-C")
		case <-time.After(90 * time.Second): // a bound, not a timed assertion
			_ = cmd.Process.Kill()
			<-run.exited
			t.Error("the mapping did not stop after Ctrl-C")
		}
	}
	t.Cleanup(func() {
		select {
		case <-run.exited:
		default:
			_ = cmd.Process.Kill()
			<-run.exited
		}
	})
	return run
}

// startInProcess runs the mapping and the function's handler in the test,
// as `predict stream` wires them, with the function's timeout given.
func (p *pipeline) startInProcess(timeout time.Duration) *process {
	t := p.t
	for _, kv := range testenv.AWSEnv(p.proxy.URL) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	client, err := putrecords.NewClient(context.Background())
	require.NoError(t, err)
	run := newProcess(t)
	log := slog.New(slog.NewJSONHandler(run.log, nil))
	h := handler.New(handler.Config{PredictionsStream: predictionsStream, Logger: log}, compiled.Model(), client)
	m := eventsource.New(client, ridesStream, func(ctx context.Context, ev events.KinesisEvent) ([]events.KinesisBatchItemFailure, error) {
		resp, err := h.Handle(ctx, ev)
		return resp.BatchItemFailures, err
	})
	m.BatchSize, m.FunctionTimeout, m.Logger = 500, timeout, log
	m.MaximumRetryAttempts, m.MaximumRecordAge = -1, -1 // the outage must not give a batch up
	ctx, cancel := context.WithCancel(context.Background())
	var runErr error
	run.started = time.Now()
	go func() { runErr = m.Run(ctx); close(run.exited) }()
	run.stop = func() {
		select {
		case <-run.exited:
			t.Errorf("the mapping stopped by itself: %v", runErr)
			return
		default:
		}
		cancel()
		<-run.exited
		assert.NoError(t, runErr)
	}
	t.Cleanup(func() { cancel(); <-run.exited })
	return run
}

// waitDelivered follows the predictions stream, straight from moto, until
// every ride id below n has a prediction event, and returns when that was
// seen. If the follower stalls, the whole stream is read again from
// TRIM_HORIZON (once, here, a reader following a moto stream while
// PutRecords calls landed missed a record a fresh read found). It gives up
// when the mapping stops by itself, after a minute without a new record or
// after a bound (a hang, not a timed assertion): verify then reports what
// is missing.
func (p *pipeline) waitDelivered(n int, exited <-chan struct{}) time.Time {
	t := p.t
	seen := map[int]bool{}
	add := func(recs []types.Record) {
		for _, r := range recs {
			if id, err := strconv.Atoi(aws.ToString(r.PartitionKey)); err == nil && id < n {
				seen[id] = true
			}
		}
	}
	it, err := p.direct.GetShardIterator(context.Background(), &kinesis.GetShardIteratorInput{StreamName: aws.String(predictionsStream),
		ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	require.NoError(t, err)
	iter := it.ShardIterator
	start := time.Now()
	bound := start.Add(2*time.Minute + time.Duration(n)*30*time.Millisecond)
	stalled := 0 // reads in a row that found nothing new
	for len(seen) < n {
		out, err := p.direct.GetRecords(context.Background(), &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil { // the follower is not under test: it tries again
			t.Logf("following %s: %v", predictionsStream, err)
		} else {
			iter = out.NextShardIterator
			add(out.Records)
			if len(out.Records) > 0 {
				stalled = 0
				continue
			}
		}
		if stalled++; stalled%20 == 0 { // 4 s without a new record
			add(testenv.ReadStream(t, p.direct, predictionsStream))
			if len(seen) == n {
				t.Logf("the follower missed records a fresh read found")
			}
		}
		select {
		case <-exited:
			t.Errorf("the mapping stopped with %d of %d rides delivered", len(seen), n)
			return time.Now()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(bound) || stalled == 300 { // a minute without a new record
			t.Errorf("%d of %d rides delivered after %v", len(seen), n, time.Since(start).Round(time.Second))
			return time.Now()
		}
	}
	return time.Now()
}

// figures are what a soak measured.
type figures struct {
	rides, events, lost, duplicates int
	elapsed                         time.Duration
	// From the function's and the mapping's logs.
	batches, predicted, written, calls, resent, outOfTime, redeliveries int
}

// verify reads the whole predictions stream from TRIM_HORIZON and checks
// every ride id below n: at least one prediction event, each bit-identical
// to sklearn's prediction, keyed by the ride id.
func (p *pipeline) verify(n int) figures {
	t := p.t
	fig := figures{rides: n}
	count := make([]int, n)
	for _, r := range testenv.ReadStream(t, p.direct, predictionsStream) {
		var e wire.PredictionEvent
		require.NoError(t, json.Unmarshal(r.Data, &e), "%s", r.Data)
		id, err := strconv.Atoi(string(e.Prediction.RideID))
		require.NoError(t, err, "ride_id %s", e.Prediction.RideID)
		require.True(t, id >= 0 && id < n, "ride_id %d: no such ride", id)
		require.Equal(t, strconv.Itoa(id), aws.ToString(r.PartitionKey), "partition key = ride id")
		require.Equal(t, math.Float64bits(p.rows[id].Prediction), math.Float64bits(e.Prediction.RideDuration),
			"ride %d (%v): %v, want %v", id, p.rows[id].Features, e.Prediction.RideDuration, p.rows[id].Prediction)
		require.Equal(t, compiled.Model().Version, e.Version)
		count[id]++
		fig.events++
	}
	var lost []int
	for id, c := range count {
		if c == 0 {
			lost = append(lost, id)
		}
	}
	fig.lost = len(lost)
	fig.duplicates = fig.events - (n - fig.lost)
	if len(lost) > 0 {
		t.Logf("lost ride ids (first 20): %v", lost[:min(20, len(lost))])
		p.whereLost(lost[:min(20, len(lost))])
	}
	return fig
}

// whereLost logs where lost rides are on ride_events: a ride the function
// never got is not the function's loss.
func (p *pipeline) whereLost(ids []int) {
	want := map[string]bool{}
	for _, id := range ids {
		want[strconv.Itoa(id)] = true
	}
	for _, r := range testenv.ReadStream(p.t, p.direct, ridesStream) {
		if key := aws.ToString(r.PartitionKey); want[key] {
			p.t.Logf("lost ride %s is on %s at sequence number %s", key, ridesStream, aws.ToString(r.SequenceNumber))
		}
	}
}

// logs adds up the JSON log lines of the handler ("batch") and the mapping
// ("re-delivering").
func (f *figures) logs(stderr []byte) {
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			Msg       string `json:"msg"`
			Predicted int    `json:"predicted"`
			Written   int    `json:"written"`
			Calls     int    `json:"calls"`
			Resent    int    `json:"resent"`
			OutOfTime bool   `json:"out_of_time"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		switch l.Msg {
		case "batch":
			f.batches++
			f.predicted += l.Predicted
			f.written += l.Written
			f.calls += l.Calls
			f.resent += l.Resent
			if l.OutOfTime {
				f.outOfTime++
			}
		case "re-delivering":
			f.redeliveries++
		}
	}
}

func (f figures) report(proxy *faultproxy.Proxy) string {
	// The function's writes (the outage's producer writes through the proxy too).
	put, get := proxy.StreamStats("PutRecords", predictionsStream), proxy.Stats()["GetRecords"]
	secs := f.elapsed.Seconds()
	return fmt.Sprintf("%d rides, %d lost, %d duplicates (%.2f%% of rides), %.0f rides/s, %.1f s; "+
		"%d invocations (%d out of time, %d predictions, %d written), %d re-deliveries; PutRecords: %d calls by the handler, %d entries resent; "+
		"proxy: PutRecords to %s %d calls (%d throttled, %d HTTP 500, %d lost responses, %d unavailable, %d delayed), "+
		"%d of %d entries failed, %d sequence numbers reused by moto; GetRecords %d calls (%d HTTP 500, %d delayed)",
		f.rides, f.lost, f.duplicates, 100*float64(f.duplicates)/float64(f.rides), float64(f.rides)/secs, secs,
		f.batches, f.outOfTime, f.predicted, f.written, f.redeliveries, f.calls, f.resent,
		predictionsStream, put.Calls, put.Throttled, put.ServerErrors, put.LostResponses, put.Unavailable, put.Delayed,
		put.EntriesFailed, put.Entries, put.SequenceReused, get.Calls, get.ServerErrors, get.Delayed)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
