package zones

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLookup(t *testing.T) {
	assert.Equal(t, Zone{ID: 1, Borough: "EWR", Name: "Newark Airport", Service: "EWR"}, Lookup(1))
	assert.Equal(t, "Manhattan", Lookup(74).Borough)
	assert.Equal(t, "East Harlem North, Manhattan", Lookup(74).Label())
	assert.Equal(t, Unknown, Lookup(264).Borough)
	assert.Equal(t, Unknown, Lookup(266).Borough)
	assert.Contains(t, Lookup(266).Name, "266")
	assert.Len(t, byID(), 265)
}

func TestParseErrors(t *testing.T) {
	_, err := parse("id,borough\n1,Queens\n")
	assert.ErrorContains(t, err, "header")
	_, err = parse("LocationID,Borough,Zone,service_zone\nx,Queens,Jamaica,Boro Zone\n")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `taxi_zone_lookup.csv:2: LocationID "x"`)
}
