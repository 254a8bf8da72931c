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
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rideduration/rideduration/cmd/internal/compiled"
	"github.com/rideduration/rideduration/eventsource"
	"github.com/rideduration/rideduration/handler"
	"github.com/rideduration/rideduration/putrecords"
)

// streamOptions are the flags of the local event-source mapping.
type streamOptions struct {
	start string
	batch int
	poll  time.Duration
}

func streamFlags(fs *flag.FlagSet) *streamOptions {
	o := &streamOptions{}
	fs.StringVar(&o.start, "start", "TRIM_HORIZON", "where to start reading each shard: TRIM_HORIZON or LATEST")
	fs.IntVar(&o.batch, "batch-size", 100, "most records per handler invocation (1-10000)")
	fs.DurationVar(&o.poll, "poll", time.Second, "wait after an empty read of a shard")
	return o
}

// stream is the local event-source mapping: it polls every shard of STREAM
// and invokes the function's handler in process, which writes to
// PREDICTIONS_STREAM_NAME as the deployed function does; it reads the
// function's whole configuration (PREDICTIONS_STREAM_NAME, TEST_RUN,
// DEAD_LETTER_STREAM_NAME, RUN_ID). The endpoint comes from
// AWS_ENDPOINT_URL (e.g. moto_server). Ctrl-C stops it after the batch in
// flight.
func (c *cli) stream(args []string) int {
	fs := c.flags("stream", "[flags] STREAM", "Run the function's handler on every shard of the Kinesis stream STREAM (e.g. ride_events),\nas Lambda's event-source mapping does. Configuration: the function's environment.")
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
	if o.batch < 1 || o.batch > 10000 {
		fmt.Fprintf(c.stderr, "predict: -batch-size %d: want 1 to 10000\n", o.batch)
		return 2
	}
	cfg, err := handler.ConfigFromEnv()
	if err != nil {
		fmt.Fprintf(c.stderr, "predict: %v\n", err)
		return 2
	}
	m := &eventsource.Mapping{Stream: stream, Start: typ, BatchSize: int32(o.batch), Poll: o.poll}
	if err := c.runMapping(m, cfg); err != nil {
		fmt.Fprintf(c.stderr, "predict: %v\n", err)
		return 1
	}
	return 0
}

// runMapping runs the handler on the stream until ctx ends, writing each
// batch's prediction events on stdout and the JSON logs on stderr.
func (c *cli) runMapping(m *eventsource.Mapping, cfg handler.Config) error {
	client, err := putrecords.NewClient(c.ctx)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(c.stderr, nil))
	cfg.Logger = log
	h := handler.New(cfg, compiled.Model(), client)
	out := bufio.NewWriter(c.stdout)
	var mu sync.Mutex // shards are polled, and the handler invoked, concurrently
	var buf []byte
	m.Client, m.Logger, m.Region = client, log, client.Options().Region
	m.Handler = func(ctx context.Context, ev events.KinesisEvent) ([]events.KinesisBatchItemFailure, error) {
		resp, err := h.Handle(ctx, ev)
		mu.Lock()
		defer mu.Unlock()
		for _, p := range resp.Predictions {
			buf = append(p.AppendJSON(buf[:0]), '\n')
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
