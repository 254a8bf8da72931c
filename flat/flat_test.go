package flat

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// One tree: key 130_205 ? (distance <= 2.5 ? 1 : 2) : (PU id 7 ? 3 : 4),
// its one-hot splits sending a hot ride left (0) and a cold one right (4).
func TestLeaf(t *testing.T) {
	key := math.Float64frombits(Pack(130, 205))
	tr := Trees{
		Roots: []int32{0},
		Ops:   []Op{Key | HotLeft, Distance, Leaf, Leaf, PUID | HotLeft, Leaf, Leaf},
		Right: []int32{4, 3, 0, 0, 6, 0, 0},
		Value: []float64{key, 2.5, 1, 2, math.Float64frombits(7), 3, 4},
	}
	for _, c := range []struct {
		in   Input
		want float64
	}{
		{Input{Key: Pack(130, 205), PU: 130, DO: 205, Number: [4]float64{Distance: 2.5}}, 1},
		{Input{Key: Pack(130, 205), PU: 130, DO: 205, Number: [4]float64{Distance: math.Nextafter(2.5, 3)}}, 2},
		{Input{Key: Pack(7, 205), PU: 7, DO: 205}, 3},
		{Input{Key: Pack(8, 205), PU: 8, DO: 205}, 4},
	} {
		assert.Equal(t, c.want, tr.Leaf(0, &c.in), "%+v", c.in)
	}
	// ColdLeft: a ride of another category goes left, one of the column's right.
	cold := Trees{Roots: []int32{0}, Ops: []Op{DOID | ColdLeft, Leaf, Leaf}, Right: []int32{2, 0, 0}, Value: []float64{math.Float64frombits(205), 10, 20}}
	assert.Equal(t, 20.0, cold.Leaf(0, &Input{DO: 205}))
	assert.Equal(t, 10.0, cold.Leaf(0, &Input{DO: 1}))
}
