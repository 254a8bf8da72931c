package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rideduration/rideduration/eventsource"
	"github.com/rideduration/rideduration/handler"
	"github.com/rideduration/rideduration/internal/compiled"
	"github.com/rideduration/rideduration/putrecords"
	"github.com/rideduration/rideduration/wire"
)

// streamOptions are the flags of the local event-source mapping. Their
// defaults are lambda/template.yaml's trigger (eventsource.Template), except
// -start: TRIM_HORIZON, so that a record put just after the mapping starts
// is not missed (the template's LATEST suits a stream with a history).
type streamOptions struct {
	start     string
	batch     int
	poll      time.Duration
	onFailure string
	bisect    bool
	report    bool
	retries   int
	maxAge    int
	timeout   time.Duration
}

func streamFlags(fs *flag.FlagSet) *streamOptions {
	o := &streamOptions{}
	t := eventsource.Template
	fs.StringVar(&o.start, "start", "TRIM_HORIZON", "where to start reading each shard: TRIM_HORIZON or LATEST")
	fs.IntVar(&o.batch, "batch-size", int(t.BatchSize), "most records per handler invocation (1-10000)")
	fs.DurationVar(&o.poll, "poll", time.Second, "wait after an empty read of a shard")
	fs.StringVar(&o.onFailure, "on-failure", "", "SQS queue (URL or ARN) that gets a record of each batch given up on, as the template's\nOnFailure destination; none: the record is logged")
	fs.BoolVar(&o.bisect, "bisect-batch-on-function-error", t.BisectBatchOnFunctionError, "split a batch in two on a function error or timeout")
	fs.BoolVar(&o.report, "report-batch-item-failures", t.ReportBatchItemFailures, "re-deliver from the lowest batchItemFailures sequence number (false: ignore them)")
	fs.IntVar(&o.retries, "maximum-retry-attempts", t.MaximumRetryAttempts, "retries of a failing batch before it is given up on (-1: until too old)")
	fs.IntVar(&o.maxAge, "maximum-record-age-in-seconds", int(t.MaximumRecordAge/time.Second), "records older than this are given up on (-1: no limit; else 60-604800)")
	fs.DurationVar(&o.timeout, "function-timeout", t.FunctionTimeout, "the function's timeout: a longer invocation is a function error")
	return o
}

// stream is the local event-source mapping: it polls every shard of STREAM
// and invokes the function's handler in process, which writes to
// PREDICTIONS_STREAM_NAME as the deployed function does; it reads the
// function's whole configuration (PREDICTIONS_STREAM_NAME, TEST_RUN,
// DEAD_LETTER_STREAM_NAME, RUN_ID). The endpoint comes from
// AWS_ENDPOINT_URL (e.g. moto_server). Ctrl-C stops it after the batch in
// flight (exit status 0); a fatal error (the stream or the on-failure
// queue missing or deleted, access denied) stops it with exit status 1.
func (c *cli) stream(args []string) int {
	fs := c.flags("Run the function's handler on every shard of the Kinesis stream STREAM (e.g. ride_events),\nas Lambda's event-source mapping does, configured as lambda/template.yaml configures it.\nConfiguration: the function's environment.")
	opts := streamFlags(fs)
	if err := fs.Parse(args); err != nil {
		return usageStatus(err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	return c.mapStream(fs.Arg(0), opts)
}

func (c *cli) mapStream(stream string, o *streamOptions) int {
	typ := types.ShardIteratorType(o.start)
	if typ != types.ShardIteratorTypeTrimHorizon && typ != types.ShardIteratorTypeLatest {
		fmt.Fprintf(c.stderr, "predict: -start %q: want TRIM_HORIZON or LATEST\n", o.start)
		return 2
	}
	if o.maxAge != -1 && (o.maxAge < 60 || o.maxAge > 604800) {
		fmt.Fprintf(c.stderr, "predict: -maximum-record-age-in-seconds %d: want -1 (no limit) or 60 to 604800\n", o.maxAge)
		return 2
	}
	conf := eventsource.Config{
		BatchSize: int32(min(max(o.batch, 0), 1<<20)), ReportBatchItemFailures: o.report,
		BisectBatchOnFunctionError: o.bisect, MaximumRetryAttempts: o.retries,
		MaximumRecordAge: time.Duration(o.maxAge) * time.Second, FunctionTimeout: o.timeout,
	}
	if err := conf.Validate(); err != nil {
		fmt.Fprintf(c.stderr, "predict: %v\n", err)
		return 2
	}
	cfg, err := handler.ConfigFromEnv()
	if err != nil {
		fmt.Fprintf(c.stderr, "predict: %v\n", err)
		return 2
	}
	m := eventsource.New(nil, stream, nil)
	m.Config, m.Start, m.Poll = conf, typ, o.poll
	if err := c.runMapping(m, cfg, o.onFailure); err != nil {
		fmt.Fprintf(c.stderr, "predict: %v\n", err)
		return 1
	}
	return 0
}

// runMapping runs the handler on the stream until ctx ends, writing each
// batch's prediction events on stdout and the JSON logs on stderr.
func (c *cli) runMapping(m *eventsource.Mapping, cfg handler.Config, onFailure string) error {
	client, err := putrecords.NewClient(c.ctx)
	if err != nil {
		return err
	}
	if onFailure != "" {
		awsCfg, err := config.LoadDefaultConfig(c.ctx)
		if err != nil {
			return fmt.Errorf("AWS configuration: %w", err)
		}
		if m.OnFailure, err = eventsource.NewSQSDestination(c.ctx, sqs.NewFromConfig(awsCfg), onFailure); err != nil {
			return err
		}
	}
	log := slog.New(slog.NewJSONHandler(c.stderr, nil))
	cfg.Logger = log
	model := compiled.Model()
	h := handler.New(cfg, model, client)
	enc := wire.NewEncoder(model.Name, model.Version)
	out := bufio.NewWriter(c.stdout)
	var mu sync.Mutex // shards are polled, and the handler invoked, concurrently
	var buf []byte
	m.Client, m.Logger, m.Region = client, log, client.Options().Region
	m.Handler = func(ctx context.Context, ev events.KinesisEvent) ([]events.KinesisBatchItemFailure, error) {
		resp, err := h.Handle(ctx, ev)
		mu.Lock()
		defer mu.Unlock()
		for _, p := range resp.Predictions {
			buf = append(enc.Append(buf[:0], p.Prediction), '\n')
			out.Write(buf)
		}
		out.Flush()
		return resp.BatchItemFailures, err
	}
	return m.Run(c.ctx)
}

// usageStatus is the exit status after a flag parse error: 0 for -h.
func usageStatus(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// setFlags lists the flags given on the command line, as "-name".
func setFlags(fs *flag.FlagSet) []string {
	var set []string
	fs.Visit(func(f *flag.Flag) { set = append(set, "-"+f.Name) })
	return set
}
