// Package lookup is the small runtime of the generated table backend, kept
// out of generated code so that it is written, and tested, once: the
// order-preserving float32 key the search compares, and the table of
// predictions with its codec.
package lookup

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/klauspost/compress/zstd"
)

// Order maps a float32 to a uint32 with the same order (NaN aside): flip the
// sign bit of positives, every bit of negatives. Comparing these integers
// compiles to branch-free code where comparing floats does not. -0 and +0
// get different keys: the generator stores no -0 threshold, so the two
// zeros, equal as floats, fall in the same interval.
func Order(x float32) uint32 {
	b := math.Float32bits(x)
	return b ^ (uint32(int32(b)>>31) | 1<<31)
}

// Index is the type of a table's cell: an index into its distinct values.
type Index interface{ ~uint16 | ~uint32 }

// Table holds one float64 per cell, stored as the distinct values and, per
// cell, the index of its value. The forest's 847,000 predictions take 48,000
// distinct values: 2.1 MB this way instead of 6.8 MB, and a cold start pays
// for every page it touches (about 3.4 ms per MB here, more than decoding).
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

// orderKey is Order for float64: a total order of the bits.
func orderKey(x float64) uint64 {
	b := math.Float64bits(x)
	return b ^ (uint64(int64(b)>>63) | 1<<63)
}

// Encode packs the table, little-endian, values then cells, zstd-compressed,
// deterministically (one encoder goroutine, a fixed level): the same table
// always gives the same bytes.
func (t *Table[I]) Encode() []byte {
	var raw []byte
	for _, v := range t.Values {
		raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
	}
	for _, c := range t.Cells {
		if unsafe.Sizeof(c) == 2 {
			raw = binary.LittleEndian.AppendUint16(raw, uint16(c))
		} else {
			raw = binary.LittleEndian.AppendUint32(raw, uint32(c))
		}
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
	if err != nil {
		panic(err) // only for invalid options
	}
	defer enc.Close()
	return enc.EncodeAll(raw, nil)
}

// Decode unpacks a table of nValues distinct values and nCells cells written
// by Encode. It decompresses straight into the table's memory: no second
// buffer, no conversion pass on little-endian machines (every Lambda
// architecture), so a cold start pays only the decompression.
func Decode[I Index](data []byte, nValues, nCells int) (*Table[I], error) {
	cell := int(unsafe.Sizeof(I(0)))
	size := 8*nValues + cell*nCells
	mem := make([]uint64, (size+7)/8) // 8-byte aligned, for the float64s
	if size == 0 {
		return &Table[I]{Values: []float64{}, Cells: []I{}}, nil
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(&mem[0])), size)
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	out, err := dec.DecodeAll(data, dst[:0])
	if err != nil {
		return nil, fmt.Errorf("lookup table: %w", err)
	}
	if len(out) != size || &out[0] != &dst[0] {
		return nil, fmt.Errorf("lookup table: %d bytes, want %d", len(out), size)
	}
	t := &Table[I]{Cells: unsafe.Slice((*I)(unsafe.Pointer(&dst[8*nValues])), nCells)}
	if nValues > 0 {
		t.Values = unsafe.Slice((*float64)(unsafe.Pointer(&dst[0])), nValues)
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 { // big-endian: put each number in native order
		for i := range t.Values {
			t.Values[i] = math.Float64frombits(binary.LittleEndian.Uint64(dst[8*i:]))
		}
		for i := range t.Cells {
			if cell == 2 {
				t.Cells[i] = I(binary.LittleEndian.Uint16(dst[8*nValues+2*i:]))
			} else {
				t.Cells[i] = I(binary.LittleEndian.Uint32(dst[8*nValues+4*i:]))
			}
		}
	}
	for i, c := range t.Cells {
		if int(c) >= nValues {
			return nil, fmt.Errorf("lookup table: cell %d indexes value %d of %d", i, c, nValues)
		}
	}
	return t, nil
}
