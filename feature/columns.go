package feature

import (
	"fmt"
	"strconv"
	"strings"
)

// The ride values a model column can read, named as the original's
// DictVectorizer saw them.
const (
	PUDO         = "PU_DO"
	PULocationID = "PULocationID"
	DOLocationID = "DOLocationID"
	TripDistance = "trip_distance"
)

// Input is the ride value a column reads.
type Input uint8

const (
	InputPUDO     Input = iota // the key PU_DO: one-hot only
	InputPU                    // PULocationID
	InputDO                    // DOLocationID
	InputDistance              // trip_distance: a number only
)

// Inputs names each Input as DictVectorizer's feature does.
var Inputs = [...]string{InputPUDO: PUDO, InputPU: PULocationID, InputDO: DOLocationID, InputDistance: TripDistance}

func (in Input) String() string { return Inputs[in] }

// Column is one of a DictVectorizer's feature_names_, as a ride feeds it.
//
// A one-hot column ("PU_DO=130_205", "PULocationID=130") is 1 when the ride's
// value is the column's category and 0 (or absent, in a sparse row) when it
// is not; a numeric column ("PULocationID", "trip_distance") is the ride's
// value itself.
type Column struct {
	Name   string
	Input  Input
	OneHot bool
	// Category is the one-hot column's value: the PU_DO key, or the
	// location id in Category.PU (PULocationID) or Category.DO
	// (DOLocationID). See Match.
	Category Key
}

// Match reports whether a one-hot column is hot for the ride.
func (c *Column) Match(f Features) bool {
	switch c.Input {
	case InputPUDO:
		return f.Key == c.Category
	case InputPU:
		return f.PU == c.Category.PU
	case InputDO:
		return f.DO == c.Category.DO
	}
	return false
}

// Number is a numeric column's value for the ride.
func (c *Column) Number(f Features) float64 {
	switch c.Input {
	case InputPU:
		return float64(f.PU)
	case InputDO:
		return float64(f.DO)
	}
	return f.Distance
}

// Columns are a model's columns: DictVectorizer.feature_names_, each
// checked to be something a ride event carries.
type Columns []Column

// NewColumns parses DictVectorizer's feature_names_. A name a ride cannot
// feed is an error naming it: another feature ("fare_amount"), a category
// that is not a location id as a ride carries it ("PULocationID=130.0"), a
// repeated column.
func NewColumns(names []string) (Columns, error) {
	cols := make(Columns, len(names))
	seen := make(map[string]int, len(names))
	for i, name := range names {
		c, err := parseColumn(name)
		if err != nil {
			return nil, fmt.Errorf("feature %d %q: %w", i, name, err)
		}
		if j, ok := seen[name]; ok {
			return nil, fmt.Errorf("feature %d %q repeats feature %d", i, name, j)
		}
		seen[name] = i
		cols[i] = c
	}
	var category, number [len(Inputs)]string // a column of each form, per input
	for _, c := range cols {
		if c.OneHot {
			category[c.Input] = c.Name
		} else {
			number[c.Input] = c.Name
		}
		if category[c.Input] != "" && number[c.Input] != "" {
			return nil, fmt.Errorf("features %q and %q: %s is a category in one and a number in the other; a model's DictVectorizer saw it as one or the other",
				category[c.Input], number[c.Input], c.Input)
		}
	}
	return cols, nil
}

// Supported says which features a ride carries, for error messages.
const Supported = `a ride event carries "PU_DO=<PULocationID>_<DOLocationID>", "PULocationID=<id>" and "DOLocationID=<id>" (categories), "PULocationID", "DOLocationID" and "trip_distance" (numbers)`

func parseColumn(name string) (Column, error) {
	input, category, oneHot := strings.Cut(name, "=")
	c := Column{Name: name, OneHot: oneHot}
	switch input {
	case PUDO:
		c.Input = InputPUDO
		if !oneHot {
			return c, fmt.Errorf("PU_DO is a category (PU_DO=<PU>_<DO>), not a number")
		}
		k, err := ParseKey(category)
		if err != nil {
			return c, err
		}
		c.Category = k
	case PULocationID, DOLocationID:
		c.Input = InputPU
		if input == DOLocationID {
			c.Input = InputDO
		}
		if oneHot {
			id, err := parseID(category)
			if err != nil {
				return c, fmt.Errorf("%s category %q: %w", input, category, err)
			}
			if c.Input == InputPU {
				c.Category.PU = id
			} else {
				c.Category.DO = id
			}
		}
	case TripDistance:
		c.Input = InputDistance
		if oneHot {
			return c, fmt.Errorf("trip_distance is a number, not a category")
		}
	default:
		return c, fmt.Errorf("not something a ride event carries: %s", Supported)
	}
	return c, nil
}

// parseID parses a location id as str() writes a ride's: a positive integer,
// no sign, no leading zero, no decimals ("130", not "130.0").
func parseID(s string) (int32, error) {
	id, err := strconv.ParseInt(s, 10, 32)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, fmt.Errorf("not a location id as a ride carries it (a positive integer, as str(130) writes it)")
	}
	return int32(id), nil
}

// Categories are the categories a model's one-hot columns hold, by input.
type Categories struct {
	has  [3]bool // some column is a category of the input
	keys map[Key]bool
	pu   map[int32]bool
	do   map[int32]bool
}

// Categories returns the columns' categories.
func (cs Columns) Categories() *Categories {
	c := &Categories{keys: map[Key]bool{}, pu: map[int32]bool{}, do: map[int32]bool{}}
	for _, col := range cs {
		if !col.OneHot {
			continue
		}
		c.has[col.Input] = true
		switch col.Input {
		case InputPUDO:
			c.keys[col.Category] = true
		case InputPU:
			c.pu[col.Category.PU] = true
		case InputDO:
			c.do[col.Category.DO] = true
		}
	}
	return c
}

// Seen reports whether every category of the key is one the columns hold:
// its PU_DO key, when there are PU_DO columns, its PULocationID when there
// are PULocationID categories, and so on. A key that is not seen takes the
// trees' "none of these" branches, as DictVectorizer ignores what it did
// not see in training.
func (c *Categories) Seen(k Key) bool {
	return (!c.has[InputPUDO] || c.keys[k]) && (!c.has[InputPU] || c.pu[k.PU]) && (!c.has[InputDO] || c.do[k.DO])
}

// Inputs are the inputs the columns hold categories of (PU_DO, or
// PULocationID and DOLocationID as one-hot), in Input order: the ones a
// ride's key can be unseen in.
func (c *Categories) Inputs() []Input {
	var ins []Input
	for in, has := range c.has {
		if has {
			ins = append(ins, Input(in))
		}
	}
	return ins
}

// Names returns the columns' names, as DictVectorizer's feature_names_.
func (cs Columns) Names() []string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return names
}

// NumberIDs is a set of the location ids a model reads as numbers: those
// with a column "PULocationID" or "DOLocationID", not "PULocationID=130".
// A ride that sends such an id as a string is a bad record: the original's
// DictVectorizer one-hots a string value ("PULocationID=130"), a column
// such a model does not have, and scores the ride as if the id were 0. An
// id read as a key (PU_DO, '%s_%s') or a category (str) is the same from
// "130" as from 130.
type NumberIDs uint8

const (
	PUNumber NumberIDs = 1 << iota // PULocationID is a number column
	DONumber                       // DOLocationID is a number column
)

// NumberIDsOf returns the ids that columns named names (DictVectorizer's
// feature_names_) read as numbers. It only compares names, so it is cheap
// enough for a model's start.
func NumberIDsOf(names []string) NumberIDs {
	var n NumberIDs
	for _, name := range names {
		switch name {
		case PULocationID:
			n |= PUNumber
		case DOLocationID:
			n |= DONumber
		}
	}
	return n
}
