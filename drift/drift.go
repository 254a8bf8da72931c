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
//
// A reference month can also be kept without its values (Reference, a few
// KB as JSON): its bins and their counts, which give the same PSI to the
// bit, and a sketch of its distribution (Sketch), which gives the
// Wasserstein distance within a bound that it carries.
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
	// WassersteinError bounds how far Wasserstein may be from the exact
	// distance: 0 when the reference's values were at hand, the sketch's
	// Error when only its Reference was.
	WassersteinError float64
	// Median is the current values' np.quantile(current, 0.5).
	Median float64
}

// NumericDrift compares the current values of a column with the reference's.
// Both must hold at least one value.
func NumericDrift(reference, current []float64) Numeric {
	return NewReference(reference).Compare(current)
}

// Reference is what NumericDrift needs of a reference column, kept without
// its values: the decile bins, the count of values in each and a sketch of
// the distribution. Its JSON form is the fields' tags.
type Reference struct {
	// Edges are the inner bin edges (Numeric.Edges), Counts the reference's
	// values in each bin.
	Edges  []float64 `json:"edges"`
	Counts []int     `json:"counts"`
	// CDF sketches the distribution, for the Wasserstein distance.
	CDF Sketch `json:"cdf"`
	// Median is np.quantile(values, 0.5).
	Median float64 `json:"median"`
	// sorted are the values, when the Reference was made from them: the
	// Wasserstein distance is then exact.
	sorted []float64
}

// NewReference summarises a column's values, at least one.
func NewReference(values []float64) Reference {
	sorted := slices.Sorted(slices.Values(values))
	var edges []float64
	for i := 1; i < Bins; i++ {
		q := Quantile(sorted, float64(i)/Bins)
		if len(edges) == 0 || q > edges[len(edges)-1] {
			edges = append(edges, q)
		}
	}
	return Reference{Edges: edges, Counts: binCounts(sorted, edges), CDF: NewSketch(sorted, SketchKnots), Median: Quantile(sorted, 0.5), sorted: sorted}
}

// Compare measures the drift of current, at least one value, from the
// reference.
func (r Reference) Compare(current []float64) Numeric {
	cur := slices.Sorted(slices.Values(current))
	d := Numeric{Edges: r.Edges, Reference: shares(r.Counts), Current: shares(binCounts(cur, r.Edges)), Median: Quantile(cur, 0.5)}
	d.PSI = psi(d.Reference, d.Current)
	if r.sorted != nil {
		d.Wasserstein = wasserstein(r.sorted, cur)
	} else {
		d.Wasserstein, d.WassersteinError = r.CDF.wasserstein(cur), r.CDF.Error
	}
	return d
}

// shares divides counts by their sum.
func shares(counts []int) []float64 {
	n := 0
	for _, c := range counts {
		n += c
	}
	s := make([]float64, len(counts))
	for i, c := range counts {
		s[i] = float64(c) / float64(n)
	}
	return s
}

// binCounts is the number of the sorted values in each bin of edges.
func binCounts(sorted, edges []float64) []int {
	counts := make([]int, len(edges)+1)
	lo := 0
	for i := range counts {
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
		counts[i] = hi - lo
		lo = hi
	}
	return counts
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
	return CompareCounts(Counts(reference), Counts(current))
}

// Counts counts the values of each category: what CompareCounts needs of
// a month.
func Counts[K comparable](xs []K) map[K]int {
	m := make(map[K]int)
	for _, x := range xs {
		m[x]++
	}
	return m
}

// CompareCounts is CategoricalDrift of two months given by their Counts.
func CompareCounts[K cmp.Ordered](ref, cur map[K]int) Categorical[K] {
	nRef, nCur := total(ref), total(cur)
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
		r[i], q[i] = float64(ref[k])/float64(nRef), float64(cur[k])/float64(nCur)
		c.Shares = append(c.Shares, Share[K]{Key: k, Reference: r[i], Current: q[i]})
	}
	c.PSI = psi(r, q)
	slices.SortStableFunc(c.Shares, func(a, b Share[K]) int {
		return cmp.Compare(math.Abs(b.Change()), math.Abs(a.Change()))
	})
	return c
}

func total[K comparable](counts map[K]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}
