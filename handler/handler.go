// Package handler is the streaming function: it reads ride events from a
// Kinesis event, predicts each ride's duration with the model it is given
// and writes one prediction event per ride to the predictions stream.
//
// The handler is a plain Go method (Handler.Handle), testable without any
// runtime; cmd/bootstrap hands it to aws-lambda-go and the local
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

	"github.com/rideduration/rideduration/model"
	"github.com/rideduration/rideduration/putrecords"
	"github.com/rideduration/rideduration/wire"
)

// Handler handles the Kinesis events of the ride_events stream.
type Handler struct {
	cfg   Config
	model model.Model
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
	return &Handler{cfg: cfg, model: m, out: out, log: log}
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
// dead-lettered, never retried. The error is always nil; it is there for
// the Lambda handler signature.
func (h *Handler) Handle(ctx context.Context, ev events.KinesisEvent) (Response, error) {
	n := len(ev.Records)
	resp := Response{
		Predictions:       make([]wire.PredictionEvent, 0, n),
		BatchItemFailures: []events.KinesisBatchItemFailure{},
	}
	entries := make([]putrecords.Entry, 0, n)
	buf := make([]byte, 0, 160*n)
	var bad []badRecord
	for i := range ev.Records {
		rec := &ev.Records[i]
		ride, err := wire.ParseRideEvent(rec.Kinesis.Data)
		if err != nil {
			bad = append(bad, badRecord{index: i, reason: err.Error()})
			h.log.Warn("bad record", "shard", shardID(rec), "event_id", rec.EventID,
				"sequence_number", rec.Kinesis.SequenceNumber, "reason", err.Error())
			continue
		}
		p := h.model.Event(ride)
		resp.Predictions = append(resp.Predictions, p)
		// One buffer holds every record's JSON: one allocation, not n.
		start := len(buf)
		buf = p.AppendJSON(buf)
		entries = append(entries, putrecords.Entry{Data: buf[start:len(buf):len(buf)], Key: ride.PartitionKey(), Index: i})
	}

	var written, dead putrecords.Result
	if !h.cfg.TestRun {
		// Both writes at once: each has the invocation's whole time budget.
		var wg sync.WaitGroup
		if h.cfg.DeadLetterStream != "" && len(bad) > 0 {
			wg.Go(func() { dead = h.out.Put(ctx, h.cfg.DeadLetterStream, deadLetters(ev.Records, bad)) })
		}
		written = h.out.Put(ctx, h.cfg.PredictionsStream, entries)
		wg.Wait()
	}
	// A bad record whose dead letter was not written is reported too, so
	// that it is not lost: the event-source mapping re-delivers it and, after
	// its retries, sends it to its on-failure destination.
	failed := append(written.Failed, dead.Failed...)
	slices.Sort(failed)
	for _, i := range failed {
		resp.BatchItemFailures = append(resp.BatchItemFailures,
			events.KinesisBatchItemFailure{ItemIdentifier: ev.Records[i].Kinesis.SequenceNumber})
	}
	h.logBatch(ctx, n, len(entries), len(bad), written, dead)
	return resp, nil
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
