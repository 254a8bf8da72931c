package drift

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func seq(n, mul int, div float64) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64((i*mul)%10007) / div
	}
	return xs
}

func upTo(n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(i)
	}
	return xs
}

func TestQuantileIsNumpys(t *testing.T) {
	// np.quantile (Debian 12's numpy 1.24), printed with repr().
	assert.Equal(t, 1.3, Quantile([]float64{1, 2, 3, 4}, 0.1))
	assert.Equal(t, 99.9, Quantile(upTo(1000), 0.1))
	assert.Equal(t, 5.0, Quantile([]float64{5}, 0.5))
	assert.Equal(t, 9.149999999999999, Quantile([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10.5}, 0.9))
}

// The medians of the reference and of the current values, whatever their
// order.
func TestMedians(t *testing.T) {
	ref := NewReference([]float64{4, 1, 3, 2})
	assert.Equal(t, 2.5, ref.Median)
	assert.Equal(t, 7.0, ref.Compare([]float64{100000, 7, 1}).Median)
}

func TestNumericDrift(t *testing.T) {
	ref := upTo(1000)
	same := NumericDrift(ref, ref)
	require.Len(t, same.Edges, 9)
	assert.Equal(t, 99.9, same.Edges[0])
	for i := range Bins {
		assert.InDelta(t, 0.1, same.Reference[i], 1e-12)
	}
	assert.Equal(t, same.Reference, same.Current)
	assert.Zero(t, same.PSI)
	assert.Equal(t, "none", Level(same.PSI))
	assert.Zero(t, same.Wasserstein)

	// Every current value in the lower half: shares 0.2 in bins 0–4 and 0
	// (counted as 0.0001) in bins 5–9.
	low := append(upTo(500), upTo(500)...)
	d := NumericDrift(ref, low)
	assert.Equal(t, []float64{0.2, 0.2, 0.2, 0.2, 0.2, 0, 0, 0, 0, 0}, d.Current)
	assert.InDelta(t, 0.5*math.Ln2+5*(0.0001-0.1)*math.Log(0.0001/0.1), d.PSI, 1e-12)
	assert.InDelta(t, 3.79699735213155, d.PSI, 1e-12)
	assert.Equal(t, "significant", Level(d.PSI))
	assert.Equal(t, 250.0, d.Wasserstein, "each value moved down by 250 on average")

	// A value equal to an edge is in the bin below it; values beyond the
	// outer edges are in the outer bins.
	d = NumericDrift(ref, []float64{-5, 99.9, 100, 5000})
	assert.Equal(t, []float64{0.5, 0.25, 0, 0, 0, 0, 0, 0, 0, 0.25}, d.Current)

	// Repeated deciles make one edge: half the reference is 0.
	zeros := append(make([]float64, 500), upTo(500)...)
	d = NumericDrift(zeros, zeros)
	assert.Equal(t, 0.0, d.Edges[0])
	assert.Len(t, d.Edges, 5, "deciles 1–5 are all 0")
	assert.InDelta(t, 0.501, d.Reference[0], 1e-12, "the 500 zeros and upTo's 0")
	assert.Zero(t, d.PSI)
}

func TestLevel(t *testing.T) {
	assert.Equal(t, "none", Level(0.0999))
	assert.Equal(t, "moderate", Level(0.1))
	assert.Equal(t, "moderate", Level(0.2499))
	assert.Equal(t, "significant", Level(0.25))
}

// The expected values are scipy 1.10's (Debian 12) wasserstein_distance,
// printed with repr().
func TestWassersteinIsScipys(t *testing.T) {
	u, v := seq(3000, 7919, 97), seq(2500, 104729, 89)
	assert.Equal(t, 4.456509996524963, Wasserstein(u, v))
	assert.Equal(t, 5.0, Wasserstein([]float64{0, 1, 3}, []float64{5, 6, 8}))
	assert.InDelta(t, 0.3, Wasserstein([]float64{1, 2, 3, 4}, []float64{1, 2, 3, 4, 4}), 1e-15)
	assert.Zero(t, Wasserstein(u, u))
	assert.True(t, math.IsNaN(Wasserstein(nil, u)))
}

func TestCategoricalDrift(t *testing.T) {
	var ref, cur []int
	for i := range 1000 {
		ref = append(ref, i%4) // 0–3, a quarter each
	}
	for i := range 1000 {
		cur = append(cur, i%2+2) // 2–3, a half each
	}
	c := CategoricalDrift(ref, cur)
	// 0 and 1: (0.0001 − 0.25)·ln(0.0001/0.25); 2 and 3: 0.25·ln 2.
	assert.InDelta(t, 2*(0.0001-0.25)*math.Log(0.0001/0.25)+2*0.25*math.Ln2, c.PSI, 1e-12)
	require.Len(t, c.Shares, 4)
	// Ties on |change| are in key order.
	for i, want := range []Share[int]{{0, 0.25, 0}, {1, 0.25, 0}, {2, 0.25, 0.5}, {3, 0.25, 0.5}} {
		assert.Equal(t, want, c.Shares[i])
	}
	assert.Equal(t, -0.25, c.Shares[0].Change())

	assert.Zero(t, CategoricalDrift(ref, ref).PSI)
}

// A Reference kept as JSON, without its values, gives NumericDrift's bins,
// shares and PSI to the bit, and its Wasserstein distance within the
// sketch's error bound.
func TestReferenceWithoutValues(t *testing.T) {
	ref := append(seq(3000, 7919, 97), 1e6, 2e6) // two outliers
	for _, cur := range [][]float64{seq(2500, 104729, 89), seq(2500, 104729, 97), {-5, 99.9, 100, 5000, 3e6}} {
		exact := NumericDrift(ref, cur)
		b, err := json.Marshal(NewReference(ref))
		require.NoError(t, err)
		var kept Reference
		require.NoError(t, json.Unmarshal(b, &kept))
		got := kept.Compare(cur)
		assert.Equal(t, exact.Edges, got.Edges)
		assert.Equal(t, exact.Reference, got.Reference)
		assert.Equal(t, exact.Current, got.Current)
		assert.Equal(t, math.Float64bits(exact.PSI), math.Float64bits(got.PSI))
		assert.Zero(t, exact.WassersteinError)
		assert.Equal(t, kept.CDF.Error, got.WassersteinError)
		assert.Positive(t, got.WassersteinError)
		assert.LessOrEqual(t, math.Abs(got.Wasserstein-exact.Wasserstein), got.WassersteinError)
	}
}

func TestSketch(t *testing.T) {
	// Fewer distinct values than knots: every value is a knot, the sketch
	// is the distribution.
	few := []float64{1, 1, 2, 5, 5, 5, 9}
	s := NewSketch(few, SketchKnots)
	assert.Equal(t, Sketch{X: []float64{1, 2, 5, 9}, Counts: []int{2, 3, 6, 7}, Atoms: []int{2, 1, 3, 1}}, s)
	for _, cur := range [][]float64{{0, 3, 10}, few, {5}} {
		assert.InDelta(t, Wasserstein(few, cur), s.wasserstein(cur), 1e-12, "%v", cur)
	}

	// An outlier gets a knot of its own: 1,000 evenly spread values and one
	// 10⁶ away are sketched by 4 knots within 0.5 (the evenly spread part
	// is a straight line).
	spread := append(upTo(1000), 1e6)
	s = NewSketch(spread, 4)
	assert.Equal(t, []float64{0, 998, 999, 1e6}, s.X)
	assert.Less(t, s.Error, 0.5)
	for _, cur := range [][]float64{upTo(500), {2e6}, slices.Sorted(slices.Values(seq(2500, 104729, 89)))} {
		assert.LessOrEqual(t, math.Abs(s.wasserstein(cur)-Wasserstein(spread, cur)), s.Error)
	}

	one := NewSketch([]float64{7, 7}, SketchKnots)
	assert.Equal(t, Sketch{X: []float64{7}, Counts: []int{2}, Atoms: []int{2}}, one)
	assert.Equal(t, 3.0, one.wasserstein([]float64{4, 10}))
}

func TestCompareCounts(t *testing.T) {
	ref, cur := []int{1, 1, 2, 3, 3, 3}, []int{1, 2, 2, 4}
	assert.Equal(t, CategoricalDrift(ref, cur), CompareCounts(Counts(ref), Counts(cur)))
	assert.Equal(t, map[int]int{1: 2, 2: 1, 3: 3}, Counts(ref))
}
