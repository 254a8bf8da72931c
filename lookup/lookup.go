// Package lookup is the small runtime of the generated table backend, kept
// out of generated code so that it is written, and tested, once: the
// order-preserving float32 key the search compares, the table of predictions
// (its distinct values plus an index per cell), and the blob the generator
// lays these arrays out in, which the generated package embeds and reads in
// place.
package lookup

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"unsafe"
)

// Layout is the version of what generated code and this package agree on:
// the blob's byte layout (Append, View), Table's fields, the search keys
// (Order, Order64). The generator writes code for Layout; a change to any of
// these is a new Layout.
const Layout = 1

// The layouts this package reads.
const (
	MinLayout = Layout
	MaxLayout = Layout
)

// EnforceLayout is the type of generated code's guard against a runtime it
// was not made for. Code generated for layout N holds
//
//	const _ = lookup.EnforceLayout(N - lookup.MinLayout)
//	const _ = lookup.EnforceLayout(lookup.MaxLayout - N)
//
// A negative constant does not convert to an unsigned type, so the package
// does not compile against a lookup that reads other layouts.
type EnforceLayout uint

// Order maps a float32 to a uint32 with the same order (NaN aside): flip the
// sign bit of positives, every bit of negatives. Comparing these integers
// compiles to branch-free code where comparing floats does not. -0 and +0
// get different keys: the generator stores no -0 threshold, so the two
// zeros, equal as floats, fall in the same interval.
func Order(x float32) uint32 {
	b := math.Float32bits(x)
	return b ^ (uint32(int32(b)>>31) | 1<<31)
}

// Order64 is Order for float64: the tables of models that compare float64
// distances (HistGradientBoosting) search these keys.
func Order64(x float64) uint64 {
	b := math.Float64bits(x)
	return b ^ (uint64(int64(b)>>63) | 1<<63)
}

// Index is the type of a table's cell: an index into its distinct values.
type Index interface{ ~uint16 | ~uint32 }

// Table holds one float64 per cell, stored as the distinct values and, per
// cell, the index of its value. A forest's precomputed predictions repeat a
// lot (many cells of a key class share their trees' leaves), so this takes a
// fraction of the memory of one float64 per cell, and a cold start pays for
// every page it touches.
type Table[I Index] struct {
	Values []float64 // distinct, ascending
	Cells  []I       // per cell, the index of its value
}

// At returns the value of cell i.
func (t *Table[I]) At(i int) float64 { return t.Values[t.Cells[i]] }

// NewTable encodes cells. It fails when there are more distinct values than I
// can index.
func NewTable[I Index](cells []float64) (*Table[I], error) {
	at := map[uint64]int{}
	var values []float64
	for _, v := range cells {
		if _, ok := at[math.Float64bits(v)]; !ok {
			at[math.Float64bits(v)] = 0
			values = append(values, v)
		}
	}
	// Ascending, with -0 before +0 and every NaN last: one order for any input.
	slices.SortFunc(values, func(a, b float64) int { return cmp.Compare(orderKey(a), orderKey(b)) })
	if len(values) > 0 && uint64(len(values)-1) > uint64(^I(0)) {
		return nil, fmt.Errorf("lookup table: %d distinct values do not fit in %T", len(values), I(0))
	}
	for i, v := range values {
		at[math.Float64bits(v)] = i
	}
	t := &Table[I]{Values: values, Cells: make([]I, len(cells))}
	for i, v := range cells {
		t.Cells[i] = I(at[math.Float64bits(v)])
	}
	return t, nil
}

// orderKey is a total order of the bits.
func orderKey(x float64) uint64 { return Order64(x) }

// Number is a type of the numbers a blob holds.
type Number interface {
	~uint16 | ~int32 | ~uint32 | ~uint64 | ~float64
}

// Append appends xs to blob, little-endian, after zero bytes that pad blob to
// a multiple of the size of T, and returns the new blob and the offset of xs
// in it. Arrays laid out this way from the start of an aligned blob are each
// aligned to their element size, so View can read them in place.
// The bytes depend only on blob and xs, never on the machine.
func Append[T Number](blob []byte, xs []T) ([]byte, int) {
	size := int(unsafe.Sizeof(T(0)))
	for len(blob)%size != 0 {
		blob = append(blob, 0)
	}
	off := len(blob)
	for _, x := range xs {
		switch size {
		case 2:
			blob = binary.LittleEndian.AppendUint16(blob, *(*uint16)(unsafe.Pointer(&x)))
		case 4:
			blob = binary.LittleEndian.AppendUint32(blob, *(*uint32)(unsafe.Pointer(&x)))
		default:
			blob = binary.LittleEndian.AppendUint64(blob, *(*uint64)(unsafe.Pointer(&x)))
		}
	}
	return blob, off
}

// View returns the n numbers that Append laid out at byte offset off of blob.
//
// Where the machine reads them as they are stored (a little-endian machine,
// and blob+off aligned to the size of T: Append's layout and the linker's
// alignment of large data give that), the slice points into blob itself:
// nothing is read or copied. For a blob embedded in the binary (//go:embed
// into a string), the numbers stay in the binary's read-only pages, which
// the OS maps in as they are first touched, so start-up does not pay for
// them. The slice must never be written: those pages are read-only.
//
// Otherwise View decodes a copy, the same numbers in fresh memory. It panics
// when blob is too short.
func View[T Number](blob string, off, n int) []T {
	size := int(unsafe.Sizeof(T(0)))
	if off < 0 || n < 0 || off > len(blob) || n > (len(blob)-off)/size {
		panic(fmt.Sprintf("lookup: %d numbers of %d bytes at offset %d overrun a %d-byte blob", n, size, off, len(blob)))
	}
	if n == 0 {
		return []T{}
	}
	p := unsafe.Add(unsafe.Pointer(unsafe.StringData(blob)), off)
	if InPlace[T](blob, off) {
		return unsafe.Slice((*T)(p), n)
	}
	out := make([]T, n)
	b := blob[off : off+n*size]
	for i := range out {
		switch size {
		case 2:
			u := uint16(b[2*i]) | uint16(b[2*i+1])<<8
			out[i] = *(*T)(unsafe.Pointer(&u))
		case 4:
			u := uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24
			out[i] = *(*T)(unsafe.Pointer(&u))
		default:
			u := uint64(b[8*i]) | uint64(b[8*i+1])<<8 | uint64(b[8*i+2])<<16 | uint64(b[8*i+3])<<24 |
				uint64(b[8*i+4])<<32 | uint64(b[8*i+5])<<40 | uint64(b[8*i+6])<<48 | uint64(b[8*i+7])<<56
			out[i] = *(*T)(unsafe.Pointer(&u))
		}
	}
	return out
}

// InPlace reports whether View[T](blob, off, n) reads blob in place rather
// than decoding a copy: the machine is little-endian and blob+off is aligned
// to the size of T.
func InPlace[T Number](blob string, off int) bool {
	size := uintptr(unsafe.Sizeof(T(0)))
	addr := uintptr(unsafe.Pointer(unsafe.StringData(blob))) + uintptr(off)
	return littleEndian() && addr%size == 0
}

func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

// Key is the type of a search key: Order's or Order64's.
type Key interface{ ~uint32 | ~uint64 }

// Rank returns the number of keys below k, keys ascending: the interval
// holding k. It halves the range without a branch on the keys (the step is
// masked by the comparison's borrow): rides' distances are unpredictable,
// and mispredicted branches are what make tree walks slow.
func Rank[K Key](keys []K, k K) int {
	n := len(keys)
	if n == 0 {
		return 0
	}
	base := 0
	for n > 1 {
		half := n >> 1
		_, below := bits.Sub64(uint64(keys[base+half-1]), uint64(k), 0)
		base += int(below) * half
		n -= half
	}
	_, below := bits.Sub64(uint64(keys[base]), uint64(k), 0)
	return base + int(below)
}
