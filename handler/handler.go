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
}

// New returns a handler that predicts with m and writes with client. client
// may be nil when cfg.TestRun is set, as nothing is written then.
func New(cfg Config, m model.Model, client putrecords.API) *Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stdout, nil))
	}
	out := &putrecords.Writer{Client: client, Margin: cfg.DeadlineMargin, Attempts: cfg.Attempts, MaxBackoff: cfg.MaxBackoff}
	return &Handler{cfg: cfg, model: m, enc: wire.NewEncoder(m.Name, m.Version), out: out, log: log}
}

// Response is what the function returns: the original's predictions list plus
// the partial-batch field of ReportBatchItemFailures. Neither is ever null.
type Response struct {
	Predictions       []wire.PredictionEvent           `json:"predictions"`
	BatchItemFailures []events.KinesisBatchItemFailure `json:"batchItemFailures"`
}

// Handle predicts every ride of the event and writes the prediction events,
// one PutRecords call per 500 records, resending the entries a call failed
// until they are written or the invocation's time is nearly up (ctx's
// deadline less Config.DeadlineMargin). It never fails the whole batch:
// records that could not be written are returned as batch item failures
// (Lambda re-delivers from the lowest one), bad records are logged and
// dead-lettered, never retried. A KPL aggregate's user records are each a
// ride; if any of them cannot be written, the aggregate is reported. The
// error is always nil; it is there for the Lambda handler signature.
func (h *Handler) Handle(ctx context.Context, ev events.KinesisEvent) (Response, error) {
	sc := scratchPool.Get().(*scratch)
	defer sc.put()
	return h.handle(ctx, ev, sc), nil
}

// Invoke is the function as the Lambda runtime calls it (aws-lambda-go's
// lambda.Handler): the event's JSON in, the response's JSON out. Given
// Handle, aws-lambda-go would read the event with encoding/json, by
// reflection: 25 times as long as handling it (kinesisevent's
// BenchmarkDecode100). Invoke reads it with a kinesisevent.Decoder, and
// writes the response from the prediction events Handle encoded anyway.
// The result is the same, byte for byte (TestInvoke). An event that is
// not one fails the invocation, as it did in aws-lambda-go.
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
	return resp.appendJSON(make([]byte, 0, len(sc.buf)+len(sc.entries)+64*len(resp.BatchItemFailures)+64), sc.entries), nil
}

// appendJSON appends the response as json.Marshal writes it, given the
// JSON of its predictions, in order.
func (r Response) appendJSON(b []byte, predictions []putrecords.Entry) []byte {
	b = append(b, `{"predictions":[`...)
	for i, p := range predictions {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, p.Data...)
	}
	b = append(b, `],"batchItemFailures":[`...)
	for i, f := range r.BatchItemFailures {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendString(append(b, `{"itemIdentifier":`...), f.ItemIdentifier)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// handle is Handle, with the batch's working memory given: Invoke
// keeps it to write the response.
func (h *Handler) handle(ctx context.Context, ev events.KinesisEvent, sc *scratch) Response {
	n := len(ev.Records)
	resp := Response{
		Predictions:       make([]wire.PredictionEvent, 0, n),
		BatchItemFailures: []events.KinesisBatchItemFailure{},
	}
	// One buffer holds every record's JSON, one every partition key: no
	// allocation a record, and the buffers are reused by the next batch.
	entries, buf, keyBuf, keyEnd := sc.entries, sc.buf, sc.keys, sc.keyEnd
	var bad []badRecord
	for r := range userRecords(ev.Records) {
		ride, err := r.parse()
		if err != nil {
			bad = append(bad, badRecord{userRecord: r, reason: err.Error()})
			h.log.Warn("bad record", append(r.logAttrs(&ev.Records[r.index]), "reason", err.Error())...)
			continue
		}
		p, duration := h.model.EventText(ride)
		resp.Predictions = append(resp.Predictions, p)
		start := len(buf)
		buf = h.enc.AppendText(buf, p.Prediction, duration)
		entries = append(entries, putrecords.Entry{Data: buf[start:len(buf):len(buf)], Index: r.index})
		keyBuf = ride.AppendPartitionKey(keyBuf)
		keyEnd = append(keyEnd, len(keyBuf))
	}
	keys, from := string(keyBuf), 0
	for i, to := range keyEnd {
		entries[i].Key, from = keys[from:to], to
	}
	sc.entries, sc.buf, sc.keys, sc.keyEnd = entries, buf, keyBuf, keyEnd // grown, if they had to

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
	h.logBatch(ctx, n, len(entries), len(bad), written, dead)
	return resp
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
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// put empties the scratch and returns it to the pool.
func (sc *scratch) put() {
	clear(sc.entries) // no stale data or keys kept alive
	sc.entries, sc.buf, sc.keys, sc.keyEnd = sc.entries[:0], sc.buf[:0], sc.keys[:0], sc.keyEnd[:0]
	scratchPool.Put(sc)
}
