package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rideduration/rideduration/cmd/internal/progress"
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
	status    time.Duration
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
	fs.DurationVar(&o.status, "status", time.Minute, "how often the status line is written on stderr when stderr is not a terminal\n(a terminal's is redrawn in place, a few times a second); 0: no status line")
	return o
}

// stream is the local event-source mapping: it polls every shard of STREAM
// and invokes the function's handler in process, which writes to
// PREDICTIONS_STREAM_NAME as the deployed function does; it reads the
// function's whole configuration (PREDICTIONS_STREAM_NAME, TEST_RUN,
// DEAD_LETTER_STREAM_NAME, RUN_ID). The endpoint comes from
// AWS_ENDPOINT_URL (e.g. moto_server). Ctrl-C stops it after the batch in
// flight (exit status 0); a fatal error (the stream, a stream the function
// writes or the on-failure queue missing, a stream deleted, access denied)
// stops it with exit status 1.
func (c *cli) stream(args []string) int {
	fs := c.flags("Run the function's handler on every shard of the Kinesis stream STREAM (e.g. ride_events),\nas Lambda's event-source mapping does, configured as lambda/template.yaml configures it.\nConfiguration: the function's environment. stdout: each prediction event written to\nPREDICTIONS_STREAM_NAME (TEST_RUN=True: the function's predictions); stderr: the JSON log\nand a status line (-status).")
	opts := streamFlags(fs)
	if err := fs.Parse(args); err != nil {
		return usageStatus(err)
	}
	if fs.NArg() != 1 {
		return c.usageError(fs, "STREAM is required: the Kinesis stream to read ride events from")
	}
	return c.mapStream(fs.Arg(0), opts)
}

func (c *cli) mapStream(stream string, o *streamOptions) int {
	typ := types.ShardIteratorType(o.start)
	if typ != types.ShardIteratorTypeTrimHorizon && typ != types.ShardIteratorTypeLatest {
		fmt.Fprintf(c.stderr, "predict: -start %q: want TRIM_HORIZON or LATEST\n", o.start)
		return 2
	}
	if o.status < 0 {
		fmt.Fprintf(c.stderr, "predict: -status %v: want 0 (no status line) or more, e.g. 1m\n", o.status)
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
	if err := c.runMapping(m, cfg, o.onFailure, o.status); err != nil {
		fmt.Fprintf(c.stderr, "predict: %v\n", err)
		return 1
	}
	return 0
}

// runMapping runs the handler on the stream until ctx ends. stdout carries
// the prediction events the predictions stream acknowledged, each time it
// did (a ride re-delivered and written again is printed again; one whose
// write failed, or was refused after its invocation timed out, is not
// printed); with TEST_RUN=True, which writes nothing, the predictions the
// function returns within its timeout. The JSON logs go to stderr, and the
// status line (see status), every statusEvery when stderr is not a
// terminal (0: none). The handler's metrics are not written: the status
// line shows them.
func (c *cli) runMapping(m *eventsource.Mapping, cfg handler.Config, onFailure string, statusEvery time.Duration) error {
	client, err := putrecords.NewClient(c.ctx)
	if err != nil {
		return err
	}
	if err := checkOutputs(c.ctx, client, cfg); err != nil {
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
	stderr := c.stderr
	var st *status
	if statusEvery > 0 {
		st = newStatus(c.stderr, progress.IsTerminal(c.stderr), func() int { return progress.Width(c.stderr) }, m.Stream, m.Progress, time.Now())
		stderr, cfg.OnBatch = st, st.batch
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	cfg.Logger = log
	model := compiled.Model()
	var stdout io.Writer = c.stdout
	if st != nil && st.live && progress.SameTerminal(c.stdout, c.stderr) {
		stdout = st.Over(stdout) // the events above the status line
	}
	out := &printer{w: bufio.NewWriter(stdout)}
	// The handler writes through its invocation's fence: nothing it writes
	// (or prints) after its invocation timed out reaches the stream, or
	// stdout, once the mapping has moved on (eventsource.Fence).
	h := handler.New(cfg, model, eventsource.Fenced(&printWritten{API: client, stream: cfg.PredictionsStream, out: out}))
	enc := wire.NewEncoder(model.Name, model.Version)
	var buf []byte
	m.Client, m.Logger, m.Region = client, log, client.Options().Region
	m.Handler = func(ctx context.Context, ev events.KinesisEvent) ([]events.KinesisBatchItemFailure, error) {
		resp, err := h.Handle(ctx, ev)
		if cfg.TestRun {
			// A late response is discarded: its predictions are not printed.
			eventsource.Fence(ctx, func(context.Context) error {
				out.mu.Lock()
				defer out.mu.Unlock()
				for _, p := range resp.Predictions {
					buf = append(enc.Append(buf[:0], p.Prediction), '\n')
					out.w.Write(buf)
				}
				return out.w.Flush()
			})
		}
		return resp.BatchItemFailures, err
	}
	if st != nil {
		defer st.start(statusEvery)()
	}
	return m.Run(c.ctx)
}

// printer is stdout, shared by the shards' concurrent invocations.
type printer struct {
	mu sync.Mutex
	w  *bufio.Writer
}

// printWritten is the handler's Kinesis client: each PutRecords entry the
// predictions stream acknowledges (a prediction event) is printed, a line
// each, once the call returns.
type printWritten struct {
	putrecords.API
	stream string
	out    *printer
}

func (p *printWritten) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	resp, err := p.API.PutRecords(ctx, in, optFns...)
	if err != nil || aws.ToString(in.StreamName) != p.stream {
		return resp, err
	}
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	for i, r := range resp.Records {
		if r.ErrorCode == nil && i < len(in.Records) {
			p.out.w.Write(in.Records[i].Data)
			p.out.w.WriteByte('\n')
		}
	}
	p.out.w.Flush()
	return resp, err
}

// checkOutputs checks that the streams the function writes exist, before
// anything is read: with a wrong name every ride would be tried, retried
// and given up on. TEST_RUN=True writes nothing, and needs none.
func checkOutputs(ctx context.Context, client *kinesis.Client, cfg handler.Config) error {
	if cfg.TestRun {
		return nil
	}
	where := "in " + client.Options().Region
	if e := client.Options().BaseEndpoint; e != nil {
		where = "at " + *e
	}
	for _, o := range []struct{ env, stream, what string }{
		{"PREDICTIONS_STREAM_NAME", cfg.PredictionsStream, "the predictions go to (TEST_RUN=True writes none)"},
		{"DEAD_LETTER_STREAM_NAME", cfg.DeadLetterStream, "bad records go to (unset: they are only logged)"},
	} {
		if o.stream == "" {
			continue
		}
		_, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(o.stream)})
		if err == nil {
			continue
		}
		name, stream := o.env+"="+o.stream, strconv.Quote(o.stream)
		if os.Getenv(o.env) == "" {
			name, stream = o.env+" is unset", stream+" (its default)"
		}
		var missing *types.ResourceNotFoundException
		if !errors.As(err, &missing) {
			return fmt.Errorf("%s: stream %s: %w", name, stream, err)
		}
		return fmt.Errorf("%s: no stream %s %s: create it, or set %s to the stream %s", name, stream, where, o.env, o.what)
	}
	return nil
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
