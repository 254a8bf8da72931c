// Package metrics computes regression quality the way the Python trainer
// does, to the bit: scikit-learn 1.2.1's mean_squared_error, mean_absolute_error
// and r2_score over numpy 1.24 (Debian 12's), so that a Go report and
// train.py print the same RMSE for the same rides and predictions.
//
// Float addition is not associative, so "the same" depends on the order of
// the additions. numpy reduces a float64 array in chunks of its buffer size
// (8192 elements), each chunk summed pairwise (Sum documents the order), the
// chunk sums added in turn to the reduction's start value 0. A plain loop
// differs from that in the last bits.
package metrics

// numpy's constants: the ufunc buffer size (np.getbufsize(), never changed by
// scikit-learn) bounds each inner loop of a reduction, and PW_BLOCKSIZE is the
// length below which pairwise summation stops recursing
// (numpy/core/src/umath/loops_utils.h.src).
const (
	bufferSize   = 8192
	pwBlockSize  = 128
	unrollFactor = 8
)

// Sum returns np.sum(xs) (np.add.reduce over a contiguous float64 array), bit
// for bit: 0, plus the pairwise sum of each run of 8192 elements in order.
func Sum(xs []float64) float64 {
	s := 0.0
	for len(xs) > 0 {
		n := min(len(xs), bufferSize)
		s += pairwise(xs[:n])
		xs = xs[n:]
	}
	return s
}

// pairwise is numpy's DOUBLE_pairwise_sum: fewer than 8 elements are added
// in a loop; up to 128 with 8 accumulators (element i goes to accumulator
// i mod 8), combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)), then the
// remainder in a loop; longer arrays split in two at half the length rounded
// down to a multiple of 8, recursively.
func pairwise(a []float64) float64 {
	n := len(a)
	switch {
	case n < unrollFactor:
		res := 0.0
		for _, x := range a {
			res += x
		}
		return res
	case n <= pwBlockSize:
		var r [unrollFactor]float64
		copy(r[:], a)
		i := unrollFactor
		for ; i < n-n%unrollFactor; i += unrollFactor {
			r[0] += a[i+0]
			r[1] += a[i+1]
			r[2] += a[i+2]
			r[3] += a[i+3]
			r[4] += a[i+4]
			r[5] += a[i+5]
			r[6] += a[i+6]
			r[7] += a[i+7]
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % unrollFactor
		return pairwise(a[:n2]) + pairwise(a[n2:])
	}
}

// Mean returns np.mean(xs): Sum(xs) / len(xs); NaN for no elements, as numpy.
func Mean(xs []float64) float64 {
	return Sum(xs) / float64(len(xs))
}
