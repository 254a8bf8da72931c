package export

import (
	"math"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/link"
)

// Threshold32 is the largest float32 ≤ t: for every float32 x,
// x <= t exactly when x <= Threshold32(t). scikit-learn compares float32
// inputs with float64 thresholds; this lets Go code compare in float32.
func Threshold32(t float64) float32 {
	f := float32(t)
	if float64(f) > t {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

// Below32 is the largest float32 < t: for every float32 x, x < t exactly
// when x <= Below32(t). XGBoost sends x left when x < its split.
func Below32(t float64) float32 {
	f := float32(t)
	if float64(f) >= t {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

// Threshold returns node n's split as a "go left when x <= threshold" test
// on the input converted to the ensemble's input type: the threshold is a
// float32 value when the input is float32.
func (e *Ensemble) Threshold(t *Tree, n int32) float64 {
	th := t.Threshold[n]
	switch {
	case e.Combine.Input == Float32 && e.Combine.Split == LE:
		return float64(Threshold32(th))
	case e.Combine.Input == Float32:
		return float64(Below32(th))
	case e.Combine.Split == LT:
		return math.Nextafter(th, math.Inf(-1))
	}
	return th
}

// Input converts a feature value to the ensemble's input type (widened back
// to float64): the value its trees compare.
func (e *Ensemble) Input(x float64) float64 {
	if e.Combine.Input == Float32 {
		return float64(float32(x))
	}
	return x
}

// Direction is where a node sends a ride.
type Direction uint8

const (
	Left Direction = iota
	Right
)

// OneHot returns where node n, a split on a one-hot column, sends a ride
// whose category is the column's (hot) and one whose is not. A column that
// is not hot is 0, or, in a sparse row under XGBoost's rules, missing.
func (e *Ensemble) OneHot(t *Tree, n int32) (hot, cold Direction) {
	th := e.Threshold(t, n)
	hot, cold = Right, Right
	if 1 <= th {
		hot = Left
	}
	switch {
	case e.Sparse && e.Combine.Absent == Missing && t.MissingLeft[n] == 1:
		cold = Left
	case e.Sparse && e.Combine.Absent == Missing:
	case 0 <= th:
		cold = Left
	}
	return hot, cold
}

// Next returns the child node n sends the ride to.
func (e *Ensemble) Next(t *Tree, n int32, f feature.Features) int32 {
	c := &e.columns[t.Feature[n]]
	var d Direction
	if c.OneHot {
		hot, cold := e.OneHot(t, n)
		d = cold
		if c.Match(f) {
			d = hot
		}
	} else if e.Input(c.Number(f)) > e.Threshold(t, n) {
		d = Right
	}
	if d == Left {
		return t.ChildrenLeft[n]
	}
	return t.ChildrenRight[n]
}

// Leaf returns the leaf of tree t that the ride reaches.
func (e *Ensemble) Leaf(t *Tree, f feature.Features) float64 {
	n := int32(0)
	for !t.IsLeaf(n) {
		n = e.Next(t, n, f)
	}
	return t.Value[n]
}

// Add returns the sum s with a leaf value added, in the library's
// arithmetic: the leaf multiplied by the scale (the product rounded), added
// in the sum's type. A sum starts at Base: see Predict.
func (c *Combine) Add(s, leaf float64) float64 {
	if c.Sum == Float32 {
		v := float32(leaf)
		if c.Scale != 1 {
			v = float32(float32(c.Scale) * v)
		}
		return float64(float32(s) + v)
	}
	if c.Scale != 1 {
		leaf = float64(c.Scale * leaf)
	}
	return s + leaf
}

// End returns the prediction from the sum of every tree: the sum divided
// (Divide), then the link applied. A tabled link's value is the link
// table's (NaN for a sum the table does not hold).
func (c *Combine) End(s float64) float64 {
	s = c.Divide(s)
	switch {
	case c.Link == Exp:
		return float64(link.Expf(float32(s)))
	case c.Tabled():
		v, ok := c.table.Value(s)
		if !ok {
			return math.NaN()
		}
		return v
	}
	return s
}

// Divide returns the sum of every tree divided by the divisor, in the
// sum's type: the value the link takes.
func (c *Combine) Divide(s float64) float64 {
	switch {
	case c.Divisor == 1:
		return s
	case c.Sum == Float32:
		return float64(float32(s) / float32(c.Divisor))
	}
	return s / c.Divisor
}

// Predict is the reference evaluation, as the library does it: each tree
// walked with the ride's values converted to the input type, the leaves
// added in order from Base (Add), the sum ended (End). It is slow and plain:
// the generated code is tested against it and against the library's own
// outputs.
func (e *Ensemble) Predict(f feature.Features) float64 {
	s := e.Combine.Base
	for i := range e.Trees {
		s = e.Combine.Add(s, e.Leaf(&e.Trees[i], f))
	}
	return e.Combine.End(s)
}
