// Command predict runs the ride duration model without AWS: the compiled
// model, the function's handler, the local event-source mapping and the
// batch jobs, as subcommands. `predict` alone reads ride events on stdin and
// writes prediction events on stdout; `predict help` lists the subcommands
// (the commands table below) and `predict help COMMAND` shows one's flags.
//
// `predict -stream STREAM [flags]` is `predict stream STREAM [flags]`
// spelled as a flag.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/rideduration/rideduration/internal/atomicfs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// cli is one run of the command: its context, standard streams, the file
// system its outputs are written through and the command running.
type cli struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	fs             atomicfs.FS
	cmd            command
}

// command is a subcommand: `predict NAME ARGS...`. args is its synopsis,
// written only here: help and the command's usage (cli.flags) show it.
type command struct {
	name, args, summary string
	run                 func(c *cli, args []string) int
}

// stdinJob is `predict` with no command.
var stdinJob = command{"", "[-stream STREAM [stream flags]]", linesSummary, (*cli).lines}

// commands lists the subcommands, in the order help shows them.
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
	return (&cli{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, fs: atomicfs.OS}).run(args)
}

// run runs the command args name.
func (c *cli) run(args []string) int {
	stderr := c.stderr
	cmd := stdinJob
	if len(args) > 0 && isHelpFlag(args[0]) {
		// predict -h asks about predict: its commands, not the stdin job's flags.
		cmd, _ = lookup("help")
		return c.exec(cmd, nil)
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		var ok bool
		if cmd, ok = lookup(args[0]); !ok {
			fmt.Fprintf(stderr, "predict: unknown command %q (predict help lists them)%s\n", args[0], fileHint(args[0]))
			return 2
		}
		args = args[1:]
	}
	return c.exec(cmd, args)
}

// fileHint is what to say after "unknown command" when the argument names
// a file, or looks like a file name (a path, or a name with an extension):
// the trip files go to a batch command, anything else on stdin.
func fileHint(arg string) string {
	if _, err := os.Stat(arg); err != nil && !strings.ContainsRune(arg, os.PathSeparator) && filepath.Ext(arg) == "" {
		return ""
	}
	if strings.EqualFold(filepath.Ext(arg), ".parquet") {
		return fmt.Sprintf("; the batch commands read trip files: predict backfill -o OUT %s", arg)
	}
	return fmt.Sprintf("; predict reads ride events on stdin: predict < %s", arg)
}

// isHelpFlag tells whether arg is one of the spellings of -h the flag
// package accepts.
func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "--h", "-help", "--help":
		return true
	}
	return false
}

// lookup finds a subcommand by name.
func lookup(name string) (command, bool) {
	for _, cmd := range commands {
		if cmd.name == name {
			return cmd, true
		}
	}
	return command{}, false
}

// exec runs cmd with args.
func (c *cli) exec(cmd command, args []string) int {
	c.cmd = cmd
	return cmd.run(c, args)
}

// flags returns the running command's flag set, writing its errors and
// usage to stderr: the command's synopsis, then about, then the flags.
func (c *cli) flags(about string) *flag.FlagSet {
	name := strings.TrimSpace("predict " + c.cmd.name)
	args := c.cmd.args
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s %s\n\n%s\n", name, args, about)
		fs.PrintDefaults()
	}
	return fs
}

// usageError says what is wrong with the command line, "predict backfill:
// -o is required", then shows the usage; it returns the exit status 2.
func (c *cli) usageError(fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(c.stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return 2
}

func (c *cli) help(args []string) int {
	fs := c.flags("List the commands, or show the flags of COMMAND.")
	if err := fs.Parse(args); err != nil {
		return usageStatus(err)
	}
	if fs.NArg() > 0 {
		if cmd, ok := lookup(fs.Arg(0)); ok && fs.NArg() == 1 {
			return c.exec(cmd, []string{"-h"})
		}
		fmt.Fprintf(c.stderr, "predict: unknown command %q (predict help lists them)\n", strings.Join(fs.Args(), " "))
		return 2
	}
	c.commandList(c.stdout)
	return 0
}

// commandList writes the commands, one a line, and how to see one's flags:
// predict help, and the usage of predict's own flag set (predict -x).
func (c *cli) commandList(w io.Writer) {
	fmt.Fprint(w, "usage: predict [COMMAND] [flags] [ARGS]\n\n")
	fmt.Fprintf(w, "  %-8s %s\n", "(none)", linesSummary)
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprint(w, "\npredict help COMMAND shows a command's flags. The model is compiled in; RUN_ID sets the\nversion its prediction events carry.\n")
}
