// Command predict runs the ride duration model without AWS.
//
// With no flags it is the batch job: it reads ride events, one JSON per line,
// on stdin and writes one prediction event per line on stdout, in input
// order. A bad line gets a message on stderr (line number, reason); the
// other lines go on, and the exit status is 1 if any line was bad.
//
//	echo '{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}' | predict
//
// With -stream it is a local Kinesis event-source mapping: it polls every
// shard of the stream and invokes the function's handler in process, which
// writes to PREDICTIONS_STREAM_NAME as the deployed function does. The
// endpoint comes from AWS_ENDPOINT_URL (e.g. moto_server). Ctrl-C stops it
// after the batch in flight.
//
//	predict -stream ride_events [-start TRIM_HORIZON|LATEST] [-batch-size 100]
//
// Both modes read RUN_ID; the stream mode reads the function's whole
// configuration (PREDICTIONS_STREAM_NAME, TEST_RUN, DEAD_LETTER_STREAM_NAME).
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rideduration/rideduration/eventsource"
	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/lambda"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main, testable: it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stream := fs.String("stream", "", "act as a Kinesis event-source mapping on this stream (e.g. ride_events) instead of reading stdin")
	start := fs.String("start", "TRIM_HORIZON", "with -stream: where to start reading each shard, TRIM_HORIZON or LATEST")
	batch := fs.Int("batch-size", 100, "with -stream: most records per handler invocation (1-10000)")
	poll := fs.Duration("poll", time.Second, "with -stream: wait after an empty read of a shard")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "predict: unexpected arguments %q\n", fs.Args())
		return 2
	}
	cfg, err := lambda.ConfigFromEnv()
	if err != nil {
		fmt.Fprintf(stderr, "predict: %v\n", err)
		return 2
	}
	if *stream == "" {
		return predictLines(stdin, stdout, stderr, cfg.Version)
	}
	typ := types.ShardIteratorType(*start)
	if typ != types.ShardIteratorTypeTrimHorizon && typ != types.ShardIteratorTypeLatest {
		fmt.Fprintf(stderr, "predict: -start %q: want TRIM_HORIZON or LATEST\n", *start)
		return 2
	}
	if *batch < 1 || *batch > 10000 {
		fmt.Fprintf(stderr, "predict: -batch-size %d: want 1 to 10000\n", *batch)
		return 2
	}
	m := &eventsource.Mapping{Stream: *stream, Start: typ, BatchSize: int32(*batch), Poll: *poll}
	if err := mapStream(ctx, m, cfg, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "predict: %v\n", err)
		return 1
	}
	return 0
}

// predictLines is the batch job: stdin to stdout, line by line.
func predictLines(stdin io.Reader, stdout, stderr io.Writer, version string) int {
	in := bufio.NewReaderSize(stdin, 64<<10)
	out := bufio.NewWriterSize(stdout, 64<<10)
	var buf []byte
	bad := 0
	for n := 1; ; n++ {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			line = bytes.TrimRight(line, "\r\n")
			if len(bytes.TrimSpace(line)) == 0 {
				continue // blank lines hold no ride
			}
			ride, perr := feature.ParseRideEvent(line)
			if perr != nil {
				bad++
				// Keep the order of output and messages when both go to a terminal.
				out.Flush()
				fmt.Fprintf(stderr, "line %d: %v\n", n, perr)
				continue
			}
			buf = lambda.NewPredictionEvent(ride, version).AppendJSON(buf[:0])
			out.Write(append(buf, '\n'))
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			out.Flush()
			fmt.Fprintf(stderr, "predict: reading stdin: %v\n", err)
			return 1
		}
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(stderr, "predict: writing stdout: %v\n", err)
		return 1
	}
	if bad > 0 {
		fmt.Fprintf(stderr, "predict: %d bad line(s)\n", bad)
		return 1
	}
	return 0
}

// mapStream runs the handler on the stream until ctx ends, writing each
// batch's prediction events on stdout and the JSON logs on stderr.
func mapStream(ctx context.Context, m *eventsource.Mapping, cfg lambda.Config, stdout, stderr io.Writer) error {
	client, err := lambda.NewKinesisClient(ctx)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	cfg.Logger = log
	h := lambda.New(cfg, client)
	out := bufio.NewWriter(stdout)
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
	return m.Run(ctx)
}
