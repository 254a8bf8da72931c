package drift

import (
	"container/heap"
	"math"
	"slices"

	"github.com/rideduration/rideduration/metrics"
)

// SketchKnots is the number of knots NewReference's sketches have: with
// 128, a TLC month's trip distances, durations and predicted durations
// (59,603 rides) are each sketched within 0.02 of their unit.
const SketchKnots = 128

// Sketch is a distribution kept without its values, for the Wasserstein
// distance: a cumulative distribution function F through its knots, values
// of the distribution placed where a straight line strays most from it (at
// its outliers and its steps). F(X[i]) = Counts[i]/N (N the last count);
// from X[i], F rises linearly to (Counts[i+1] − Atoms[i+1])/N just below
// X[i+1], where it steps up by Atoms[i+1]/N, the share of values equal to
// X[i+1]. F is 0 below X[0] and 1 from the last knot on.
type Sketch struct {
	X      []float64 `json:"x"`
	Counts []int     `json:"counts"` // values ≤ X[i]
	Atoms  []int     `json:"atoms"`  // values = X[i]
	// Error is the Wasserstein distance between the values and the
	// sketch: a distance computed from the sketch is within Error of the
	// exact one (triangle inequality).
	Error float64 `json:"error"`
}

// NewSketch sketches sorted values, at least one, with at most knots
// knots (at least 2).
func NewSketch(sorted []float64, knots int) Sketch {
	// The distinct values v, and c[i] the values ≤ v[i]: the exact
	// cumulative counts, a step function.
	var v []float64
	var c []int
	for i, x := range sorted {
		if i > 0 && x == sorted[i-1] {
			c[len(c)-1]++
			continue
		}
		v = append(v, x)
		c = append(c, i+1)
	}
	// Split the segment whose line strays most (in area) from the steps at
	// its farthest point, until there are knots knots.
	chosen := map[int]bool{0: true, len(v) - 1: true}
	var todo segments
	push := func(a, b int) {
		if b-a >= 2 {
			heap.Push(&todo, measure(v, c, a, b))
		}
	}
	push(0, len(v)-1)
	for len(chosen) < knots && todo.Len() > 0 {
		s := heap.Pop(&todo).(segment)
		chosen[s.split] = true
		push(s.a, s.split)
		push(s.split, s.b)
	}
	var sk Sketch
	for i := range v {
		if chosen[i] {
			atom := c[i]
			if i > 0 {
				atom -= c[i-1]
			}
			sk.X = append(sk.X, v[i])
			sk.Counts = append(sk.Counts, c[i])
			sk.Atoms = append(sk.Atoms, atom)
		}
	}
	sk.Error = sk.wasserstein(sorted)
	return sk
}

// segment is the line between knots v[a] and v[b] (up to the values below
// v[b]): its area away from the steps (in values × unit) and the point
// where it strays most.
type segment struct {
	a, b, split int
	area        float64
}

func measure(v []float64, c []int, a, b int) segment {
	s := segment{a: a, b: b, split: a + 1}
	line := func(x float64) float64 {
		return float64(c[a]) + float64(c[b-1]-c[a])*(x-v[a])/(v[b]-v[a])
	}
	worst := -1.0
	for i := a; i < b; i++ {
		y := float64(c[i])
		s.area += absArea(line(v[i])-y, line(v[i+1])-y, v[i+1]-v[i])
		if i > a {
			// Just below v[i], F is c[i-1]; at v[i], c[i].
			if d := max(math.Abs(line(v[i])-y), math.Abs(line(v[i])-float64(c[i-1]))); d > worst {
				worst, s.split = d, i
			}
		}
	}
	return s
}

// segments is a heap of segments, the largest area first.
type segments []segment

func (h segments) Len() int           { return len(h) }
func (h segments) Less(i, j int) bool { return h[i].area > h[j].area }
func (h segments) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *segments) Push(x any)        { *h = append(*h, x.(segment)) }
func (h *segments) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// wasserstein is the Wasserstein distance between the sketch and the
// sorted values: the integral of |F_sketch − F_values| over the line, on
// each interval between neighbours of the knots and values.
func (s Sketch) wasserstein(sorted []float64) float64 {
	n, m := float64(s.Counts[len(s.Counts)-1]), float64(len(sorted))
	all := make([]float64, 0, len(s.X)+len(sorted))
	all = append(append(all, s.X...), sorted...)
	slices.Sort(all)
	terms := make([]float64, 0, len(all))
	k := -1 // the last knot ≤ p
	j := 0  // values ≤ p
	for i := 0; i+1 < len(all); i++ {
		p, q := all[i], all[i+1]
		if p == q {
			continue
		}
		for k+1 < len(s.X) && s.X[k+1] <= p {
			k++
		}
		for j < len(sorted) && sorted[j] <= p {
			j++
		}
		var f0, f1 float64 // F_sketch at p and just below q
		switch {
		case k < 0: // below the first knot: 0
		case k == len(s.X)-1:
			f0, f1 = 1, 1
		default:
			at := func(x float64) float64 {
				c0, c1 := float64(s.Counts[k]), float64(s.Counts[k+1]-s.Atoms[k+1])
				return (c0 + (c1-c0)*(x-s.X[k])/(s.X[k+1]-s.X[k])) / n
			}
			f0, f1 = at(p), at(q)
		}
		f := float64(j) / m
		terms = append(terms, absArea(f0-f, f1-f, q-p))
	}
	return metrics.Sum(terms)
}

// absArea is the integral of |y| over an interval of width w where y goes
// linearly from y0 to y1.
func absArea(y0, y1, w float64) float64 {
	if (y0 < 0) == (y1 < 0) || y0 == 0 || y1 == 0 {
		return w * math.Abs(y0+y1) / 2
	}
	// y crosses 0: two triangles.
	return w * (y0*y0 + y1*y1) / (2 * (math.Abs(y0) + math.Abs(y1)))
}
