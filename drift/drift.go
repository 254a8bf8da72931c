// Package drift measures how far a month of data moved from a reference
// month (the training month) with the population stability index (PSI):
//
//	PSI = Σ over bins (current share − reference share) · ln(current share / reference share)
//
// A numeric column is cut into the reference's deciles (10 bins holding a
// tenth of the reference each; the outer two open-ended), a categorical
// column into its categories. A share of 0 counts as 0.0001, so that a bin
// empty in one month gives a large but finite term. The usual reading:
// below 0.1 no drift, 0.1 to 0.25 a moderate shift, 0.25 and above a
// significant one.
//
// Why PSI and not the Wasserstein distance normed by the reference's
// standard deviation (Evidently's default): TLC trip distances hold data
// errors of 100,000+ miles that make the standard deviation ≈ 3,000 miles,
// so that normed score stays near 0 whatever the bulk of the rides does.
// Decile bins depend only on the reference's order, not on its scale or its
// outliers, and PSI is a distance that grows with the size of the move; a
// test's p-value, with 60,000 rides a month, would flag moves too small to
// matter. The Wasserstein distance is kept as a description, in the
// column's own unit: how far the distribution moved.
package drift

import (
	"cmp"
	"math"
	"slices"

	"github.com/rideduration/rideduration/metrics"
)

// The PSI thresholds.
const (
	Moderate    = 0.1
	Significant = 0.25
	// Bins is the number of reference quantile bins of a numeric column.
	Bins = 10
	// epsilon stands for a share of 0.
	epsilon = 0.0001
)

// Level reads a PSI: "none" below Moderate, "moderate", or "significant"
// from Significant on.
func Level(psi float64) string {
	switch {
	case psi >= Significant:
		return "significant"
	case psi >= Moderate:
		return "moderate"
	}
	return "none"
}

// Numeric is the drift of a numeric column.
type Numeric struct {
	// Edges are the inner bin edges: the reference's deciles, without
	// repeats. Bin 0 is x ≤ Edges[0], bin i is Edges[i-1] < x ≤ Edges[i],
	// the last bin x > the last edge.
	Edges []float64
	// Reference and Current are each month's share of values per bin.
	Reference, Current []float64
	PSI                float64
	// Wasserstein is the first Wasserstein distance between the two
	// empirical distributions, in the column's unit (not thresholded).
	Wasserstein float64
}

// NumericDrift compares the current values of a column with the reference's.
// Both must hold at least one value.
func NumericDrift(reference, current []float64) Numeric {
	ref := slices.Sorted(slices.Values(reference))
	cur := slices.Sorted(slices.Values(current))
	var edges []float64
	for i := 1; i < Bins; i++ {
		q := Quantile(ref, float64(i)/Bins)
		if len(edges) == 0 || q > edges[len(edges)-1] {
			edges = append(edges, q)
		}
	}
	d := Numeric{Edges: edges, Reference: binShares(ref, edges), Current: binShares(cur, edges)}
	d.PSI = psi(d.Reference, d.Current)
	d.Wasserstein = wasserstein(ref, cur)
	return d
}

// binShares is the share of the sorted values in each bin of edges.
func binShares(sorted, edges []float64) []float64 {
	shares := make([]float64, len(edges)+1)
	lo := 0
	for i := range shares {
		hi := len(sorted)
		if i < len(edges) {
			// The values ≤ edges[i].
			hi, _ = slices.BinarySearchFunc(sorted, edges[i], func(x, e float64) int {
				if x <= e {
					return -1
				}
				return 1
			})
		}
		shares[i] = float64(hi-lo) / float64(len(sorted))
		lo = hi
	}
	return shares
}

// Quantile is np.quantile(sorted, q) (linear interpolation between the
// neighbours of rank q·(n−1)) of sorted values.
func Quantile(sorted []float64, q float64) float64 {
	h := q * float64(len(sorted)-1)
	i := int(math.Floor(h))
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
}

// psi is Σ (c − r) · ln(c / r) over the bins, shares of 0 taken as epsilon.
func psi(ref, cur []float64) float64 {
	terms := make([]float64, len(ref))
	for i := range ref {
		r, c := ref[i], cur[i]
		if r == 0 {
			r = epsilon
		}
		if c == 0 {
			c = epsilon
		}
		terms[i] = (c - r) * math.Log(c/r)
	}
	return metrics.Sum(terms)
}

// Wasserstein is the first Wasserstein distance between the empirical
// distributions of u and v: the integral of |F_u − F_v| over the line,
// computed as scipy.stats.wasserstein_distance does (on each interval
// between neighbours in the sorted union of the values, |F_u − F_v| times
// its length; the terms summed as numpy sums). NaN if either is empty.
func Wasserstein(u, v []float64) float64 {
	if len(u) == 0 || len(v) == 0 {
		return math.NaN()
	}
	return wasserstein(slices.Sorted(slices.Values(u)), slices.Sorted(slices.Values(v)))
}

func wasserstein(us, vs []float64) float64 {
	all := make([]float64, 0, len(us)+len(vs))
	all = append(append(all, us...), vs...)
	slices.Sort(all)
	terms := make([]float64, len(all)-1)
	i, j := 0, 0 // values of u, v ≤ all[k]
	nu, nv := float64(len(us)), float64(len(vs))
	for k := range terms {
		for i < len(us) && us[i] <= all[k] {
			i++
		}
		for j < len(vs) && vs[j] <= all[k] {
			j++
		}
		terms[k] = float64(math.Abs(float64(i)/nu-float64(j)/nv) * (all[k+1] - all[k]))
	}
	return metrics.Sum(terms)
}

// Share is one category's share of the reference and of the current rows.
type Share[K comparable] struct {
	Key                K
	Reference, Current float64 // fractions of each month's rows, 0–1
}

// Change is Current − Reference.
func (s Share[K]) Change() float64 { return s.Current - s.Reference }

// Categorical is the drift of a categorical column.
type Categorical[K comparable] struct {
	// PSI over the categories of either month.
	PSI float64
	// Shares has every category of either month, the largest moves first
	// (by |Change|; ties in the key's order).
	Shares []Share[K]
}

// CategoricalDrift compares the current categories of a column with the
// reference's. Both must hold at least one value.
func CategoricalDrift[K cmp.Ordered](reference, current []K) Categorical[K] {
	ref, cur := counts(reference), counts(current)
	keys := make([]K, 0, len(ref)+len(cur))
	for k := range ref {
		keys = append(keys, k)
	}
	for k := range cur {
		if _, ok := ref[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var c Categorical[K]
	r, q := make([]float64, len(keys)), make([]float64, len(keys))
	for i, k := range keys {
		r[i], q[i] = float64(ref[k])/float64(len(reference)), float64(cur[k])/float64(len(current))
		c.Shares = append(c.Shares, Share[K]{Key: k, Reference: r[i], Current: q[i]})
	}
	c.PSI = psi(r, q)
	slices.SortStableFunc(c.Shares, func(a, b Share[K]) int {
		return cmp.Compare(math.Abs(b.Change()), math.Abs(a.Change()))
	})
	return c
}

func counts[K comparable](xs []K) map[K]int {
	m := make(map[K]int)
	for _, x := range xs {
		m[x]++
	}
	return m
}
