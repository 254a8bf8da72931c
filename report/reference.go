package report

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"

	"github.com/rideduration/rideduration/drift"
	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/metrics"
	"github.com/rideduration/rideduration/model"
)

// Reference is the training month as the report compares a month with it:
// what was read and scored, and of each numeric column what drift and the
// page's plot need, without the rides. Summarize makes it from the month's
// trips; its JSON form (the fields' tags; JSON, ReadReference) is a
// few KB where the month is a 1 MB parquet file, so that a program can
// carry its model's training month.
type Reference struct {
	Source Source `json:"source"`
	// Columns are the numeric columns, in the order of the numeric table.
	Columns []ReferenceColumn `json:"columns"`
	// PickupZones counts the rides by PULocationID.
	PickupZones map[int64]int `json:"pickup_zones"`
	// keys are the month's PU_DO keys, when it was summarised from its
	// trips: the vocabulary when the model's columns are not given.
	keys map[feature.Key]bool
}

// ReferenceColumn is a numeric column of the training month.
type ReferenceColumn struct {
	Name  string          `json:"column"`
	Mean  float64         `json:"mean"`
	Drift drift.Reference `json:"drift"`
	// Plot counts the rides in the bins of the column's plot (numeric's
	// width, from 0 to its hi); Above those above hi.
	Plot  []int `json:"plot"`
	Above int   `json:"above"`
}

// numericColumn is a column whose drift the report measures, and the range
// and bin width of its plot.
type numericColumn struct {
	name      string
	values    func(rides) []float64
	hi, width float64
}

// numeric are the numeric columns, in the order of the drift table.
var numeric = []numericColumn{
	{"trip_distance", func(r rides) []float64 { return r.distance }, 20, 0.25},
	{"prediction", func(r rides) []float64 { return r.predicted }, 60, 1},
	{"duration", func(r rides) []float64 { return r.actual }, 60, 1},
}

// column is the index of a numeric column in numeric.
func column(name string) int {
	for i, c := range numeric {
		if c.name == name {
			return i
		}
	}
	panic("report: no numeric column " + name)
}

// histogram counts values in bins of width from 0 to hi (hi in the last),
// and those above hi. Negative values are in neither.
func histogram(values []float64, hi, width float64) (counts []int, above int) {
	n := int(math.Round(hi / width))
	counts = make([]int, n)
	for _, v := range values {
		switch {
		case v > hi:
			above++
		case v >= 0:
			counts[min(int(v/width), n-1)]++
		}
	}
	return counts, above
}

// Summarize scores the month with the model, keeping the rides validation
// keeps, and keeps what the report compares other months with.
func Summarize(m model.Model, month Month) *Reference {
	rs, src := score(m, month)
	ref := &Reference{Source: src, PickupZones: drift.Counts(pickups(rs)), keys: map[feature.Key]bool{}}
	for _, k := range rs.key {
		ref.keys[k] = true
	}
	if src.Rides == 0 {
		return ref // Build says why it cannot compare with it
	}
	for _, c := range numeric {
		values := c.values(rs)
		plot, above := histogram(values, c.hi, c.width)
		ref.Columns = append(ref.Columns, ReferenceColumn{Name: c.name, Mean: metrics.Mean(values),
			Drift: drift.NewReference(values), Plot: plot, Above: above})
	}
	return ref
}

// JSON is the reference as indented JSON, each list of numbers (and the
// pickup zones' counts) on one line: small, and a diff shows what changed.
func (r *Reference) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return nil, err
	}
	b = numbers.ReplaceAllFunc(b, func(list []byte) []byte { return space.ReplaceAll(list, nil) })
	return append(b, '\n'), nil
}

var (
	// numbers are a list of numbers, or an object of numbers by number.
	numbers = regexp.MustCompile(`\[[-+.,0-9eE\s]*\]|\{[-+.,:"0-9eE\s]*\}`)
	space   = regexp.MustCompile(`\s+`)
)

// ReadReference reads a Reference's JSON form.
func ReadReference(b []byte) (*Reference, error) {
	var r Reference
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("the training month's statistics: %w", err)
	}
	if len(r.Columns) != len(numeric) {
		return nil, fmt.Errorf("the training month's statistics: %d numeric columns, want %d", len(r.Columns), len(numeric))
	}
	for i, c := range r.Columns {
		if c.Name != numeric[i].name {
			return nil, fmt.Errorf("the training month's statistics: column %d is %q, want %q", i, c.Name, numeric[i].name)
		}
	}
	return &r, nil
}

// pickups are the rides' PULocationIDs.
func pickups(r rides) []int64 {
	ids := make([]int64, len(r.key))
	for i, k := range r.key {
		ids[i] = int64(k.PU)
	}
	return ids
}
