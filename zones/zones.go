// Package zones names the TLC taxi zones: the borough and zone of a
// PULocationID or DOLocationID, from the TLC's taxi_zone_lookup.csv
// (embedded: the binary needs no data file).
package zones

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

//go:embed taxi_zone_lookup.csv
var lookupCSV string

// Zone is one row of the lookup.
type Zone struct {
	ID      int64
	Borough string // Manhattan, Brooklyn, Queens, Bronx, Staten Island, EWR, Unknown
	Name    string // e.g. "East Harlem North"
	Service string // Yellow Zone, Boro Zone, Airports, EWR, N/A
}

// Unknown is the borough of an id the lookup does not hold. The TLC's own
// ids 264 and 265 are in the borough "Unknown" too.
const Unknown = "Unknown"

// byID parses the lookup on first use, not at init: the function's binary
// links this package (through predict) and must not pay for it at start-up.
var byID = sync.OnceValue(func() map[int64]Zone { return mustParse(lookupCSV) })

// Lookup returns the zone of a location id. An id the lookup does not hold
// gets borough Unknown and a name saying so.
func Lookup(id int64) Zone {
	if z, ok := byID()[id]; ok {
		return z
	}
	return Zone{ID: id, Borough: Unknown, Name: fmt.Sprintf("location %d (not in the TLC lookup)", id), Service: "N/A"}
}

// Label is "Zone, Borough", e.g. "East Harlem North, Manhattan".
func (z Zone) Label() string { return z.Name + ", " + z.Borough }

func mustParse(text string) map[int64]Zone {
	m, err := parse(text)
	if err != nil {
		panic(err)
	}
	return m
}

// parse reads the lookup: a header, then LocationID,Borough,Zone,service_zone.
func parse(text string) (map[int64]Zone, error) {
	rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("taxi_zone_lookup.csv: %w", err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != "LocationID,Borough,Zone,service_zone" {
		return nil, fmt.Errorf("taxi_zone_lookup.csv: want the header LocationID,Borough,Zone,service_zone")
	}
	m := make(map[int64]Zone, len(rows)-1)
	for i, r := range rows[1:] {
		id, err := strconv.ParseInt(r[0], 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("taxi_zone_lookup.csv:%d: LocationID %q is not a positive integer", i+2, r[0])
		}
		m[id] = Zone{ID: id, Borough: r[1], Name: r[2], Service: r[3]}
	}
	return m, nil
}
