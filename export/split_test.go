package export

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/feature"
)

func forest(n int) Combine {
	return Combine{Input: Float32, Split: LE, Absent: Zero, Sum: Float64, Base: 0, Scale: 1, Divisor: float64(n)}
}

// For every float32 x, x < t exactly when x <= Below32(t).
func TestBelow32(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		th := r.NormFloat64() * 10
		if r.IntN(2) == 0 {
			th = float64(float32(th)) // XGBoost's splits are float32s
		}
		b := Below32(th)
		require.Less(t, float64(b), th)
		require.GreaterOrEqual(t, float64(math.Nextafter32(b, float32(math.Inf(1)))), th, "Below32(%v) is not the largest float32 < it", th)
	}
	assert.Equal(t, math.Nextafter32(2.5, 0), Below32(2.5))
	assert.Equal(t, float32(2.5), Below32(math.Nextafter(2.5, 3)))
}

// stump splits column 0 at th: leaves 10 (left) and 20 (right).
func stump(th float64, missingLeft uint8) Tree {
	return Tree{
		ChildrenLeft: []int32{1, Leaf, Leaf}, ChildrenRight: []int32{2, Leaf, Leaf},
		Feature: []int32{0, -2, -2}, Threshold: []float64{th, -2, -2}, Value: []float64{0, 10, 20},
		MissingLeft: []uint8{missingLeft, 0, 0},
	}
}

func checked(t *testing.T, e *Ensemble) *Ensemble {
	t.Helper()
	e.Format, e.Metadata.NEstimators = Format, len(e.Trees)
	require.NoError(t, e.Check())
	return e
}

// Where a one-hot split sends hot and cold rides, by each library's rules.
func TestOneHot(t *testing.T) {
	hotRide := feature.Features{Key: feature.Key{PU: 1, DO: 2}}
	coldRide := feature.Features{Key: feature.Key{PU: 1, DO: 3}}
	xgb := Combine{Input: Float32, Split: LT, Absent: Missing, Sum: Float32, Scale: 1, Divisor: 1, Base: 0.5}
	for name, c := range map[string]struct {
		e         Ensemble
		hot, cold float64
	}{
		"sklearn: 0 <= 0.5 < 1":                  {Ensemble{Combine: forest(1), Trees: []Tree{stump(0.5, 0)}}, 20, 10},
		"xgboost sparse: cold is missing, right": {Ensemble{Sparse: true, Combine: xgb, Trees: []Tree{stump(1, 0)}}, 20.5, 20.5},
		"xgboost sparse: cold is missing, left":  {Ensemble{Sparse: true, Combine: xgb, Trees: []Tree{stump(1, 1)}}, 20.5, 10.5},
		"xgboost dense: cold is 0 < 1":           {Ensemble{Combine: xgb, Trees: []Tree{stump(1, 0)}}, 20.5, 10.5},
		"xgboost dense: 1 < 1.5":                 {Ensemble{Combine: xgb, Trees: []Tree{stump(1.5, 0)}}, 10.5, 10.5},
	} {
		c.e.FeatureNames = []string{"PU_DO=1_2"}
		e := checked(t, &c.e)
		assert.Equal(t, c.hot, e.Predict(hotRide), name)
		assert.Equal(t, c.cold, e.Predict(coldRide), name)
	}
}

// A numeric split at a threshold float32 cannot hold: sklearn compares the
// float32 input with the float64 threshold; HistGradientBoosting compares
// float64s; XGBoost compares x < split.
func TestNumericSplit(t *testing.T) {
	th := 1.0000001 // between the float32s 1 and 1.00000012
	at := func(e *Ensemble, x float64) float64 { return e.Predict(feature.Features{Distance: x}) }
	names := []string{"trip_distance"}
	sk := checked(t, &Ensemble{FeatureNames: names, Combine: forest(1), Trees: []Tree{stump(th, 0)}})
	assert.Equal(t, 10.0, at(sk, 1.00000005), "float32(1.00000005) is 1 <= th")
	assert.Equal(t, 20.0, at(sk, 1.0000001), "float32(1.0000001) is 1.00000012 > th")
	hgb := checked(t, &Ensemble{FeatureNames: names, Combine: Combine{Input: Float64, Split: LE, Absent: Zero, Sum: Float64, Scale: 1, Divisor: 1}, Trees: []Tree{stump(th, 0)}})
	assert.Equal(t, 10.0, at(hgb, 1.0000001))
	assert.Equal(t, 20.0, at(hgb, math.Nextafter(1.0000001, 2)))
	xgb := checked(t, &Ensemble{FeatureNames: names, Combine: Combine{Input: Float32, Split: LT, Absent: Zero, Sum: Float32, Scale: 1, Divisor: 1}, Trees: []Tree{stump(2.5, 0)}})
	assert.Equal(t, 10.0, at(xgb, 2.4999))
	assert.Equal(t, 20.0, at(xgb, 2.5), "2.5 < 2.5 is false")
}

// The sum's arithmetic: a single tree returns its leaf, even −0; boosting
// rounds each scaled leaf before adding it; XGBoost adds in float32.
func TestSum(t *testing.T) {
	one := func(c Combine, leaves ...float64) float64 {
		s := c.Base
		for _, v := range leaves {
			s = c.Add(s, v)
		}
		return c.End(s)
	}
	tree := Combine{Sum: Float64, Base: math.Copysign(0, -1), Scale: 1, Divisor: 1}
	assert.Equal(t, math.Float64bits(math.Copysign(0, -1)), math.Float64bits(one(tree, math.Copysign(0, -1))))
	assert.Equal(t, 2.5, one(forest(2), 2, 3))
	gb := Combine{Sum: Float64, Base: 3, Scale: 0.1, Divisor: 1}
	assert.Equal(t, 3+float64(0.1*0.7)+float64(0.1*0.3), one(gb, 0.7, 0.3))
	xgb := Combine{Sum: Float32, Base: 0.5, Scale: 1, Divisor: 1}
	assert.Equal(t, float64(float32(float32(0.5)+float32(0.1))+float32(1e-8)), one(xgb, 0.1, 1e-8))
}
