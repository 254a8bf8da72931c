package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/rideduration/rideduration/backfill"
	"github.com/rideduration/rideduration/cmd/internal/progress"
	"github.com/rideduration/rideduration/internal/atomicfs"
	"github.com/rideduration/rideduration/internal/compiled"
	"github.com/rideduration/rideduration/tlc"
)

const backfillSummary = "score TLC green taxi trip files (parquet) into a parquet or CSV file"

// backfill scores every valid ride of the files into -o; the trips that are
// not valid rides are counted by reason on stderr and, with -errors, written
// out. It checks the files (each a TLC trip file) before it writes anything,
// and replaces -o and -errors together (atomicfs.Commit), only when every
// trip was scored and both files are whole: on an error or Ctrl-C they keep
// what they held. Exit status 0 when every trip was
// scored or reported, 1 on an error, 2 on a usage error.
func (c *cli) backfill(args []string) int {
	fs := c.flags("Predict every trip of the TLC green taxi trip files that is a valid ride, with no duration filter,\n" +
		"into OUT (.parquet or .csv): pickup and drop-off times, PULocationID, DOLocationID, trip_distance,\n" +
		"the actual duration and ride_duration (the prediction), in minutes. OUT and the -errors file are\n" +
		"replaced once every trip is scored and both are written and synced; on an error or Ctrl-C both keep\n" +
		"what they held.")
	out := fs.String("o", "", "the output file: .parquet or .csv")
	errorsTo := fs.String("errors", "", "write the trips that are not valid rides to this CSV file (file,row,field,reason)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return usageStatus(err)
	}
	if *out == "" {
		return c.usageError(fs, "-o is required: the file to write the predictions to (.parquet or .csv)")
	}
	if fs.NArg() == 0 {
		return c.usageError(fs, "no FILE.parquet: name the TLC trip files to score")
	}
	if err := backfill.CheckPath(*out); err != nil {
		return c.usageError(fs, "-o %v", err)
	}
	start := time.Now()
	files, err := tlc.OpenAll(fs.Args())
	if err != nil {
		fmt.Fprintf(c.stderr, "predict backfill: %v\n", err)
		return 1
	}
	defer files.Close()
	if msg := clobbers(fs.Args(), []output{{"-o", *out}, {"-errors", *errorsTo}, {"-cpuprofile", *cpuprofile}}); msg != "" {
		return c.usageError(fs, "%s", msg)
	}
	if os.Getenv("GOGC") == "" {
		// The job's live memory is small and bounded (a row group's columns,
		// two chunks of rows, the writer's buffers): a lazier collector
		// makes fewer collections (docs/performance.md).
		debug.SetGCPercent(400)
	}
	if *cpuprofile != "" {
		stop, err := startCPUProfile(*cpuprofile)
		if err != nil {
			fmt.Fprintf(c.stderr, "predict backfill: %v\n", err)
			return 1
		}
		defer stop()
	}
	o, err := backfill.Create(c.fs, *out)
	if err != nil {
		fmt.Fprintf(c.stderr, "predict backfill: %v\n", err)
		return 1
	}
	meter := progress.New(c.stderr, "backfill", "trips")
	job := &backfill.Job{Model: compiled.Model(), Out: o, Progress: meter.Set}
	// The files to put in place, once every one is whole: -errors, then -o.
	outputs := []*atomicfs.File{o.File}
	var badFile *atomicfs.File
	var badBuf *bufio.Writer
	badFlush := func() error { return nil }
	if *errorsTo != "" {
		badFile, err = atomicfs.Create(c.fs, *errorsTo)
		if err != nil {
			o.Abort()
			fmt.Fprintf(c.stderr, "predict backfill: %v\n", err)
			return 1
		}
		badBuf = bufio.NewWriter(badFile)
		job.Bad, badFlush = backfill.BadCSV(badBuf)
		outputs = []*atomicfs.File{badFile, o.File}
	}
	sum, err := job.Run(c.ctx, files) // -o whole, not yet in place
	if err == nil && badFile != nil {
		err = errors.Join(badFlush(), badBuf.Flush())
		if err == nil {
			err = badFile.Close()
		}
	}
	if err == nil {
		err = atomicfs.Commit(outputs...)
	} else {
		for _, f := range outputs {
			f.Abort()
		}
	}
	meter.Done()
	if err != nil {
		if c.ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %s left as it was", *out)
			if *errorsTo != "" {
				err = fmt.Errorf("interrupted: %s and %s left as they were", *out, *errorsTo)
			}
		}
		fmt.Fprintf(c.stderr, "predict backfill: %v\n", err)
		return 1
	}
	secs := time.Since(start).Seconds()
	printBad(c, "backfill", "bad", sum.Bad)
	fmt.Fprintf(c.stderr, "backfill: %d rows, %d bad, %.3f s, %.0f rows/s\n", sum.Trips, sum.BadTrips(), secs, float64(sum.Trips)/secs)
	return 0
}

// output is a file a flag names for backfill to write.
type output struct{ flag, path string }

// clobbers says which output names an input or another output (the same
// path, or os.SameFile: a link to it), or "". Writing it would destroy the
// trips before they are read, or one result with the other.
func clobbers(inputs []string, outputs []output) string {
	same := func(a, b string) bool {
		if filepath.Clean(a) == filepath.Clean(b) {
			return true
		}
		sa, err := os.Stat(a)
		if err != nil {
			return false
		}
		sb, err := os.Stat(b)
		return err == nil && os.SameFile(sa, sb)
	}
	for i, o := range outputs {
		if o.path == "" {
			continue
		}
		for _, in := range inputs {
			if same(o.path, in) {
				return fmt.Sprintf("%s %s is also an input: write to another file", o.flag, o.path)
			}
		}
		for _, p := range outputs[:i] {
			if p.path != "" && same(o.path, p.path) {
				return fmt.Sprintf("%s and %s name the same file, %s: give each its own", p.flag, o.flag, o.path)
			}
		}
	}
	return ""
}

// printBad counts the trips that were not valid rides by reason, most
// first: "backfill: 3 bad: trip_distance: null".
func printBad(c *cli, what, done string, bad map[string]int) {
	reasons := make([]string, 0, len(bad))
	for r := range bad {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if bad[reasons[i]] != bad[reasons[j]] {
			return bad[reasons[i]] > bad[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	for _, r := range reasons {
		fmt.Fprintf(c.stderr, "%s: %d %s: %s\n", what, bad[r], done, r)
	}
}

// startCPUProfile profiles the process until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
