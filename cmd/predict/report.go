package main

import (
	_ "embed"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/rideduration/rideduration/cmd/internal/progress"
	"github.com/rideduration/rideduration/internal/atomicfs"
	"github.com/rideduration/rideduration/internal/compiled"
	"github.com/rideduration/rideduration/report"
	"github.com/rideduration/rideduration/tlc"
)

// trainingMonth is what the report needs of the month the compiled model
// was trained on (report.Reference, 12 KB), so that predict reports from
// any directory without the month's file. TestTrainingMonth checks that it
// is what the compiled model and trainingMonthFile give, and rewrites it
// with -update.
//
//go:generate go test -run ^TestTrainingMonth$ -update
//go:embed training_month.json
var trainingMonth []byte

// trainingMonthFile is the month trainingMonth summarises, from the
// repository's root.
const trainingMonthFile = "testdata/green_tripdata_2022-01.parquet"

// report scores TLC parquet files with the compiled model and writes the
// quality and drift report (package report) into a directory. Progress
// (cmd/internal/progress) and a line of counts go to stderr, a summary to
// stdout.
func (c *cli) report(args []string) int {
	fs := c.flags("Score the TLC green taxi trips of FILE.parquet... with the compiled model, keeping trips of 1 to 60\n" +
		"minutes as validation does, and compare them with the training month: DIR/index.html (tables and\n" +
		"plots, self-contained), DIR/metrics.json (every figure), a summary on stdout.")
	out := fs.String("o", "", "the directory to write index.html and metrics.json in (created if missing; it may hold\n"+
		"only these two files, and is replaced whole: the last report stays until the new one is complete)")
	train := fs.String("train", "", "the training month's parquet file, the drift reference (default: the statistics of the\n"+
		"compiled model's training month, "+monthName(trainingMonthFile)+", compiled in)")
	if err := fs.Parse(args); err != nil {
		return usageStatus(err)
	}
	if *out == "" {
		return c.usageError(fs, "-o is required: the directory to write the report in")
	}
	if fs.NArg() == 0 {
		return c.usageError(fs, "no FILE.parquet: name the month's trip files to report on")
	}
	if err := report.CheckDir(*out); err != nil {
		return c.usageError(fs, "-o %v", err)
	}
	start := time.Now()
	// The steps: each file read, scoring, drawing and writing.
	meter := progress.New(c.stderr, "report", "steps")
	r, err := buildReport(c.fs, meter, fs.Args(), *train, *out)
	meter.Done()
	if err != nil {
		fmt.Fprintf(c.stderr, "predict report: %v\n", err)
		return 1
	}
	read := fmt.Sprintf("%d + %d trips read, %d + %d rides scored", r.Data.Trips, r.Train.Trips, r.Data.Rides, r.Train.Rides)
	if *train == "" {
		read = fmt.Sprintf("%d trips read, %d rides scored (%s: its statistics, compiled in)", r.Data.Trips, r.Data.Rides, r.Train.Name)
	}
	fmt.Fprintf(c.stderr, "report: %s, %.2f s; wrote %s and %s\n", read, time.Since(start).Seconds(),
		filepath.Join(*out, report.PageFile), filepath.Join(*out, report.MetricsFile))
	if err := r.Summary(c.stdout); err != nil {
		return 1
	}
	return 0
}

// buildReport reads the month's files and the training month's (train; ""
// for the compiled-in statistics), scores them and writes the report as
// the directory out, through fsys.
func buildReport(fsys atomicfs.FS, meter progress.Meter, paths []string, train, out string) (*report.Report, error) {
	done, steps := int64(0), int64(len(paths)+2)
	if train != "" {
		steps++
	}
	step := func() {
		done++
		meter.Set(done, steps)
	}
	meter.Set(0, steps)
	data, err := readMonth(paths, step)
	if err != nil {
		return nil, err
	}
	ref, err := trainingReference(train, step)
	if err != nil {
		return nil, err
	}
	r, err := report.Build(report.Config{Model: compiled.Model(), Columns: compiled.Columns()}, data, ref)
	if err != nil {
		return nil, err
	}
	step()
	if err := r.Write(fsys, out); err != nil {
		return nil, err
	}
	step()
	return r, nil
}

// trainingReference is the training month: the file train, read, scored
// and summarised (calling read once it is read), or the compiled model's,
// compiled in, when train is "".
func trainingReference(train string, read func()) (*report.Reference, error) {
	if train == "" {
		return report.ReadReference(trainingMonth)
	}
	m, err := readMonth([]string{train}, read)
	if err != nil {
		return nil, fmt.Errorf("-train: %w", err)
	}
	return report.Summarize(compiled.Model(), m), nil
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
		names = append(names, monthName(p))
	}
	m.Name = strings.Join(names, " + ")
	return m, nil
}

// monthName names a month by its file: the base name without .parquet.
func monthName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".parquet")
}
