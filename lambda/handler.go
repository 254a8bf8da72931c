package lambda

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/rideduration/rideduration/feature"
)

// Handler handles the Kinesis events of the ride_events stream.
type Handler struct {
	cfg    Config
	client PutRecordsAPI
	log    *slog.Logger
}

// New returns a handler writing with client. client may be nil when
// cfg.TestRun is set, as nothing is written then.
func New(cfg Config, client PutRecordsAPI) *Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stdout, nil))
	}
	return &Handler{cfg: cfg, client: client, log: log}
}

// Handle predicts every ride of the event and writes the prediction events,
// one PutRecords call per 500 records. It never fails the whole batch:
// records that could not be written are returned as batch item failures
// (Lambda re-delivers from the lowest one), bad records are logged and
// dead-lettered, never retried. The error is always nil; it is there for
// the Lambda handler signature.
func (h *Handler) Handle(ctx context.Context, ev events.KinesisEvent) (Response, error) {
	n := len(ev.Records)
	resp := Response{
		Predictions:       make([]PredictionEvent, 0, n),
		BatchItemFailures: []events.KinesisBatchItemFailure{},
	}
	entries := make([]entry, 0, n)
	buf := make([]byte, 0, 160*n)
	var bad []badRecord
	for i := range ev.Records {
		rec := &ev.Records[i]
		ride, err := feature.ParseRideEvent(rec.Kinesis.Data)
		if err != nil {
			bad = append(bad, badRecord{index: i, reason: err.Error()})
			h.log.Warn("bad record", "shard", shardID(rec), "event_id", rec.EventID,
				"sequence_number", rec.Kinesis.SequenceNumber, "reason", err.Error())
			continue
		}
		p := NewPredictionEvent(ride, h.cfg.Version)
		resp.Predictions = append(resp.Predictions, p)
		// One buffer holds every record's JSON: one allocation, not n.
		start := len(buf)
		buf = p.AppendJSON(buf)
		entries = append(entries, entry{data: buf[start:len(buf):len(buf)], key: ride.PartitionKey(), index: i})
	}

	var written, dead putResult
	if !h.cfg.TestRun {
		written = h.put(ctx, h.cfg.PredictionsStream, entries)
		if h.cfg.DeadLetterStream != "" && len(bad) > 0 {
			dead = h.put(ctx, h.cfg.DeadLetterStream, deadLetters(ev.Records, bad))
		}
	}
	// A bad record whose dead letter was not written is reported too, so
	// that it is not lost: the event-source mapping re-delivers it and, after
	// its retries, sends it to its on-failure destination.
	failed := append(written.failed, dead.failed...)
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

func (h *Handler) logBatch(ctx context.Context, records, predicted, bad int, written, dead putResult) {
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
			"written", predicted-len(written.failed), "failed", len(written.failed),
			"calls", written.calls, "resent", written.resent)
		if h.cfg.DeadLetterStream != "" {
			attrs = append(attrs, "dead_lettered", bad-len(dead.failed), "dead_letter_failed", len(dead.failed))
		}
		for _, r := range []putResult{written, dead} {
			if len(r.failed) > 0 {
				level = slog.LevelError
				attrs = append(attrs, "error", r.lastErr.Error())
			}
		}
	}
	h.log.Log(ctx, level, "batch", attrs...)
}
