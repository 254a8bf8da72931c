// Package tlc reads the columns the model uses from NYC TLC green taxi trip
// record files (parquet), fast: only those five columns, column by column,
// each page's values copied out in one loop, with no row assembly, reflection
// or allocation per trip. parquet-go's row reader (parquet.ReadFile of
// feature.Trip) reads February 2022 in about 390 ms; this reads it in a few.
//
// A file whose columns have other physical types than the TLC's (int64 ids
// and timestamps, double distance) is read through parquet-go's row reader
// instead, which converts them: slower, same result.
package tlc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"

	"github.com/rideduration/rideduration/feature"
)

// The columns read, by their names in the TLC files (feature.Trip's tags).
const (
	pickup = iota
	dropoff
	pu
	do
	distance
	numColumns
)

var columnNames = [numColumns]string{"lpep_pickup_datetime", "lpep_dropoff_datetime", "PULocationID", "DOLocationID", "trip_distance"}

// Trips holds the columns of a run of trips (a row group), the model's
// columns only. A null is marked in null, its value left 0.
type Trips struct {
	// Pickup and Dropoff are the TLC's wall times (New York, without a time
	// zone) in microseconds since 1970-01-01 00:00.
	Pickup, Dropoff []int64
	PULocationID    []int64
	DOLocationID    []int64
	TripDistance    []float64
	null            [numColumns][]bool
}

// Len is the number of trips.
func (t *Trips) Len() int { return len(t.PULocationID) }

// Features returns trip i's model input, or a *feature.FieldError naming
// the column that is null or wrong (feature.Trip.Features).
func (t *Trips) Features(i int) (feature.Features, error) {
	var r feature.Trip
	if !t.null[pu][i] {
		r.PULocationID = &t.PULocationID[i]
	}
	if !t.null[do][i] {
		r.DOLocationID = &t.DOLocationID[i]
	}
	if !t.null[distance][i] {
		r.TripDistance = &t.TripDistance[i]
	}
	return r.Features()
}

// Duration returns trip i's actual duration in minutes, as pandas computes
// it, or a *feature.FieldError naming a null time (feature.Trip.Duration).
func (t *Trips) Duration(i int) (float64, error) {
	var r feature.Trip
	var p, d time.Time // on the stack: Duration keeps no pointer
	if !t.null[pickup][i] {
		p = time.UnixMicro(t.Pickup[i])
		r.Pickup = &p
	}
	if !t.null[dropoff][i] {
		d = time.UnixMicro(t.Dropoff[i])
		r.Dropoff = &d
	}
	return r.Duration()
}

// resize makes every column n long, reusing the slices' memory.
func (t *Trips) resize(n int) {
	t.Pickup = grow(t.Pickup, n)
	t.Dropoff = grow(t.Dropoff, n)
	t.PULocationID = grow(t.PULocationID, n)
	t.DOLocationID = grow(t.DOLocationID, n)
	t.TripDistance = grow(t.TripDistance, n)
	for c := range t.null {
		t.null[c] = grow(t.null[c], n)
		clear(t.null[c])
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// File is an open TLC trip file.
type File struct {
	Path   string
	pf     *parquet.File
	closer io.Closer
	leaf   [numColumns]int  // column index of each column read
	unit   [2]time.Duration // of the pickup and drop-off timestamps
	fast   bool             // every column has the TLC's physical type
}

// Open opens the file at path and checks that it has the columns the model
// uses. It reads the footer only: Read reads the trips.
func Open(path string) (*File, error) {
	osf, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := osf.Stat()
	if err == nil {
		var f *File
		if f, err = open(path, osf, st.Size()); err == nil {
			f.closer = osf
			return f, nil
		}
	}
	osf.Close()
	return nil, err
}

// Close closes the file.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

func open(path string, r io.ReaderAt, size int64) (*File, error) {
	f := &File{Path: path}
	// Column chunks are read in 256 KiB reads: a TLC month's are 0.05–1 MB.
	pf, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true), parquet.ReadBufferSize(256<<10))
	if err != nil {
		return nil, fmt.Errorf("%s: not a parquet file: %w", path, err)
	}
	f.pf = pf
	f.fast = true
	for c, name := range columnNames {
		leaf, ok := pf.Schema().Lookup(name)
		if !ok {
			return nil, fmt.Errorf("%s: no column %s: not a TLC green taxi trip file", path, name)
		}
		f.leaf[c] = leaf.ColumnIndex
		if leaf.MaxRepetitionLevel > 0 || leaf.MaxDefinitionLevel > 1 {
			return nil, fmt.Errorf("%s: column %s is nested or repeated: not a TLC trip file", path, name)
		}
		typ := leaf.Node.Type()
		switch c {
		case pickup, dropoff:
			unit, ok := timestampUnit(typ)
			f.unit[c] = unit
			f.fast = f.fast && ok
		case pu, do:
			f.fast = f.fast && typ.Kind() == parquet.Int64
		case distance:
			f.fast = f.fast && typ.Kind() == parquet.Double
		}
	}
	return f, nil
}

// timestampUnit is the unit of an int64 TIMESTAMP column.
func timestampUnit(typ parquet.Type) (time.Duration, bool) {
	if typ.Kind() != parquet.Int64 || typ.LogicalType() == nil {
		return 0, false
	}
	ts, ok := typ.LogicalType().Value.(*format.TimestampType)
	if !ok || ts.Unit.Value == nil {
		return 0, false
	}
	switch d := ts.Unit.Value.Duration(); d {
	case time.Millisecond, time.Microsecond, time.Nanosecond:
		return d, true
	}
	return 0, false
}

// NumRows is the number of trips in the file.
func (f *File) NumRows() int64 { return f.pf.NumRows() }

// NumRowGroups is the number of row groups, the units Read reads.
func (f *File) NumRowGroups() int { return len(f.pf.RowGroups()) }

// Read reads row group g into t, reusing t's memory.
func (f *File) Read(g int, t *Trips) error {
	rg := f.pf.RowGroups()[g]
	if !f.fast {
		return f.readRows(rg, t)
	}
	t.resize(int(rg.NumRows()))
	chunks := rg.ColumnChunks()
	// The columns decompress in parallel: gzip's inflate is most of the
	// time, and the two timestamp columns are most of the bytes.
	var err [numColumns]error
	var wg sync.WaitGroup
	for c, read := range [numColumns]func(parquet.ColumnChunk) error{
		pickup:   func(ch parquet.ColumnChunk) error { return readColumn(ch, t.Pickup, t.null[pickup]) },
		dropoff:  func(ch parquet.ColumnChunk) error { return readColumn(ch, t.Dropoff, t.null[dropoff]) },
		pu:       func(ch parquet.ColumnChunk) error { return readColumn(ch, t.PULocationID, t.null[pu]) },
		do:       func(ch parquet.ColumnChunk) error { return readColumn(ch, t.DOLocationID, t.null[do]) },
		distance: func(ch parquet.ColumnChunk) error { return readColumn(ch, t.TripDistance, t.null[distance]) },
	} {
		wg.Go(func() { err[c] = read(chunks[f.leaf[c]]) })
	}
	wg.Wait()
	for c, e := range err {
		if e != nil {
			return fmt.Errorf("%s: row group %d, column %s: %w", f.Path, g, columnNames[c], e)
		}
	}
	for c, times := range [][]int64{t.Pickup, t.Dropoff} {
		switch f.unit[c] {
		case time.Millisecond:
			for i := range times {
				times[i] *= 1e3
			}
		case time.Nanosecond: // to microseconds, rounding down as time.UnixMicro does
			for i, ns := range times {
				times[i] = time.Unix(0, ns).UnixMicro()
			}
		}
	}
	return nil
}

// value is a column's Go type.
type value interface{ int64 | float64 }

// readColumn reads a column chunk of an optional, non-repeated column into
// dst, marking nulls in null. Dictionary-encoded pages (what Arrow writes)
// are looked up in their dictionary.
func readColumn[T value](chunk parquet.ColumnChunk, dst []T, null []bool) error {
	pages := chunk.Pages()
	defer pages.Close()
	var dict []T
	var dictOf parquet.Dictionary
	row := 0
	for {
		p, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		n := int(p.NumRows())
		if row+n > len(dst) {
			parquet.Release(p)
			return fmt.Errorf("pages hold more than the row group's %d rows", len(dst))
		}
		out, nulls := dst[row:row+n], null[row:row+n]
		var dictIdx []int32
		var vals []T // the page's non-null values, or nil when dictIdx holds them
		if d := p.Dictionary(); d != nil {
			if d != dictOf {
				dictOf, dict = d, typed[T](d.Page().Data())
			}
			data := p.Data()
			dictIdx = data.Int32()
			for _, k := range dictIdx {
				if uint32(k) >= uint32(len(dict)) {
					parquet.Release(p)
					return fmt.Errorf("dictionary index %d out of range", k)
				}
			}
		} else {
			vals = typed[T](p.Data())
		}
		nv := len(vals) + len(dictIdx)
		def := p.DefinitionLevels()
		if def == nil && nv != n || def != nil && len(def) != n {
			parquet.Release(p)
			return fmt.Errorf("page of %d rows holds %d values", n, nv)
		}
		j := 0
		for i := range out {
			if def != nil && def[i] == 0 {
				nulls[i] = true
				continue
			}
			if j == nv {
				parquet.Release(p)
				return errors.New("page has fewer values than its definition levels say")
			}
			if dictIdx != nil {
				out[i] = dict[dictIdx[j]]
			} else {
				out[i] = vals[j]
			}
			j++
		}
		parquet.Release(p)
		row += n
	}
	if row != len(dst) {
		return fmt.Errorf("pages hold %d of the row group's %d rows", row, len(dst))
	}
	return nil
}

// typed returns a page's values as []T (they alias the page's memory).
func typed[T value](v encoding.Values) []T {
	var out any
	switch any(T(0)).(type) {
	case int64:
		out = v.Int64()
	case float64:
		out = v.Double()
	}
	return out.([]T)
}

// readRows reads a row group through parquet-go's row reader, which
// converts other physical types (int32 ids, float distances, INT96 times).
func (f *File) readRows(rg parquet.RowGroup, t *Trips) error {
	rows := make([]feature.Trip, rg.NumRows())
	r := parquet.NewGenericRowGroupReader[feature.Trip](rg)
	defer r.Close()
	n, err := r.Read(rows)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	if n != len(rows) {
		return fmt.Errorf("%s: read %d of %d rows", f.Path, n, len(rows))
	}
	t.resize(n)
	for i, r := range rows {
		set(t.Pickup, t.null[pickup], i, micros(r.Pickup))
		set(t.Dropoff, t.null[dropoff], i, micros(r.Dropoff))
		set(t.PULocationID, t.null[pu], i, r.PULocationID)
		set(t.DOLocationID, t.null[do], i, r.DOLocationID)
		set(t.TripDistance, t.null[distance], i, r.TripDistance)
	}
	return nil
}

func set[T any](col []T, null []bool, i int, v *T) {
	if v == nil {
		null[i] = true
		return
	}
	col[i] = *v
}

func micros(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	us := t.UnixMicro()
	return &us
}
