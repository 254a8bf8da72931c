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

func TestCodecRoundTrip(t *testing.T) {
	values := []float64{0, -0.0, 18.321633541366506, math.MaxFloat64, math.SmallestNonzeroFloat64, -3.5, 1e-300}
	data := Encode(values)
	assert.Equal(t, data, Encode(values), "deterministic")
	got, err := Decode(data, len(values))
	require.NoError(t, err)
	require.Len(t, got, len(values))
	for i := range values {
		assert.Equal(t, math.Float64bits(values[i]), math.Float64bits(got[i]), "value %d", i)
	}
	_, err = Decode(data, len(values)+1)
	assert.ErrorContains(t, err, "want 64")
	_, err = Decode(data, len(values)-1)
	assert.Error(t, err)
	_, err = Decode(data[:len(data)-3], len(values))
	assert.Error(t, err)
}
