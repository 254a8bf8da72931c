// Command predict runs the ride duration model without AWS: the compiled
// model, the function's handler and the local event-source mapping, as
// subcommands.
//
//	predict [-h]                      ride events on stdin, prediction events on stdout
//	predict stream [flags] STREAM     the local Kinesis event-source mapping
//	predict help [COMMAND]            the subcommands, or one command's flags
//
// `predict -stream STREAM [flags]` is the old spelling of `predict stream`,
// kept working.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// cli is one run of the command: its context and standard streams.
type cli struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
}

// command is a subcommand: `predict NAME ARGS...`.
type command struct {
	name, args, summary string
	run                 func(c *cli, args []string) int
}

// commands lists the subcommands, in the order help shows them. The stdin
// job is `predict` with no command.
var commands []command

func init() {
	commands = []command{
		{"stream", "[flags] STREAM", "run the function on a Kinesis stream: a local event-source mapping", (*cli).stream},
		{"backfill", "-o OUT [-errors FILE] FILE.parquet...", backfillSummary, (*cli).backfill},
		{"replay", "-stream STREAM [-rate R] [-limit N] FILE.parquet...", replaySummary, (*cli).replay},
		{"report", "-o DIR [-train FILE] FILE.parquet...", "the model's quality and drift on a month of trips: DIR/index.html, DIR/metrics.json", (*cli).report},
		{"help", "[COMMAND]", "list the commands, or show one command's flags", (*cli).help},
	}
}

// run is main, testable: it returns the exit status (0 ok, 1 failed, 2 usage).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		for _, cmd := range commands {
			if cmd.name == args[0] {
				return cmd.run(c, args[1:])
			}
		}
		fmt.Fprintf(stderr, "predict: unknown command %q (predict help lists them)\n", args[0])
		return 2
	}
	return c.lines(args)
}

// flags returns a flag set for a command, writing its errors and usage to
// stderr.
func (c *cli) flags(name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet("predict "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: predict %s %s\n\n%s\n", name, args, summary)
		fs.PrintDefaults()
	}
	return fs
}

func (c *cli) help(args []string) int {
	if len(args) > 0 {
		for _, cmd := range commands {
			if len(args) == 1 && cmd.name == args[0] {
				return cmd.run(c, []string{"-h"})
			}
		}
		fmt.Fprintf(c.stderr, "predict: unknown command %q (predict help lists them)\n", strings.Join(args, " "))
		return 2
	}
	w := c.stdout
	fmt.Fprint(w, "usage: predict [COMMAND] [flags] [ARGS]\n\n")
	fmt.Fprintf(w, "  %-8s %s\n", "(none)", linesSummary)
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprint(w, "\npredict help COMMAND shows a command's flags. The model is compiled in; RUN_ID sets the\nversion its prediction events carry.\n")
	return 0
}
