//go:build cgo && linux

// Package libm calls the C library's expf, for the tests that hold
// link.Expf to it.
package libm

/*
#cgo LDFLAGS: -lm
#include <math.h>
#include <stdint.h>
#include <string.h>

static void expf_range(uint32_t start, int n, float *out) {
	for (int i = 0; i < n; i++) {
		uint32_t b = start + (uint32_t)i;
		float x;
		memcpy(&x, &b, sizeof x);
		out[i] = expf(x);
	}
}
*/
import "C"

import "unsafe"

// Available reports whether this build calls the C library.
const Available = true

// Expf sets out[i] to the C library's expf of the float32 whose bits are
// start+i.
func Expf(start uint32, out []float32) {
	if len(out) > 0 {
		C.expf_range(C.uint32_t(start), C.int(len(out)), (*C.float)(unsafe.Pointer(&out[0])))
	}
}
