// Package flat is the runtime of the generated flat backend: trees as node
// arrays that one loop walks. The generator uses it for ensembles too large
// to compile as if/else code in reasonable time and memory; the arrays are
// embedded in the binary and read in place (lookup.View), like the table.
//
// Nodes are in preorder: a node's left child is the node after it, so a
// node stores only its right child. Each node's split is decided when the
// model is generated: a numeric split compares the ride's number, converted
// to the model's input type, with a threshold ("go left when x <=
// threshold"); a one-hot split compares the ride's category with the
// column's and knows where a hot ride and a cold one go.
package flat

import "math"

// Layout is the version of what generated code and this package agree on:
// the ops, the fields of Trees and Input, and how Leaf reads them. The
// generator writes code for Layout; a change to any of these is a new Layout.
const Layout = 1

// The layouts this package reads.
const (
	MinLayout = Layout
	MaxLayout = Layout
)

// EnforceLayout is the type of generated code's guard against a runtime it
// was not made for. Code generated for layout N holds
//
//	const _ = flat.EnforceLayout(N - flat.MinLayout)
//	const _ = flat.EnforceLayout(flat.MaxLayout - N)
//
// A negative constant does not convert to an unsigned type, so the package
// does not compile against a flat that reads other layouts.
type EnforceLayout uint

// Op is what a node does: Leaf, or the ride value it reads. One-hot ops
// carry HotLeft and ColdLeft.
type Op = uint16

// Ops.
const (
	Leaf     Op = iota
	PU          // PULocationID as a number
	DO          // DOLocationID as a number
	Distance    // trip_distance
	Key         // PU_DO, a category: Value holds the packed key's bits
	PUID        // PULocationID, a category: Value holds the id's bits
	DOID        // DOLocationID, a category: Value holds the id's bits

	HotLeft  Op = 1 << 8   // a one-hot split sends a ride of its category left
	ColdLeft Op = 1 << 9   // a one-hot split sends a ride of another category left
	OpMask      = 1<<8 - 1 // the op without HotLeft and ColdLeft
)

// Trees are the node arrays of an ensemble's trees, one entry per node.
type Trees struct {
	Roots []int32   // the root of each tree, in the order its leaves are added
	Ops   []Op      // per node
	Right []int32   // per node: the right child (left is the next node); 0 at a leaf
	Value []float64 // per node: a leaf's value, a split's threshold, a category's bits
}

// Input is a ride as the nodes read it.
type Input struct {
	Key    uint64     // PU_DO: Pack(PU, DO)
	PU, DO int32      // the ids, as categories
	Number [4]float64 // indexed by PU, DO, Distance: the ride's numbers converted to the model's input type
}

// Pack is a PU_DO key as one integer.
func Pack(pu, do int32) uint64 { return uint64(uint32(pu))<<32 | uint64(uint32(do)) }

// Leaf returns the value of the leaf that tree i sends the ride to.
func (t *Trees) Leaf(i int, in *Input) float64 {
	n := t.Roots[i]
	for {
		op := t.Ops[n]
		v := t.Value[n]
		var left bool
		switch op & OpMask {
		case Leaf:
			return v
		case PU, DO, Distance:
			left = in.Number[op&OpMask] <= v
		default:
			left = in.CategoryLeft(op, v)
		}
		if left {
			n++
		} else {
			n = t.Right[n]
		}
	}
}

// CategoryLeft reports whether a one-hot split, op with value v, sends in
// left: by HotLeft when in has the split's category (a key, or a pickup or
// drop-off id, as v's bits), else by ColdLeft.
func (in *Input) CategoryLeft(op Op, v float64) bool {
	var hot bool
	switch op & OpMask {
	case Key:
		hot = in.Key == math.Float64bits(v)
	case PUID:
		hot = uint64(uint32(in.PU)) == math.Float64bits(v)
	default:
		hot = uint64(uint32(in.DO)) == math.Float64bits(v)
	}
	return hot && op&HotLeft != 0 || !hot && op&ColdLeft != 0
}
