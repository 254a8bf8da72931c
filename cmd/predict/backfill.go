package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/rideduration/rideduration/backfill"
	"github.com/rideduration/rideduration/cmd/internal/progress"
	"github.com/rideduration/rideduration/internal/compiled"
)

const backfillSummary = "score TLC green taxi trip files (parquet) into a parquet or CSV file"

// backfill scores every valid ride of the files into -o; the trips that are
// not valid rides are counted by reason on stderr and, with -errors, written
// out. Exit status 0 when every trip was scored or reported, 1 on an error.
func (c *cli) backfill(args []string) int {
	fs := c.flags("Predict every trip of the TLC green taxi trip files that is a valid ride, with no duration filter,\n" +
		"into OUT (.parquet or .csv): pickup and drop-off times, PULocationID, DOLocationID, trip_distance,\n" +
		"the actual duration and ride_duration (the prediction), in minutes.")
	out := fs.String("o", "", "the output file: .parquet or .csv")
	errorsTo := fs.String("errors", "", "write the trips that are not valid rides to this CSV file (file,row,field,reason)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return usageStatus(err)
	}
	if *out == "" || fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	start := time.Now()
	if os.Getenv("GOGC") == "" {
		// The job's live memory is small and bounded (a row group's columns,
		// two chunks of rows, the writer's buffers): a lazier collector,
		// fewer collections, cut February's run from 76 to 57 ms (perf stat,
		// 30 runs; the default collector also made it vary by ±11%).
		debug.SetGCPercent(400)
	}
	if *cpuprofile != "" {
		stop, err := startCPUProfile(*cpuprofile)
		if err != nil {
			fmt.Fprintf(c.stderr, "predict: %v\n", err)
			return 1
		}
		defer stop()
	}
	o, err := backfill.Create(*out)
	if err != nil {
		fmt.Fprintf(c.stderr, "predict: %v\n", err)
		return 2
	}
	meter := progress.New(c.stderr, "backfill", "trips")
	job := &backfill.Job{Model: compiled.Model(), Out: o, Progress: meter.Set}
	flushBad := func() error { return nil }
	if *errorsTo != "" {
		f, err := os.Create(*errorsTo)
		if err != nil {
			o.Close()
			fmt.Fprintf(c.stderr, "predict: %v\n", err)
			return 1
		}
		defer f.Close()
		w := bufio.NewWriter(f)
		bad, flush := backfill.BadCSV(w)
		job.Bad = bad
		flushBad = func() error {
			if err := flush(); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return f.Close()
		}
	}
	sum, err := job.Run(c.ctx, fs.Args()...)
	if ferr := flushBad(); err == nil && ferr != nil {
		err = fmt.Errorf("%s: %w", *errorsTo, ferr)
	}
	meter.Done()
	secs := time.Since(start).Seconds()
	printBad(c, "backfill", "bad", sum.Bad)
	fmt.Fprintf(c.stderr, "backfill: %d rows, %d bad, %.3f s, %.0f rows/s\n", sum.Trips, sum.BadTrips(), secs, float64(sum.Trips)/secs)
	if err != nil {
		fmt.Fprintf(c.stderr, "predict: %v\n", err)
		return 1
	}
	return 0
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
