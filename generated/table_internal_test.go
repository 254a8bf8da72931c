package generated

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/lookup"
)

// The table's arrays are read where the binary holds them: lookup.View found
// each aligned, so nothing was decoded or copied at start-up.
func TestTableReadInPlace(t *testing.T) {
	assert.True(t, lookup.InPlace[float64](tableBin, valuesAt), "values")
	assert.True(t, lookup.InPlace[uint32](tableBin, searchAt), "search")
	assert.True(t, lookup.InPlace[uint16](tableBin, firstAt), "first")
	assert.True(t, lookup.InPlace[uint16](tableBin, keyClassAt), "keyClass")
	assert.True(t, lookup.InPlace[uint16](tableBin, cellsAt), "cells")
	assert.True(t, lookup.InPlace[uint32](tableBin, textOffAt), "textOff")
}

// Each distinct prediction's text is what encoding/json writes of it.
func TestTableText(t *testing.T) {
	require.Equal(t, uint32(0), textOff[0])
	require.Equal(t, len(tableBin), textAt+int(textOff[tableValues]), "the text ends the blob")
	for v, x := range table.Values {
		want, err := json.Marshal(x)
		require.NoError(t, err)
		if got := tableBin[textAt+textOff[v] : textAt+textOff[v+1]]; got != string(want) {
			require.Failf(t, "text differs from encoding/json's", "value %d (%v): %q, want %q", v, x, got, want)
		}
	}
}

// Every cell indexes one of the values, and every key class is a row: no
// prediction can read past the table (which bounds checks would stop, but
// only at run time).
func TestTableWellFormed(t *testing.T) {
	require.Len(t, table.Cells, classes*intervals)
	for i, c := range table.Cells {
		if int(c) >= len(table.Values) {
			require.Failf(t, "cell out of range", "cell %d indexes value %d of %d", i, c, len(table.Values))
		}
	}
	for i, c := range keyClass {
		require.Less(t, int(c), classes, "key %d_%d", i/keyStride, i%keyStride)
	}
}

// Only vocabulary keys have a class of their own: every other key, in the
// key table's range or beyond it, is class 0 (the golden tests check that
// each vocabulary key gets its column's class).
func TestKeyClassOnlyForVocabularyKeys(t *testing.T) {
	classed := 0
	for pu := int32(-1); pu <= keyStride+1; pu++ {
		for do := int32(-1); do <= keyStride+1; do++ {
			k := feature.Key{PU: pu, DO: do}
			if uint32(pu) >= keyStride || uint32(do) >= keyStride {
				continue // predictTable takes class 0 without a lookup
			}
			c := keyClass[int(pu)*keyStride+int(do)]
			if c != 0 {
				classed++
				require.NotEqual(t, feature.Unseen, Vocabulary.Index(k), "key %s has class %d", k, c)
			}
		}
	}
	require.Equal(t, classes-1, classed, "one key per class ≥ 1")
}
