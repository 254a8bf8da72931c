package link

import (
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"testing"

	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/link/internal/libm"
)

var all = flag.Bool("all", false, "TestExpfIsLibms: every float32, not every 61st")

// TestExpfIsLibms holds Expf to the C library's expf (glibc's, on Debian),
// bit for bit: every 61st float32 bit pattern (70 million inputs), or every
// one with -all.
func TestExpfIsLibms(t *testing.T) {
	if !libm.Available {
		testenv.Missing(t, "cgo and the C library (CGO_ENABLED=1 on Linux)")
	}
	const chunk = 1 << 16
	want := make([]float32, chunk)
	step := uint64(61)
	if *all {
		step = 1
	}
	n, bad, badExp := 0, 0, 0
	for start := uint64(0); start < 1<<32; start += chunk * step {
		libm.Expf(uint32(start), want)
		for i := range want {
			x := math.Float32frombits(uint32(start) + uint32(i))
			if x != x {
				continue
			}
			n++
			w := math.Float32bits(want[i])
			if got := math.Float32bits(Expf(x)); got != w {
				if bad++; bad <= 10 {
					t.Errorf("Expf(%v = %#08x) = %#08x, the C library's expf %#08x", x, math.Float32bits(x), got, w)
				}
			}
			if math.Float32bits(float32(math.Exp(float64(x)))) != w {
				badExp++
			}
		}
	}
	t.Logf("%d float32 inputs: Expf differs from the C library's expf on %d; float32(math.Exp) on %d", n, bad, badExp)
	if bad > 0 {
		t.Fatalf("Expf differs from the C library's expf on %d of %d inputs", bad, n)
	}
}

// TestExpfDigest holds Expf to the results it gave on amd64, on whatever
// machine runs the test (arm64 under qemu: make test-arm64 runs it), over
// every 4099th float32 bit pattern.
func TestExpfDigest(t *testing.T) {
	h := sha256.New()
	var b [4]byte
	for x := uint64(0); x < 1<<32; x += 4099 {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(Expf(math.Float32frombits(uint32(x)))))
		h.Write(b[:])
	}
	got := fmt.Sprintf("%x", h.Sum(nil))
	const want = "46c535793c7cf3403b789b89a8cae13769d1fdb4c82d99814d8a25e779b90c39"
	if got != want {
		t.Fatalf("Expf over every 4099th float32: sha256 %s, want %s (amd64's)", got, want)
	}
}

func TestExpfSpecial(t *testing.T) {
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {float32(math.Copysign(0, -1)), 1}, {1, 2.7182817}, {-1, 0.36787945},
		{float32(math.Inf(1)), float32(math.Inf(1))}, {float32(math.Inf(-1)), 0},
		{89, float32(math.Inf(1))}, {-104, 0},
	} {
		if got := Expf(c.x); math.Float32bits(got) != math.Float32bits(c.want) {
			t.Errorf("Expf(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if got := Expf(float32(math.NaN())); got == got {
		t.Errorf("Expf(NaN) = %v", got)
	}
}
