// Package link computes the functions a library applies to a tree
// ensemble's sum before it returns a prediction (its inverse link), bit for
// bit as the library computes them.
//
// XGBoost's objectives with a log link (reg:gamma, count:poisson,
// reg:tweedie) predict expf(margin): the C library's single-precision exp
// of the float32 margin. Expf is glibc's expf (sysdeps/ieee754/flt-32/e_expf.c,
// glibc 2.28 and later, from ARM's optimized-routines): the same table and
// polynomial, evaluated in float64 with the fused multiply-adds of glibc's
// FMA build (x86-64 with FMA, arm64): math.FMA rounds once on every machine,
// so the result is the same everywhere. glibc's plain build (x86-64 without
// FMA) differs from it on 2 of the 4,278,190,082 non-NaN float32s
// (docs/model.md).
// Rounding math.Exp to float32 is not expf: it differs for some inputs.
package link

import "math"

// The table of 2^(i/32), as glibc's __exp2f_data.tab: tab[i] is the bits
// of 2^(i/32) minus i << 47, so that 2^(k/32) is
// Float64frombits(tab[k%32] + k<<47).
var tab = [32]uint64{
	0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
	0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
	0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
	0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
	0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
	0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
	0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
	0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
}

// glibc's __exp2f_data: invln2_scaled, poly_scaled and shift.
const (
	invLn2N = 0x1.71547652b82fep+5 // 32 / ln 2
	c0      = 0x1.c6af84b912394p-20
	c1      = 0x1.ebfce50fac4f3p-13
	c2      = 0x1.62e42ff0c52d6p-6
	shift   = 0x1.8p+52
)

// Expf returns e**x as glibc's expf computes it.
func Expf(x float32) float32 {
	bits := math.Float32bits(x)
	if top := bits >> 20 & 0x7ff; top >= math.Float32bits(88)>>20 {
		// |x| >= 88, or x is NaN or ±Inf.
		switch {
		case bits == math.Float32bits(float32(math.Inf(-1))):
			return 0
		case top >= math.Float32bits(float32(math.Inf(1)))>>20:
			return x + x
		case x > 0x1.62e42ep6: // e**x > the largest float32
			return float32(math.Inf(1))
		case x < -0x1.9fe368p6: // e**x < half the smallest float32
			return 0
		}
	}
	// x·32/ln2 = k + r, k an integer (rounded to nearest even by the shift), |r| <= 1/2.
	// Each product that feeds a sum is fused with it, as glibc's FMA build
	// (x86-64's __expf_fma, arm64) compiles e_expf.c.
	xd := float64(x)
	kd := math.FMA(invLn2N, xd, shift)
	ki := math.Float64bits(kd)
	kd -= shift
	r := math.FMA(invLn2N, xd, -kd)
	// e**x = 2^(k/32) · 2^(r/32) ≈ s · (c0·r³ + c1·r² + c2·r + 1)
	s := math.Float64frombits(tab[ki%32] + ki<<47)
	p := math.FMA(c0, r, c1)
	r2 := float64(r * r)
	y := math.FMA(c2, r, 1)
	y = math.FMA(p, r2, y)
	return float32(float64(y * s))
}
