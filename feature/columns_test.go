package feature

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestColumns(t *testing.T) {
	names := []string{"DOLocationID", "PULocationID=130", "PU_DO=130_205", "PU_DO=1_1", "trip_distance"}
	cs, err := NewColumns(names)
	require.NoError(t, err)
	assert.Equal(t, names, cs.Names())
	ride := Features{Key: Key{PU: 130, DO: 205}, Distance: 3.66}
	assert.Equal(t, Column{Name: "DOLocationID", Input: InputDO}, cs[0])
	assert.Equal(t, 205.0, cs[0].Number(ride))
	assert.Equal(t, 3.66, cs[4].Number(ride))
	assert.True(t, cs[1].Match(ride))
	assert.True(t, cs[2].Match(ride))
	assert.False(t, cs[3].Match(ride))
	cats := cs.Categories()
	assert.True(t, cats.Seen(ride.Key))
	assert.False(t, cats.Seen(Key{PU: 130, DO: 1}), "PU seen, PU_DO not")
	assert.False(t, cats.Seen(Key{PU: 1, DO: 1}), "PU_DO seen, PU not")

	numbers, err := NewColumns([]string{"PULocationID", "trip_distance"})
	require.NoError(t, err)
	assert.True(t, numbers.Categories().Seen(Key{PU: 999, DO: 999}), "no categories: every key is seen")
}

// NumberIDsOf names the ids a model reads as numbers, whatever its other
// columns: one for each form the generator compiles.
func TestNumberIDsOf(t *testing.T) {
	for _, c := range []struct {
		names []string
		want  NumberIDs
	}{
		{[]string{"PU_DO=130_205", "trip_distance"}, 0},
		{[]string{"PULocationID=130", "DOLocationID=205", "trip_distance"}, 0},
		{[]string{"PULocationID", "DOLocationID", "trip_distance"}, PUNumber | DONumber},
		{[]string{"PU_DO=130_205", "PULocationID", "DOLocationID=205", "trip_distance"}, PUNumber},
		{[]string{"DOLocationID", "PULocationID=130"}, DONumber},
		{[]string{"trip_distance"}, 0},
	} {
		assert.Equal(t, c.want, NumberIDsOf(c.names), "%q", c.names)
	}
}

func TestColumnsErrors(t *testing.T) {
	for names, want := range map[string][]string{
		`feature 1 "fare_amount": not something a ride event carries`:                      {"trip_distance", "fare_amount"},
		`feature 0 "PULocationID=130.0": PULocationID category "130.0": not a location id`: {"PULocationID=130.0"},
		`feature 0 "PU_DO=130.0_205": PU_DO key "130.0_205"`:                               {"PU_DO=130.0_205"},
		`feature 0 "PU_DO=0130_205"`:                                                       {"PU_DO=0130_205"},
		`feature 0 "PU_DO=130205"`:                                                         {"PU_DO=130205"},
		`feature 0 "PU_DO": PU_DO is a category`:                                           {"PU_DO"},
		`feature 0 "trip_distance=3": trip_distance is a number`:                           {"trip_distance=3"},
		`feature 1 "PU_DO=1_1" repeats feature 0`:                                          {"PU_DO=1_1", "PU_DO=1_1"},
		`features "PULocationID=1" and "PULocationID"`:                                     {"PULocationID=1", "PULocationID"},
		`feature 0 "PULocationID=-1"`:                                                      {"PULocationID=-1"},
		`feature 0 "DOLocationID=0"`:                                                       {"DOLocationID=0"},
		`feature 0 "PULocationID:130"`:                                                     {"PULocationID:130"},
	} {
		_, err := NewColumns(want)
		require.Error(t, err, names)
		assert.Contains(t, err.Error(), names)
	}
}

func TestKey(t *testing.T) {
	k, err := ParseKey("130_205")
	require.NoError(t, err)
	assert.Equal(t, Key{130, 205}, k)
	assert.Equal(t, "130_205", k.String())
	for _, s := range []string{"", "130", "130_", "_205", "a_b", "130_205_1", "-1_2", "+1_2", "01_2", "0_1"} {
		_, err := ParseKey(s)
		assert.Error(t, err, s)
	}
}
