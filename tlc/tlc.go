// Package tlc reads the columns the model uses from NYC TLC green taxi trip
// record files (parquet), fast: only those five columns, a chunk of trips at
// a time, each column decoded a page at a time (the columns in parallel) and
// its values copied out in one loop, with no row assembly, reflection or
// allocation per trip, where parquet-go's row reader (parquet.ReadFile of
// feature.Trip) assembles rows by reflection (BenchmarkRead:
// docs/performance.md). It is the repository's one reader of TLC files:
// backfill, replay and the report read with it, and so does cmd/prep.
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
	"slices"
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
// it (feature.Minutes), or a *feature.FieldError naming a null time.
func (t *Trips) Duration(i int) (float64, error) {
	if t.null[pickup][i] || t.null[dropoff][i] {
		// feature.Trip.Duration words the error.
		var r feature.Trip
		if !t.null[pickup][i] {
			r.Pickup = new(time.Time)
		}
		return r.Duration()
	}
	// The times are whole microseconds: their difference is Trip.Duration's
	// dropoff.Sub(pickup).Microseconds(), without the time.Time arithmetic
	// (a third of scoring's time).
	return feature.Minutes(t.Dropoff[i] - t.Pickup[i]), nil
}

// resize makes every column n long, reusing the slices' memory.
func (t *Trips) resize(n int) {
	t.Pickup = slices.Grow(t.Pickup[:0], n)[:n]
	t.Dropoff = slices.Grow(t.Dropoff[:0], n)[:n]
	t.PULocationID = slices.Grow(t.PULocationID[:0], n)[:n]
	t.DOLocationID = slices.Grow(t.DOLocationID[:0], n)[:n]
	t.TripDistance = slices.Grow(t.TripDistance[:0], n)[:n]
	for c := range t.null {
		t.null[c] = slices.Grow(t.null[c][:0], n)[:n]
	}
}

// Append appends u's trips to t.
func (t *Trips) Append(u *Trips) {
	t.Pickup = append(t.Pickup, u.Pickup...)
	t.Dropoff = append(t.Dropoff, u.Dropoff...)
	t.PULocationID = append(t.PULocationID, u.PULocationID...)
	t.DOLocationID = append(t.DOLocationID, u.DOLocationID...)
	t.TripDistance = append(t.TripDistance, u.TripDistance...)
	for c := range t.null {
		t.null[c] = append(t.null[c], u.null[c]...)
	}
}

// AppendTrip appends one trip, a null for each nil field: trips made by
// hand, in tests.
func (t *Trips) AppendTrip(r feature.Trip) {
	var one Trips
	one.resize(1)
	one.set(0, r)
	t.Append(&one)
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

// Files are open trip files, read one after the other.
type Files []*File

// OpenAll opens the files at paths (Open): all of them, or none.
func OpenAll(paths []string) (Files, error) {
	files := make(Files, 0, len(paths))
	for _, p := range paths {
		f, err := Open(p)
		if err != nil {
			files.Close()
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// NumRows is the number of trips in all the files.
func (fs Files) NumRows() int64 {
	var n int64
	for _, f := range fs {
		n += f.NumRows()
	}
	return n
}

// Close closes the files.
func (fs Files) Close() error {
	var err error
	for _, f := range fs {
		err = errors.Join(err, f.Close())
	}
	return err
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

// ReadFile appends every trip of the file at path to t: for jobs that want a
// file's trips at once (45 bytes a trip: 3 MB for February 2022).
func ReadFile(path string, t *Trips) error {
	f, err := Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := f.Reader()
	defer r.Close()
	var chunk Trips
	for {
		if err := r.Read(&chunk, int(f.NumRows())); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		t.Append(&chunk)
	}
}

// NumRows is the number of trips in the file.
func (f *File) NumRows() int64 { return f.pf.NumRows() }

// Reader returns a reader of the file's trips, from the first.
func (f *File) Reader() *Reader { return &Reader{f: f} }

// Reader reads a file's trips in order, a chunk at a time: each column is
// decoded a page at a time, so memory holds a chunk and a page per column,
// not a row group.
type Reader struct {
	f    *File
	g    int // the next row group
	left int // rows of the current row group not read yet
	ints [distance]*column[int64]
	dist *column[float64]
	rows *parquet.GenericReader[feature.Trip] // for other physical types
	buf  []feature.Trip
}

// Read reads the next trips, at most n, into t, reusing t's memory. It
// returns io.EOF when there are no more.
func (r *Reader) Read(t *Trips, n int) error {
	for r.left == 0 {
		r.closeRowGroup()
		if r.g == len(r.f.pf.RowGroups()) {
			return io.EOF
		}
		r.openRowGroup(r.f.pf.RowGroups()[r.g])
		r.g++
	}
	m := min(n, r.left)
	t.resize(m)
	var err error
	if r.rows != nil {
		err = r.readRows(t)
	} else {
		err = r.readColumns(t)
	}
	if err != nil {
		return fmt.Errorf("%s: row group %d: %w", r.f.Path, r.g-1, err)
	}
	r.left -= m
	return nil
}

// Close releases the pages being read.
func (r *Reader) Close() error {
	r.closeRowGroup()
	return nil
}

func (r *Reader) openRowGroup(rg parquet.RowGroup) {
	r.left = int(rg.NumRows())
	if !r.f.fast {
		r.rows = parquet.NewGenericRowGroupReader[feature.Trip](rg)
		return
	}
	chunks := rg.ColumnChunks()
	for c := range r.ints {
		r.ints[c] = &column[int64]{pages: chunks[r.f.leaf[c]].Pages()}
	}
	r.dist = &column[float64]{pages: chunks[r.f.leaf[distance]].Pages()}
}

func (r *Reader) closeRowGroup() {
	for c, col := range r.ints {
		if col != nil {
			col.close()
			r.ints[c] = nil
		}
	}
	if r.dist != nil {
		r.dist.close()
		r.dist = nil
	}
	if r.rows != nil {
		r.rows.Close()
		r.rows = nil
	}
}

// readColumns fills t from the columns, in parallel: gzip's inflate is
// most of the time, and the two timestamp columns most of the bytes.
func (r *Reader) readColumns(t *Trips) error {
	var err [numColumns]error
	var wg sync.WaitGroup
	for c, dst := range [...][]int64{pickup: t.Pickup, dropoff: t.Dropoff, pu: t.PULocationID, do: t.DOLocationID} {
		wg.Go(func() { err[c] = r.ints[c].read(dst, t.null[c]) })
	}
	wg.Go(func() { err[distance] = r.dist.read(t.TripDistance, t.null[distance]) })
	wg.Wait()
	for c, e := range err {
		if e != nil {
			return fmt.Errorf("column %s: %w", columnNames[c], e)
		}
	}
	for c, times := range [][]int64{t.Pickup, t.Dropoff} {
		switch r.f.unit[c] {
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

// column is a cursor over a column chunk of an optional, non-repeated
// column, decoding a page at a time. Dictionary-encoded pages (what Arrow
// writes) are looked up in their dictionary.
type column[T value] struct {
	pages  parquet.Pages
	dictOf parquet.Dictionary
	dict   []T
	page   parquet.Page // the page being read, or nil
	def    []byte       // its definition levels; nil when it has no nulls
	idx    []int32      // its dictionary indexes, or
	vals   []T          // its values
	n      int          // its rows
	row, j int          // its next row and next value
}

// read fills dst and null with the column's next len(dst) rows.
func (c *column[T]) read(dst []T, null []bool) error {
	for k := 0; k < len(dst); {
		if c.row == c.n {
			if err := c.nextPage(); errors.Is(err, io.EOF) {
				return fmt.Errorf("the column chunk ends %d rows early", len(dst)-k)
			} else if err != nil {
				return err
			}
			continue
		}
		m := min(len(dst)-k, c.n-c.row)
		out, nulls := dst[k:k+m], null[k:k+m]
		nv := len(c.idx) + len(c.vals)
		for i := range out {
			if c.def != nil && c.def[c.row+i] == 0 {
				out[i], nulls[i] = 0, true
				continue
			}
			if c.j == nv {
				return errors.New("a page has fewer values than its definition levels say")
			}
			if c.idx != nil {
				out[i] = c.dict[c.idx[c.j]]
			} else {
				out[i] = c.vals[c.j]
			}
			nulls[i] = false
			c.j++
		}
		c.row += m
		k += m
	}
	return nil
}

// nextPage reads the next page, checks it and releases the one before.
func (c *column[T]) nextPage() error {
	c.release()
	p, err := c.pages.ReadPage()
	if err != nil {
		return err
	}
	c.page, c.n, c.row, c.j = p, int(p.NumRows()), 0, 0
	c.def, c.idx, c.vals = p.DefinitionLevels(), nil, nil
	if d := p.Dictionary(); d != nil {
		if d != c.dictOf {
			c.dictOf, c.dict = d, typed[T](d.Page().Data())
		}
		data := p.Data()
		c.idx = data.Int32()
		for _, k := range c.idx {
			if uint32(k) >= uint32(len(c.dict)) {
				return fmt.Errorf("dictionary index %d out of range", k)
			}
		}
	} else {
		c.vals = typed[T](p.Data())
	}
	if nv := len(c.idx) + len(c.vals); c.def == nil && nv != c.n || c.def != nil && len(c.def) != c.n {
		return fmt.Errorf("a page of %d rows holds %d values", c.n, nv)
	}
	return nil
}

func (c *column[T]) release() {
	if c.page != nil {
		parquet.Release(c.page)
		c.page = nil
	}
}

func (c *column[T]) close() {
	c.release()
	c.pages.Close()
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

// readRows fills t through parquet-go's row reader, which converts other
// physical types (int32 ids, float distances, INT96 times).
func (r *Reader) readRows(t *Trips) error {
	r.buf = slices.Grow(r.buf[:0], t.Len())[:t.Len()]
	clear(r.buf)
	for k := 0; k < len(r.buf); {
		n, err := r.rows.Read(r.buf[k:])
		k += n
		if errors.Is(err, io.EOF) && k < len(r.buf) {
			return fmt.Errorf("read %d of %d rows", k, len(r.buf))
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	for i, row := range r.buf {
		t.set(i, row)
	}
	return nil
}

// set sets trip i to r, a null for each nil field.
func (t *Trips) set(i int, r feature.Trip) {
	setValue(t.Pickup, t.null[pickup], i, micros(r.Pickup))
	setValue(t.Dropoff, t.null[dropoff], i, micros(r.Dropoff))
	setValue(t.PULocationID, t.null[pu], i, r.PULocationID)
	setValue(t.DOLocationID, t.null[do], i, r.DOLocationID)
	setValue(t.TripDistance, t.null[distance], i, r.TripDistance)
}

func setValue[T any](col []T, null []bool, i int, v *T) {
	var zero T
	col[i], null[i] = zero, v == nil
	if v != nil {
		col[i] = *v
	}
}

func micros(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	us := t.UnixMicro()
	return &us
}
