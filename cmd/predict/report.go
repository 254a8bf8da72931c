package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/rideduration/rideduration/cmd/internal/progress"
	"github.com/rideduration/rideduration/internal/compiled"
	"github.com/rideduration/rideduration/report"
	"github.com/rideduration/rideduration/tlc"
)

// defaultTrain is the month the compiled model was trained on, from the
// repository's root.
const defaultTrain = "testdata/green_tripdata_2022-01.parquet"

// report scores TLC parquet files with the compiled model and writes the
// quality and drift report (package report) into a directory. Progress
// (cmd/internal/progress) and a line of counts go to stderr, a summary to
// stdout.
func (c *cli) report(args []string) int {
	fs := c.flags("Score the TLC green taxi trips of FILE.parquet... with the compiled model, keeping trips of 1 to 60\n" +
		"minutes as validation does, and compare them with the training month: DIR/index.html (tables and\n" +
		"plots, self-contained), DIR/metrics.json (every figure), a summary on stdout.")
	out := fs.String("o", "", "the directory to write index.html and metrics.json in (created if missing)")
	train := fs.String("train", defaultTrain, "the training month's parquet file, the drift reference")
	if err := fs.Parse(args); err != nil {
		return usageStatus(err)
	}
	if *out == "" || fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	start := time.Now()
	// The steps: each file read, scoring, drawing and writing.
	meter := progress.New(c.stderr, "report", "steps")
	r, err := buildReport(meter, fs.Args(), *train, *out)
	meter.Done()
	if err != nil {
		fmt.Fprintf(c.stderr, "predict report: %v\n", err)
		return 1
	}
	fmt.Fprintf(c.stderr, "report: %d + %d trips read, %d + %d rides scored, %.2f s; wrote %s and %s\n",
		r.Data.Trips, r.Train.Trips, r.Data.Rides, r.Train.Rides, time.Since(start).Seconds(),
		filepath.Join(*out, report.PageFile), filepath.Join(*out, report.MetricsFile))
	if err := r.Summary(c.stdout); err != nil {
		return 1
	}
	return 0
}

// buildReport reads the month's files and the training month's, scores
// them and writes the report into out.
func buildReport(meter progress.Meter, paths []string, train, out string) (*report.Report, error) {
	done, steps := int64(0), int64(len(paths)+3)
	step := func() {
		done++
		meter.Set(done, steps)
	}
	meter.Set(0, steps)
	data, err := readMonth(paths, step)
	if err != nil {
		return nil, err
	}
	ref, err := readMonth([]string{train}, step)
	if err != nil {
		return nil, fmt.Errorf("-train: %w", err)
	}
	r, err := report.Build(report.Config{Model: compiled.Model(), Columns: compiled.Columns()}, data, ref)
	if err != nil {
		return nil, err
	}
	step()
	if err := r.Write(out); err != nil {
		return nil, err
	}
	step()
	return r, nil
}

// readMonth reads TLC parquet files into one month, named by the files'
// base names without the extension, calling read after each file.
func readMonth(paths []string, read func()) (report.Month, error) {
	var m report.Month
	var names []string
	for _, p := range paths {
		if err := tlc.ReadFile(p, &m.Trips); err != nil {
			return m, err
		}
		read()
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".parquet"))
	}
	m.Name = strings.Join(names, " + ")
	return m, nil
}
