package generated

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/lookup"
)

// The table's arrays are read where the binary holds them: lookup.View found
// each aligned, so nothing was decoded or copied at start-up.
func TestTableReadInPlace(t *testing.T) {
	assert.True(t, lookup.InPlace[float64](tableBin, valuesAt), "values")
	assert.True(t, lookup.InPlace[uint32](tableBin, searchAt), "search")
	assert.True(t, lookup.InPlace[uint16](tableBin, firstAt), "first")
	assert.True(t, lookup.InPlace[uint16](tableBin, classOfAt), "classOf")
	assert.True(t, lookup.InPlace[uint16](tableBin, cellsAt), "cells")
}

// Every cell indexes one of the values, and every class is a row: no
// prediction can read past the table (which bounds checks would stop, but
// only at run time).
func TestTableWellFormed(t *testing.T) {
	require.Len(t, table.Cells, classes*intervals)
	for i, c := range table.Cells {
		if int(c) >= len(table.Values) {
			require.Failf(t, "cell out of range", "cell %d indexes value %d of %d", i, c, len(table.Values))
		}
	}
	for col, c := range classOf {
		require.Less(t, int(c), classes, "column %d", col-1)
	}
	require.Equal(t, len(Vocabulary.Names())+1, len(classOf))
}
