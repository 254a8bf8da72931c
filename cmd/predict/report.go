package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/rideduration/rideduration/cmd/internal/compiled"
	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/report"
)

// defaultTrain is the month the compiled model was trained on, from the
// repository's root.
const defaultTrain = "testdata/green_tripdata_2022-01.parquet"

// report scores TLC parquet files with the compiled model and writes the
// quality and drift report (package report) into a directory. Progress
// goes to stderr, a summary to stdout.
func (c *cli) report(args []string) int {
	const usage = "-o DIR [-train FILE] FILE.parquet..."
	fs := c.flags("report", usage, "Score the TLC green taxi trips of FILE.parquet... with the compiled model, keeping trips of 1 to 60\n"+
		"minutes as validation does, and compare them with the training month: DIR/index.html (tables and\n"+
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
	progress := func(format string, args ...any) {
		fmt.Fprintf(c.stderr, "report: %5.1fs  %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	data, err := readMonth(fs.Args(), progress)
	if err != nil {
		fmt.Fprintf(c.stderr, "predict report: %v\n", err)
		return 1
	}
	ref, err := readMonth([]string{*train}, progress)
	if err != nil {
		fmt.Fprintf(c.stderr, "predict report: -train: %v\n", err)
		return 1
	}
	r, err := report.Build(report.Config{Model: compiled.Model(), Vocabulary: compiled.Vocabulary()}, data, ref)
	if err != nil {
		fmt.Fprintf(c.stderr, "predict report: %v\n", err)
		return 1
	}
	progress("scored %d + %d rides; drawing the plots", r.Data.Rides, r.Train.Rides)
	if err := r.Write(*out); err != nil {
		fmt.Fprintf(c.stderr, "predict report: %v\n", err)
		return 1
	}
	progress("wrote %s and %s", filepath.Join(*out, report.PageFile), filepath.Join(*out, report.MetricsFile))
	if err := r.Summary(c.stdout); err != nil {
		return 1
	}
	return 0
}

// readMonth reads TLC parquet files into one month, named by the files'
// base names without the extension.
func readMonth(paths []string, progress func(string, ...any)) (report.Month, error) {
	var m report.Month
	var names []string
	for _, p := range paths {
		trips, err := parquet.ReadFile[feature.Trip](p)
		if err != nil {
			return m, fmt.Errorf("%s: %w", p, err)
		}
		progress("read %s: %d trips", p, len(trips))
		m.Trips = append(m.Trips, trips...)
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".parquet"))
	}
	m.Name = strings.Join(names, " + ")
	return m, nil
}
