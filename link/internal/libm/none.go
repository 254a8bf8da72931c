//go:build !(cgo && linux)

// Package libm calls the C library's expf, for the tests that hold
// link.Expf to it. This build has no C library (no cgo, or not Linux).
package libm

// Available reports whether this build calls the C library.
const Available = false

// Expf panics: see Available.
func Expf(start uint32, out []float32) { panic("libm: built without cgo") }
