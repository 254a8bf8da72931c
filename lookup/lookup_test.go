package lookup

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

func roundTrip[I Index](t *testing.T) {
	tb, err := NewTable[I](cells)
	require.NoError(t, err)
	assert.Equal(t, []float64{-3.5, math.Copysign(0, -1), 0, math.SmallestNonzeroFloat64, 1e-300, 18.321633541366506, math.MaxFloat64}, tb.Values)
	data := tb.Encode()
	assert.Equal(t, data, tb.Encode(), "deterministic")
	got, err := Decode[I](data, len(tb.Values), len(cells))
	require.NoError(t, err)
	for i, want := range cells {
		assert.Equal(t, math.Float64bits(want), math.Float64bits(got.At(i)), "cell %d", i)
	}
	_, err = Decode[I](data, len(tb.Values), len(cells)+1)
	assert.ErrorContains(t, err, "bytes, want")
	bad := &Table[I]{Values: tb.Values, Cells: append([]I{}, tb.Cells...)}
	bad.Cells[3] = I(len(tb.Values))
	_, err = Decode[I](bad.Encode(), len(tb.Values), len(cells))
	assert.ErrorContains(t, err, "cell 3 indexes value 7 of 7")
	_, err = Decode[I](data[:len(data)-3], len(tb.Values), len(cells))
	assert.Error(t, err)
}

func TestTableRoundTrip(t *testing.T) {
	t.Run("uint16", roundTrip[uint16])
	t.Run("uint32", roundTrip[uint32])
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
