package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/rideduration/rideduration/cmd/internal/progress"
	"github.com/rideduration/rideduration/putrecords"
	"github.com/rideduration/rideduration/replay"
)

const replaySummary = "put the trips of TLC trip files on a Kinesis stream as ride events"

// replay puts the trips of the files on -stream as the original's ride
// events, ride_id = row number across the files. Exit status 0 when every
// ride was put, 1 otherwise; with no Kinesis at the endpoint (nothing
// answers, see putrecords.Writer.Unreachable) it stops with the cause and
// no summary.
func (c *cli) replay(args []string) int {
	fs := c.flags("Put the trips of the TLC green taxi trip files on the Kinesis stream STREAM as ride events,\n" +
		"{\"ride\": {...}, \"ride_id\": ROW}, the row counting from 0 across the files, partition key = ride_id.\n" +
		"Trips that are not valid rides are skipped and counted. The stream comes from the standard AWS\n" +
		"configuration (AWS_REGION, credentials, AWS_ENDPOINT_URL for a local Kinesis).")
	stream := fs.String("stream", "", "the Kinesis stream to put ride events on (e.g. ride_events)")
	ridesPerSec := fs.Float64("rate", 0, "rides per second (0: as fast as the stream takes them)")
	limit := fs.Int("limit", 0, "put this many rides, then stop (0: every trip)")
	if err := fs.Parse(args); err != nil {
		return usageStatus(err)
	}
	switch {
	case *stream == "":
		return c.usageError(fs, "-stream is required: the Kinesis stream to put the ride events on")
	case fs.NArg() == 0:
		return c.usageError(fs, "no FILE.parquet: name the TLC trip files to replay")
	case *ridesPerSec < 0:
		return c.usageError(fs, "-rate %v: want 0 (as fast as the stream takes them) or more rides per second", *ridesPerSec)
	case *limit < 0:
		return c.usageError(fs, "-limit %d: want 0 (every trip) or more rides", *limit)
	}
	client, err := putrecords.NewClient(c.ctx)
	if err != nil {
		fmt.Fprintf(c.stderr, "predict: %v\n", err)
		return 1
	}
	start := time.Now()
	meter := progress.New(c.stderr, "replay", "rides")
	r := &replay.Replay{Writer: &putrecords.Writer{Client: client}, Stream: *stream,
		Rate: *ridesPerSec, Limit: *limit, Progress: meter.Set}
	sum, err := r.Run(c.ctx, fs.Args()...)
	meter.Done()
	var unreachable *putrecords.UnreachableError
	switch {
	case errors.As(err, &unreachable):
		fmt.Fprintf(c.stderr, "predict replay: %v; %d rides put on %s\n", unreachable, sum.Rides, *stream)
		fmt.Fprintf(c.stderr, "predict replay: start it, or set AWS_ENDPOINT_URL to the Kinesis to use (e.g. http://localhost:4566)\n")
		return 1
	case err != nil:
		if sum.Rides > 0 {
			// Rides put stay on the stream: say how many.
			err = fmt.Errorf("%w (%d rides were put on %s before)", err, sum.Rides, *stream)
		}
		fmt.Fprintf(c.stderr, "predict: %v\n", err)
		return 1
	}
	secs := time.Since(start).Seconds()
	printBad(c, "replay", "skipped", sum.Skipped)
	fmt.Fprintf(c.stderr, "replay: %d rides put on %s, %d resends, %d failed, %d calls, %.1f s, %.0f rides/s\n",
		sum.Rides, *stream, sum.Resent, sum.Failed, sum.Calls, secs, float64(sum.Rides)/secs)
	return 0
}
