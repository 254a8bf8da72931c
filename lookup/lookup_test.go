package lookup

import (
	"math"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOrder64KeepsOrder(t *testing.T) {
	xs := []float64{math.Inf(-1), -math.MaxFloat64, -1, -math.SmallestNonzeroFloat64, 0, math.SmallestNonzeroFloat64, 1, math.Nextafter(1, 2), math.MaxFloat64, math.Inf(1)}
	for i := 1; i < len(xs); i++ {
		assert.Less(t, Order64(xs[i-1]), Order64(xs[i]), "%v < %v", xs[i-1], xs[i])
	}
	assert.Less(t, Order64(math.Copysign(0, -1)), Order64(0), "-0 sorts just below +0")
	assert.Less(t, Order64(math.Inf(1)), uint64(math.MaxUint64), "the search's padding is above every key")
}

func TestOrderKeepsOrder(t *testing.T) {
	xs := []float32{float32(math.Inf(-1)), -math.MaxFloat32, -2.5, -1, -math.SmallestNonzeroFloat32, 0,
		math.SmallestNonzeroFloat32, 0.005, 1, 1.0000001, 3.66, math.MaxFloat32, float32(math.Inf(1))}
	for i := 1; i < len(xs); i++ {
		assert.Less(t, Order(xs[i-1]), Order(xs[i]), "%v < %v", xs[i-1], xs[i])
	}
	assert.Less(t, Order(float32(math.Copysign(0, -1))), Order(0), "-0 sorts just below +0")
	assert.Less(t, Order(float32(math.Inf(1))), uint32(math.MaxUint32), "the search's padding is above every key")
}

var cells = []float64{18.321633541366506, 0, math.Copysign(0, -1), 18.321633541366506, math.MaxFloat64,
	math.SmallestNonzeroFloat64, -3.5, 1e-300, 0, -3.5}

// A table laid out in a blob and viewed back, in place and, from a
// misaligned copy of the blob, decoded: the same bits either way.
func roundTrip[I Index](t *testing.T) {
	tb, err := NewTable[I](cells)
	require.NoError(t, err)
	assert.Equal(t, []float64{-3.5, math.Copysign(0, -1), 0, math.SmallestNonzeroFloat64, 1e-300, 18.321633541366506, math.MaxFloat64}, tb.Values)
	blob, valuesAt := Append(nil, tb.Values)
	blob, cellsAt := Append(blob, tb.Cells)
	assert.Equal(t, 0, valuesAt)
	assert.Equal(t, 8*len(tb.Values), cellsAt)

	aligned := alignedString(blob)
	shifted := string(append([]byte{0xff}, blob...))[1:] // the same bytes at an odd address
	for name, s := range map[string]string{"aligned": aligned, "misaligned": shifted} {
		got := Table[I]{Values: View[float64](s, valuesAt, len(tb.Values)), Cells: View[I](s, cellsAt, len(cells))}
		for i, want := range cells {
			assert.Equal(t, math.Float64bits(want), math.Float64bits(got.At(i)), "%s: cell %d", name, i)
		}
		inPlace := name == "aligned"
		assert.Equal(t, inPlace, InPlace[float64](s, valuesAt), name)
		assert.Equal(t, inPlace, unsafe.Pointer(&got.Values[0]) == unsafe.Pointer(unsafe.StringData(s)), "%s: values read in place", name)
		assert.Equal(t, inPlace, unsafe.Pointer(&got.Cells[0]) == unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), cellsAt), "%s: cells read in place", name)
	}
}

func TestTableRoundTrip(t *testing.T) {
	t.Run("uint16", roundTrip[uint16])
	t.Run("uint32", roundTrip[uint32])
}

// alignedString copies b to memory aligned for any Number.
func alignedString(b []byte) string {
	mem := make([]uint64, (len(b)+7)/8)
	dst := unsafe.Slice((*byte)(unsafe.Pointer(&mem[0])), len(b))
	copy(dst, b)
	return unsafe.String(&dst[0], len(dst))
}

// The layout is little-endian and padded to each array's element size,
// whatever the machine.
func TestAppendLayout(t *testing.T) {
	blob, off := Append([]byte{1}, []uint16{0x0302})
	assert.Equal(t, 2, off)
	blob, off = Append(blob, []uint32{0x07060504})
	assert.Equal(t, 4, off)
	blob, off = Append(blob, []float64{1})
	assert.Equal(t, 8, off)
	blob, off = Append(blob, []uint64{})
	assert.Equal(t, 16, off)
	assert.Equal(t, []byte{1, 0, 2, 3, 4, 5, 6, 7, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, blob)

	s := alignedString(blob)
	assert.Equal(t, []uint16{0x0302}, View[uint16](s, 2, 1))
	assert.Equal(t, []uint32{0x07060504}, View[uint32](s, 4, 1))
	assert.Equal(t, []float64{1}, View[float64](s, 8, 1))
	assert.Equal(t, []uint64{}, View[uint64](s, 16, 0))
	assert.Equal(t, []uint16{0x0302}, View[uint16](s[1:], 1, 1), "misaligned: decoded")
}

func TestViewOverrun(t *testing.T) {
	s := alignedString(make([]byte, 16))
	assert.Len(t, View[uint32](s, 8, 2), 2)
	for _, c := range []struct{ off, n int }{{8, 3}, {17, 0}, {-2, 1}, {0, -1}, {16, 1}} {
		assert.Panics(t, func() { View[uint32](s, c.off, c.n) }, "offset %d, %d numbers", c.off, c.n)
	}
}

func TestTableTooManyValues(t *testing.T) {
	many := make([]float64, 1<<16+1)
	for i := range many {
		many[i] = float64(i)
	}
	_, err := NewTable[uint16](many)
	assert.ErrorContains(t, err, "65537 distinct values do not fit in uint16")
	tb, err := NewTable[uint32](many)
	require.NoError(t, err)
	assert.Equal(t, 1.0*(1<<16), tb.At(1<<16))
}

// Rank counts the keys below k, for every length and every place k falls.
func TestRank(t *testing.T) {
	for n := range 40 {
		keys := make([]uint32, n)
		for i := range keys {
			keys[i] = uint32(2*i + 1)
		}
		for k := range uint32(2*n + 3) {
			want := 0
			for _, x := range keys {
				if x < k {
					want++
				}
			}
			require.Equal(t, want, Rank(keys, k), "n %d, k %d", n, k)
		}
	}
	require.Equal(t, 1, Rank([]uint64{0, math.MaxUint64}, math.MaxUint64-1), "the borrow of 64-bit keys")
	require.Equal(t, 2, Rank([]uint64{0, math.MaxUint64 - 1}, math.MaxUint64))
}
