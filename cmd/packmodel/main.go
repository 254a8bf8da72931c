// Command packmodel takes an exported model into the repository: it reads
// the export and the library's golden predictions as training/export.py
// writes them (plain JSON and CSV), checks them, and writes them compressed
// to where the generator and the golden tests read them:
//
//	packmodel -in build/export/<run id> -run-id <run id> \
//	    -export testdata/model.json.zst -golden testdata/golden_predictions.csv.zst
//
// -in holds model.json and golden.csv, and nothing else is read from it. The
// export must pass package export's checks (and name the run, with
// -run-id; a link numpy computes comes with its link table); the golden
// file must parse, a ride and a prediction a line, with one line per
// validation ride the export counts. Both are compressed
// by export.Compress (the same data gives the same bytes) and replace the
// old pair only once both are written. It is the only step of make model
// that takes what the run's environment produced, and it takes data only.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rideduration/rideduration/cmd/internal/check"
	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/internal/golden"
)

// Files are what -in holds: the export and the golden predictions.
const (
	ExportFile = "model.json"
	GoldenFile = "golden.csv"
)

// maxInput bounds each file read: the largest export the generator takes
// (a forest of hundreds of deep trees) is a few hundred MB of JSON.
const maxInput = 2 << 30

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("packmodel", flag.ContinueOnError)
	flags.SetOutput(stderr)
	in := flags.String("in", "", "directory holding "+ExportFile+" and "+GoldenFile+" (make model-export writes it)")
	runID := flags.String("run-id", "", "the MLflow run the export must name (empty: a model trained here)")
	exportOut := flags.String("export", "testdata/model.json.zst", "the compressed export to write")
	goldenOut := flags.String("golden", "testdata/golden_predictions.csv.zst", "the compressed golden predictions to write")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if *in == "" || flags.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: packmodel -in DIR [-run-id RUN] [-export FILE] [-golden FILE]")
		return 2
	}
	if err := check.Values(*runID, "EXPORT_DIR", *in, "EXPORT", *exportOut, "GOLDEN", *goldenOut); err != nil {
		fmt.Fprintln(stderr, "packmodel:", err)
		return 2
	}
	e, err := pack(*in, *runID, *exportOut, *goldenOut)
	if err != nil {
		fmt.Fprintln(stderr, "packmodel:", err)
		return 1
	}
	fmt.Fprintf(stdout, "packmodel: model %s (%s %s, %d trees) to %s, its golden predictions to %s\n",
		e.Metadata.ID(), e.Metadata.Library, e.Metadata.LibraryVersion, len(e.Trees), *exportOut, *goldenOut)
	return 0
}

func pack(in, runID, exportOut, goldenOut string) (*export.Ensemble, error) {
	js, err := readFile(filepath.Join(in, ExportFile))
	if err != nil {
		return nil, err
	}
	e, err := export.Decode(bytes.NewReader(js))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(in, ExportFile), err)
	}
	if e.Metadata.RunID != runID {
		return nil, fmt.Errorf("%s is the model of run %q, not of RUN_ID %q", filepath.Join(in, ExportFile), e.Metadata.RunID, runID)
	}
	if e.Combine.Tabled() && e.LinkTable == nil {
		return nil, fmt.Errorf("%s has link %s but no link table: the exporter's second pass (make model-export) computes it", filepath.Join(in, ExportFile), e.Combine.Link)
	}
	csv, err := readFile(filepath.Join(in, GoldenFile))
	if err != nil {
		return nil, err
	}
	rows, err := golden.Read(bytes.NewReader(csv))
	if err != nil {
		return nil, fmt.Errorf("%s%w", filepath.Join(in, GoldenFile), err)
	}
	if len(rows) != e.Metadata.ValidRows {
		return nil, fmt.Errorf("%s has %d predictions; the export counts %d validation rides", filepath.Join(in, GoldenFile), len(rows), e.Metadata.ValidRows)
	}
	var tmps []string
	defer func() {
		for _, t := range tmps {
			os.Remove(t)
		}
	}()
	for _, f := range []struct {
		path string
		data []byte
	}{{exportOut, js}, {goldenOut, csv}} {
		tmp, err := writeCompressed(f.path, f.data)
		if tmp != "" {
			tmps = append(tmps, tmp)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := os.Rename(tmps[0], exportOut); err != nil {
		return nil, err
	}
	if err := os.Rename(tmps[1], goldenOut); err != nil {
		return nil, err
	}
	tmps = nil
	return e, nil
}

// readFile reads a regular file of at most maxInput bytes.
func readFile(path string) ([]byte, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > maxInput {
		return nil, fmt.Errorf("%s has %d bytes, more than %d", path, st.Size(), maxInput)
	}
	return os.ReadFile(path)
}

// writeCompressed writes data compressed to a synced temporary file beside
// path and returns its name.
func writeCompressed(path string, data []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", err
	}
	err = export.Compress(f, data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	return f.Name(), err
}
