// Package handler is the streaming function: it reads ride events from a
// Kinesis event, predicts each ride's duration with the model it is given
// and writes one prediction event per ride to the predictions stream.
//
// The handler is a plain Go method (Handler.Handle), testable without any
// runtime; lambda hands it to aws-lambda-go and the local
// event-source mapping (cmd/predict stream) calls it in process.
package handler

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/rideduration/rideduration/kinesisevent"
	"github.com/rideduration/rideduration/model"
	"github.com/rideduration/rideduration/putrecords"
	"github.com/rideduration/rideduration/wire"
)

// Handler handles the Kinesis events of the ride_events stream.
type Handler struct {
	cfg   Config
	model model.Model
	enc   *wire.Encoder // the model's events, their constant head encoded once
	out   *putrecords.Writer
	log   *slog.Logger
	emf   *emf        // nil: no metrics
	cold  atomic.Bool // no invocation yet: the next one is the cold start
}

// New returns a handler that predicts with m and writes with client. client
// may be nil when cfg.TestRun is set, as nothing is written then.
func New(cfg Config, m model.Model, client putrecords.API) *Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stdout, nil))
	}
	out := &putrecords.Writer{Client: client, Margin: cfg.DeadlineMargin, Attempts: cfg.Attempts, MaxBackoff: cfg.MaxBackoff}
	h := &Handler{cfg: cfg, model: m, enc: wire.NewEncoder(m.Name, m.Version), out: out, log: log}
	if cfg.Metrics != nil {
		h.emf = newEMF(cfg)
		h.cold.Store(true)
	}
	return h
}

// MaxResponseBytes bounds the JSON of a response. Lambda refuses a
// synchronous response of more than 6 MB (6,291,456 bytes) after the
// function has run and written its predictions, and counts a function
// error: the event-source mapping retries or bisects the batch, and every
// ride is written again. A dense batch of KPL aggregates can need more: 4
// aggregates of about 1 MB hold some 54,000 compact rides (a 5.6 MB event),
// whose predictions take 6.6 MB. The bound leaves 291,456 bytes of headroom.
// If every prediction would not fit, the response holds the first ones that
// do (each prediction is in the predictions stream all the same), and a log
// line says how many were left out; its BatchItemFailures is always
// complete.
const MaxResponseBytes = 6_000_000

// Handle predicts every ride of the event and writes the prediction events,
// one PutRecords call per 500 records, resending the entries a call failed
// until they are written or the invocation's time is nearly up (ctx's
// deadline less Config.DeadlineMargin). It never fails the whole batch:
// records that could not be written are returned as batch item failures
// (Lambda re-delivers from the lowest one), bad records are logged (the
// first MaxBadRecordLines, then a count by reason) and dead-lettered, never
// retried. A KPL aggregate's user records are each a ride; if any of them
// cannot be written, the aggregate is reported. What the invocation did
// goes to Config.OnBatch and, as metrics, to
// Config.Metrics (see metrics.go). The error is always nil; it is there
// for the Lambda handler signature.
func (h *Handler) Handle(ctx context.Context, ev events.KinesisEvent) (kinesisevent.Response, error) {
	sc := scratchPool.Get().(*scratch)
	defer sc.put()
	return h.handle(ctx, ev, sc), nil
}

// Invoke is the function as the Lambda runtime calls it (aws-lambda-go's
// lambda.Handler): the event's JSON in, the response's JSON out. It reads
// the event with a kinesisevent.Decoder, not by reflection, and writes the
// response from the prediction events Handle encoded anyway: the result is
// what aws-lambda-go would make of Handle, byte for byte (TestInvoke). An
// event that is not one fails the invocation, as it does in aws-lambda-go.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	sc := scratchPool.Get().(*scratch)
	defer sc.put()
	ev, err := sc.events.Decode(payload)
	if err != nil {
		return nil, err
	}
	resp := h.handle(ctx, ev, sc)
	// The response outlives the scratch: the runtime sends it after Invoke
	// returns.
	return kinesisevent.AppendJSON(make([]byte, 0, sc.size), resp, sc.entries[:len(resp.Predictions)], predictionJSON), nil
}

// predictionJSON is an entry's data: a prediction event's JSON.
func predictionJSON(e putrecords.Entry) []byte { return e.Data }

// handle is Handle, with the batch's working memory given: Invoke
// keeps it to write the response.
func (h *Handler) handle(ctx context.Context, ev events.KinesisEvent, sc *scratch) kinesisevent.Response {
	if h.emf != nil && h.cold.Load() && h.cold.Swap(false) {
		// First, as Powertools does: a cold start that fails is counted too.
		sc.emf = h.emf.appendColdStart(sc.emf[:0], time.Now())
		_, _ = h.emf.w.Write(sc.emf)
	}
	n := len(ev.Records)
	resp := kinesisevent.Response{
		Predictions:       make([]wire.PredictionEvent, 0, n),
		BatchItemFailures: []events.KinesisBatchItemFailure{},
	}
	// One buffer holds every record's JSON, one every partition key: no
	// allocation a record, and the buffers are reused by the next batch.
	entries, buf, keyBuf, keyEnd := sc.entries, sc.buf, sc.keys, sc.keyEnd
	var bad []badRecord
	users := 0 // of KPL aggregates
	for r := range userRecords(ev.Records) {
		if r.sub >= 0 {
			users++
		}
		ride, err := r.parse(&h.model)
		if err != nil {
			bad = append(bad, badRecord{userRecord: r, reason: err.Error(), cause: err})
			if len(bad) <= MaxBadRecordLines {
				h.log.Warn("bad record", append(r.logAttrs(&ev.Records[r.index]), "reason", err.Error())...)
			}
			continue
		}
		duration, text := h.model.PredictWithText(ride.Features)
		p := ride.PredictionEvent(h.model.Name, h.model.Version, duration)
		resp.Predictions = append(resp.Predictions, p)
		if secs := p.Prediction.RideDuration * 60; h.emf != nil && inDistribution(secs) {
			sc.secs = append(sc.secs, secs)
		}
		start := len(buf)
		buf = h.enc.AppendText(buf, p.Prediction, text)
		entries = append(entries, putrecords.Entry{Data: buf[start:len(buf):len(buf)], Index: r.index})
		keyBuf = ride.AppendPartitionKey(keyBuf)
		keyEnd = append(keyEnd, len(keyBuf))
	}
	keys, from := string(keyBuf), 0
	for i, to := range keyEnd {
		entries[i].Key, from = keys[from:to], to
	}
	sc.entries, sc.buf, sc.keys, sc.keyEnd = entries, buf, keyBuf, keyEnd // grown, if they had to
	if len(bad) > MaxBadRecordLines {
		h.logBadSummary(ctx, bad)
	}

	var written, dead putrecords.Result
	if !h.cfg.TestRun {
		written, dead = h.write(ctx, ev.Records, entries, bad)
	}
	// A bad record whose dead letter was not written is reported too, so
	// that it is not lost: the event-source mapping re-delivers it and, after
	// its retries, sends it to its on-failure destination.
	failed := append(written.Failed, dead.Failed...)
	slices.Sort(failed)
	failed = slices.Compact(failed) // the user records of one aggregate share its index
	for _, i := range failed {
		resp.BatchItemFailures = append(resp.BatchItemFailures,
			events.KinesisBatchItemFailure{ItemIdentifier: ev.Records[i].Kinesis.SequenceNumber})
	}
	// The prediction events lie end to end in buf.
	sc.size = resp.Size(len(entries), len(buf))
	if sc.size > MaxResponseBytes {
		h.cutPredictions(ctx, &resp, entries, sc)
	}
	h.logBatch(ctx, n, len(entries), len(bad), written, dead)
	if h.emf != nil || h.cfg.OnBatch != nil {
		f := Figures{Records: n, KPLUserRecords: users, Predicted: len(entries), Bad: len(bad),
			WriteFailures: len(written.Failed) + len(dead.Failed), BatchItemFailures: len(resp.BatchItemFailures),
			Calls: written.Calls + dead.Calls, Resent: written.Resent + dead.Resent}
		if !h.cfg.TestRun && h.cfg.DeadLetterStream != "" {
			f.DeadLettered = len(bad) - len(dead.Failed)
		}
		h.report(ctx, &f, ev.Records, sc)
	}
	return resp
}

// report hands an invocation's figures to OnBatch and writes its metrics.
func (h *Handler) report(ctx context.Context, f *Figures, recs []events.KinesisEventRecord, sc *scratch) {
	if h.cfg.OnBatch != nil {
		h.cfg.OnBatch(*f)
	}
	if h.emf == nil {
		return
	}
	stream := unknown
	if len(recs) > 0 {
		stream = streamName(recs[0].EventSourceArn) // a batch comes from one stream
	}
	var requestID string
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		requestID = lc.AwsRequestID
	}
	slices.Sort(sc.secs)
	sc.emf = h.emf.appendInvocation(sc.emf[:0], time.Now(), stream, f, sc.secs, h.cfg.TestRun, requestID)
	_, _ = h.emf.w.Write(sc.emf)
}

// cutPredictions leaves the last predictions out of the response, as many
// as it takes to fit MaxResponseBytes, and says so. They are left out of
// the response only: they were written like the others, or are reported in
// BatchItemFailures.
func (h *Handler) cutPredictions(ctx context.Context, resp *kinesisevent.Response, entries []putrecords.Entry, sc *scratch) {
	keep := len(resp.Predictions)
	for ; keep > 0 && sc.size > MaxResponseBytes; keep-- {
		sc.size -= len(entries[keep-1].Data) + min(keep-1, 1) // and its comma
	}
	resp.Predictions = resp.Predictions[:keep]
	note := "the response must stay under Lambda's 6 MB limit; the predictions left out are written to " +
		h.cfg.PredictionsStream + " like the others (those not written are in batchItemFailures)"
	if h.cfg.TestRun {
		note = "the response must stay under Lambda's 6 MB limit; TEST_RUN: nothing is written"
	}
	attrs := []any{"left_out", len(entries) - keep, "in_response", keep,
		"response_bytes", sc.size, "max_response_bytes", MaxResponseBytes, "note", note}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		attrs = append(attrs, "request_id", lc.AwsRequestID)
	}
	h.log.Warn("predictions left out of the response", attrs...)
}

// write puts the prediction events and the dead letters, both at once: each
// has the invocation's whole time budget. (A method of its own, so that
// what its goroutine shares escapes to the heap only when there is a write.)
func (h *Handler) write(ctx context.Context, recs []events.KinesisEventRecord, entries []putrecords.Entry, bad []badRecord) (written, dead putrecords.Result) {
	var wg sync.WaitGroup
	if h.cfg.DeadLetterStream != "" && len(bad) > 0 {
		wg.Go(func() { dead = h.out.Put(ctx, h.cfg.DeadLetterStream, deadLetters(recs, bad)) })
	}
	written = h.out.Put(ctx, h.cfg.PredictionsStream, entries)
	wg.Wait()
	return written, dead
}

// shardID is the shard part of an event id "shardId-000000000000:4956…".
func shardID(rec *events.KinesisEventRecord) string {
	shard, _, _ := strings.Cut(rec.EventID, ":")
	return shard
}

func (h *Handler) logBatch(ctx context.Context, records, predicted, bad int, written, dead putrecords.Result) {
	attrs := []any{
		"records", records, "predicted", predicted, "bad", bad,
		"test_run", h.cfg.TestRun,
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		attrs = append(attrs, "request_id", lc.AwsRequestID)
	}
	level := slog.LevelInfo
	if !h.cfg.TestRun {
		attrs = append(attrs,
			"written", predicted-len(written.Failed), "failed", len(written.Failed),
			"calls", written.Calls, "resent", written.Resent)
		if h.cfg.DeadLetterStream != "" {
			attrs = append(attrs, "dead_lettered", bad-len(dead.Failed), "dead_letter_failed", len(dead.Failed))
		}
		if written.OutOfTime || dead.OutOfTime {
			attrs = append(attrs, "out_of_time", true) // stopped at the deadline margin
		}
		for _, r := range []putrecords.Result{written, dead} {
			if len(r.Failed) > 0 {
				level = slog.LevelError
				if r.LastErr != nil {
					attrs = append(attrs, "error", r.LastErr.Error())
				}
			}
		}
	}
	h.log.Log(ctx, level, "batch", attrs...)
}

// scratch is a batch's working memory: the event's records (when Invoke
// reads them), the encoded events and their partition keys, which nothing
// holds once Handle or Invoke returns (the response holds the events, not
// their encoding).
type scratch struct {
	events  kinesisevent.Decoder
	entries []putrecords.Entry
	buf     []byte
	keys    []byte
	keyEnd  []int
	size    int       // of the response's JSON
	secs    []float64 // the predicted durations, in seconds, for the metrics
	emf     []byte    // a metrics document
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// put empties the scratch and returns it to the pool.
func (sc *scratch) put() {
	clear(sc.entries) // no stale data or keys kept alive
	sc.entries, sc.buf, sc.keys, sc.keyEnd = sc.entries[:0], sc.buf[:0], sc.keys[:0], sc.keyEnd[:0]
	sc.secs, sc.emf = sc.secs[:0], sc.emf[:0]
	scratchPool.Put(sc)
}
