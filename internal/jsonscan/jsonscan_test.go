package jsonscan

import (
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// special is exact: every byte value at every position of the word, among
// random other bytes.
func TestSpecial(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	isSpecial := func(c byte) bool { return c < 0x20 || c == '"' || c == '\\' }
	for c := range 256 {
		for pos := range 8 {
			for range 64 {
				var w [8]byte
				want := false
				for k := range w {
					w[k] = byte(rng.IntN(256))
					if k == pos {
						w[k] = byte(c)
					}
					want = want || isSpecial(w[k])
				}
				assert.Equal(t, want, special(binary.LittleEndian.Uint64(w[:])), "%q", w)
			}
		}
	}
}

// PlainString reads a string exactly when it is a JSON string with no
// escapes or control characters.
func TestPlainString(t *testing.T) {
	for in, want := range map[string]string{
		`"abc"x`: "abc", `""`: "", `"0123456789abcdefghij"`: "0123456789abcdefghij", `"é, ü"`: "é, ü",
	} {
		text, j, ok := PlainString([]byte(in), 0)
		assert.True(t, ok, in)
		assert.Equal(t, want, string(text), in)
		assert.Equal(t, len(want)+2, j, in)
	}
	for _, in := range []string{`"a\"b"`, "\"0123456789\x01abc\"", `"0123456789abcdefgh`, `abc`, ``, "\"\t\""} {
		_, j, ok := PlainString([]byte(in), 0)
		assert.False(t, ok, in)
		assert.Zero(t, j, in)
	}
}

// SkipValue reads a value exactly when it is valid JSON (strings without
// escapes).
func FuzzSkipValue(f *testing.F) {
	for _, s := range []string{`{"a":[1,-2.5e3,true,false,null,{"b":"c"}],"d":{}}`, `[]`, `"x"`, `0`, `[1,]`, `{"a"}`, `01`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		j, ok := SkipValue(b, 0)
		if ok && !json.Valid(b[:j]) {
			t.Fatalf("read %q, not JSON", b[:j])
		}
	})
}
