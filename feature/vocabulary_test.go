package feature

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVocabulary(t *testing.T) {
	names := []string{"PU_DO=10_1", "PU_DO=1_1", "PU_DO=1_10", "PU_DO=265_3", "trip_distance"}
	v, err := NewVocabulary(names)
	require.NoError(t, err)
	assert.Equal(t, 4, v.DistanceIndex())
	assert.Equal(t, 5, v.Len())
	assert.Equal(t, names, v.Names())
	for i, k := range []Key{{10, 1}, {1, 1}, {1, 10}, {265, 3}} {
		assert.Equal(t, i, v.Index(k), k.String())
	}
	for _, k := range []Key{{0, 0}, {1, 2}, {3, 265}, {266, 3}, {-1, 1}, {1, -1}, {1 << 30, 1}} {
		assert.Equal(t, Unseen, v.Index(k), k.String())
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { v.Index(Key{130, 205}) }))
}

func TestVocabularyErrors(t *testing.T) {
	for name, names := range map[string][]string{
		"no distance":      {"PU_DO=1_1"},
		"unknown column":   {"PU_DO=1_1", "fare", "trip_distance"},
		"float key":        {"PU_DO=130.0_205", "trip_distance"},
		"repeated key":     {"PU_DO=1_1", "PU_DO=1_1", "trip_distance"},
		"id too large":     {"PU_DO=1_99999", "trip_distance"},
		"key without sep":  {"PU_DO=130205", "trip_distance"},
		"non-positive key": {"PU_DO=0_1", "trip_distance"},
	} {
		_, err := NewVocabulary(names)
		assert.Error(t, err, name)
	}
	assert.Panics(t, func() { MustVocabulary(nil) })
}

func TestKey(t *testing.T) {
	k, err := ParseKey("130_205")
	require.NoError(t, err)
	assert.Equal(t, Key{130, 205}, k)
	assert.Equal(t, "130_205", k.String())
	for _, s := range []string{"", "130", "130_", "_205", "a_b", "130_205_1", "-1_2"} {
		_, err := ParseKey(s)
		assert.Error(t, err, s)
	}
}
