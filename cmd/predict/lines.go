package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/rideduration/rideduration/internal/compiled"
	"github.com/rideduration/rideduration/internal/lines"
	"github.com/rideduration/rideduration/wire"
)

const linesSummary = "predict the ride events on stdin, one JSON per line; prediction events on stdout"

// lines is the stdin job: ride events in, one JSON per line, prediction
// events out, one per line, in input order. A bad line gets a message on
// stderr (line number, reason); the other lines go on, and the exit status
// is 1 if any line was bad. It reads RUN_ID (the events' version) and
// nothing else of the function's configuration: it writes to no stream.
//
// -stream STREAM is the stream command spelled as a flag.
func (c *cli) lines(args []string) int {
	fs := c.flags(linesSummary)
	stream := fs.String("stream", "", "`predict stream STREAM`, spelled as a flag")
	opts := streamFlags(fs)
	// predict's own flags are the stdin job's: a wrong one is answered with
	// the commands, as predict -h is (predict help stream shows the stream
	// flags).
	fs.Usage = func() { c.commandList(c.stderr) }
	if err := fs.Parse(args); err != nil {
		return usageStatus(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "predict: unexpected arguments %q (predict help lists the commands)\n", fs.Args())
		return 2
	}
	if *stream != "" {
		return c.mapStream(*stream, opts)
	}
	if set := setFlags(fs); len(set) > 0 {
		fmt.Fprintf(c.stderr, "predict: %s only with a stream (predict stream STREAM)\n", set)
		return 2
	}

	m := compiled.Model()
	enc := wire.NewEncoder(m.Name, m.Version) // the events' constant head, encoded once
	in := lines.NewReader(c.stdin, wire.MaxEventBytes)
	out := bufio.NewWriterSize(c.stdout, 64<<10)
	var buf []byte
	bad := 0
	refuse := func(err error) {
		bad++
		// Keep the order of output and messages when both go to a terminal.
		out.Flush()
		fmt.Fprintf(c.stderr, "line %d: %v\n", in.Line(), err)
	}
	for {
		line, err := in.Next()
		if tl, ok := errors.AsType[*lines.TooLongError](err); ok {
			refuse(wire.TooLarge(tl.Len))
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			out.Flush()
			fmt.Fprintf(c.stderr, "predict: reading stdin: %v\n", err)
			return 1
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue // blank lines hold no ride
		}
		ride, perr := wire.ParseRideEventFor(line, m.Precision, m.NumberIDs)
		if perr != nil {
			refuse(perr)
			continue
		}
		duration, text := m.PredictWithText(ride.Features)
		buf = enc.AppendText(buf[:0], wire.Prediction{RideDuration: duration, RideID: ride.RideID}, text)
		out.Write(append(buf, '\n'))
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(c.stderr, "predict: writing stdout: %v\n", err)
		return 1
	}
	if bad > 0 {
		fmt.Fprintf(c.stderr, "predict: %d bad line(s)\n", bad)
		return 1
	}
	return 0
}
