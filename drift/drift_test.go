package drift

import (
	"math"
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
