package backfill

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/rideduration/rideduration/internal/atomicfs"
)

// Row is one scored trip: the output's columns. Times are the TLC's wall
// times (New York, no time zone), in microseconds since 1970-01-01 00:00.
//
// In parquet, the columns are encoded rather than compressed: the times
// (in pickup order, nearly) delta-encoded, every other column
// dictionary-encoded (265 zones; values repeat: a month's trips have
// few distinct distances, durations and predictions): a file about as small
// as a codec's, for a fraction of its CPU (docs/performance.md,
// BenchmarkWriteParquet).
type Row struct {
	Pickup       int64   `parquet:"lpep_pickup_datetime,delta,timestamp(microsecond:local)"`
	Dropoff      int64   `parquet:"lpep_dropoff_datetime,delta,timestamp(microsecond:local)"`
	PULocationID int64   `parquet:"PULocationID,dict"`
	DOLocationID int64   `parquet:"DOLocationID,dict"`
	TripDistance float64 `parquet:"trip_distance,dict"`
	Duration     float64 `parquet:"duration,dict"`      // the actual duration, minutes (as pandas computes it)
	RideDuration float64 `parquet:"ride_duration,dict"` // the prediction, minutes
}

// csvHeader names Row's columns, in order, as the parquet schema does.
const csvHeader = "lpep_pickup_datetime,lpep_dropoff_datetime,PULocationID,DOLocationID,trip_distance,duration,ride_duration\n"

// Output is where scored rows go.
type Output interface {
	Write(rows []Row) error
	// Close flushes and closes the output: the rows written are the result.
	Close() error
	// Abort closes the output without a result: the rows written are
	// dropped where they can be (Create's file), left incomplete otherwise.
	Abort()
}

// Create creates the output file at path, parquet or CSV by its extension
// (.parquet, .csv), through fsys (atomicfs.OS). Its rows are written beside
// it (atomicfs.Create): Close makes the file whole, still beside path;
// atomicfs.Commit of its File, with the run's other outputs, puts it in
// place. Abort leaves path as it was.
func Create(fsys atomicfs.FS, path string) (*FileOutput, error) {
	newOutput, err := formatOf(path)
	if err != nil {
		return nil, err
	}
	f, err := atomicfs.Create(fsys, path)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	return &FileOutput{Output: newOutput(bw), buf: bw, File: f}, nil
}

// CheckPath checks that Create can write the format path's extension names.
func CheckPath(path string) error {
	_, err := formatOf(path)
	return err
}

// formatOf is the Output for the format path's extension names.
func formatOf(path string) (func(io.Writer) Output, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet":
		return NewParquet, nil
	case ".csv":
		return NewCSV, nil
	}
	return nil, fmt.Errorf("%s: the output's extension must be .parquet or .csv", path)
}

// FileOutput is an Output to a file (Create).
type FileOutput struct {
	Output
	buf *bufio.Writer
	// File is the file, beside its path until committed.
	File *atomicfs.File
}

// Close closes the format and flushes and syncs the file; on an error it
// removes it.
func (o *FileOutput) Close() error {
	err := o.Output.Close()
	if err == nil {
		err = o.buf.Flush()
	}
	if err != nil {
		o.File.Abort()
		return err
	}
	return o.File.Close()
}

// Abort removes the file: its path is left as it was.
func (o *FileOutput) Abort() { o.File.Abort() }

// NewParquet returns an Output writing parquet to w, in row groups of
// 16,384 rows; Close writes the footer and does not close w.
func NewParquet(w io.Writer) Output {
	return parquetOutput{parquet.NewGenericWriter[Row](w, parquet.MaxRowsPerRowGroup(chunk))}
}

type parquetOutput struct{ w *parquet.GenericWriter[Row] }

func (o parquetOutput) Write(rows []Row) error {
	_, err := o.w.Write(rows)
	return err
}

func (o parquetOutput) Close() error { return o.w.Close() }

func (o parquetOutput) Abort() {}

// csvOutput writes rows as CSV: times as pandas writes them, floats in Go's
// shortest round-trip form (Python's float() reads back the same bits).
type csvOutput struct {
	w      io.Writer
	buf    []byte
	header bool
}

// NewCSV returns an Output writing CSV to w; Close does not close w.
func NewCSV(w io.Writer) Output { return &csvOutput{w: w} }

func (o *csvOutput) Write(rows []Row) error {
	b := o.buf[:0]
	if !o.header {
		b = append(b, csvHeader...)
		o.header = true
	}
	for _, r := range rows {
		b = appendTime(b, r.Pickup)
		b = append(b, ',')
		b = appendTime(b, r.Dropoff)
		b = append(b, ',')
		b = strconv.AppendInt(b, r.PULocationID, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, r.DOLocationID, 10)
		for _, x := range []float64{r.TripDistance, r.Duration, r.RideDuration} {
			b = append(b, ',')
			b = strconv.AppendFloat(b, x, 'g', -1, 64)
		}
		b = append(b, '\n')
	}
	o.buf = b
	_, err := o.w.Write(b)
	return err
}

func (o *csvOutput) Abort() {}

func (o *csvOutput) Close() error {
	if !o.header { // no rows: the header still says what the columns are
		return o.Write(nil)
	}
	return nil
}

// appendTime writes a wall time as pandas does: 2022-02-01 00:20:21, with
// the microseconds only when there are some.
func appendTime(b []byte, us int64) []byte {
	return time.UnixMicro(us).UTC().AppendFormat(b, "2006-01-02 15:04:05.999999")
}
