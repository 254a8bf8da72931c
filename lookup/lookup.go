// Package lookup is the small runtime of the generated table backend, kept
// out of generated code so that it is written, and tested, once: the
// order-preserving float32 key the search compares, and the codec of the
// embedded table.
package lookup

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/klauspost/compress/zstd"
)

// Order maps a float32 to a uint32 with the same order (NaN aside): flip the
// sign bit of positives, every bit of negatives. Comparing these integers
// compiles to branch-free code where comparing floats does not. -0 and +0
// get different keys: the generator stores no -0 threshold, so the two
// zeros, equal as floats, fall in the same interval.
func Order(x float32) uint32 {
	b := math.Float32bits(x)
	return b ^ (uint32(int32(b)>>31) | 1<<31)
}

// Encode packs values as little-endian float64, zstd-compressed,
// deterministically (one encoder goroutine, a fixed level): the same values
// always give the same bytes.
func Encode(values []float64) []byte {
	raw := make([]byte, 8*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(v))
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
	if err != nil {
		panic(err) // only for invalid options
	}
	defer enc.Close()
	return enc.EncodeAll(raw, nil)
}

// Decode unpacks n values written by Encode. It decompresses straight into
// the returned slice's memory: no second buffer, no conversion pass on
// little-endian machines (every Lambda architecture), so a cold start pays
// only the decompression.
func Decode(data []byte, n int) ([]float64, error) {
	values := make([]float64, n)
	if n == 0 {
		return values, nil
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(&values[0])), 8*n)
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	out, err := dec.DecodeAll(data, dst[:0])
	if err != nil {
		return nil, fmt.Errorf("lookup table: %w", err)
	}
	if len(out) != len(dst) || &out[0] != &dst[0] {
		return nil, fmt.Errorf("lookup table: %d bytes, want %d", len(out), len(dst))
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 { // big-endian: put each value in native order
		for i := range values {
			values[i] = math.Float64frombits(binary.LittleEndian.Uint64(dst[8*i:]))
		}
	}
	return values, nil
}
