// Package feature is the single definition of the model's input, shared by
// training preparation, serving and tests.
//
// A ride carries three values: its pickup and drop-off TLC location ids and
// its distance. A model sees them through DictVectorizer's columns
// (Columns): the original's PU_DO, the string "<PULocationID>_<DOLocationID>"
// one-hot, and trip_distance, a number; or the ids as categories or as
// numbers, in any combination.
//
// A Key holds the two ids as integers, so matching a ride to a one-hot column
// (Column.Match) needs no string building.
package feature

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Key is the PU_DO feature: pickup and drop-off TLC location ids.
type Key struct {
	PU, DO int32
}

// String renders the key as the training code did: "130_205".
func (k Key) String() string {
	return strconv.Itoa(int(k.PU)) + "_" + strconv.Itoa(int(k.DO))
}

// ParseKey parses "130_205" as '%s_%s' % (PU, DO) writes it: both ids
// positive integers, without a sign or leading zeros.
func ParseKey(s string) (Key, error) {
	pu, do, ok := strings.Cut(s, "_")
	if !ok {
		return Key{}, fmt.Errorf("PU_DO key %q: want <PULocationID>_<DOLocationID>", s)
	}
	p, err1 := parseID(pu)
	d, err2 := parseID(do)
	if err1 != nil || err2 != nil {
		return Key{}, fmt.Errorf("PU_DO key %q: ids must be positive integers, as a ride carries them", s)
	}
	return Key{PU: p, DO: d}, nil
}

// Features is one ride as the model sees it.
type Features struct {
	Key
	Distance float64 // trip_distance in miles: finite and ≥ 0
}

// New checks the values and returns the features of one ride.
// Location ids must be positive; the distance finite and not negative.
func New(pu, do int64, distance float64) (Features, error) {
	if err := checkID("PULocationID", pu); err != nil {
		return Features{}, err
	}
	if err := checkID("DOLocationID", do); err != nil {
		return Features{}, err
	}
	if math.IsNaN(distance) || math.IsInf(distance, 0) {
		return Features{}, &FieldError{Field: "trip_distance", Rule: "must be finite", Reason: fmt.Sprintf("must be finite, got %v", distance)}
	}
	if distance < 0 {
		return Features{}, &FieldError{Field: "trip_distance", Rule: "must be ≥ 0", Reason: fmt.Sprintf("must be ≥ 0, got %v", distance)}
	}
	return Features{Key: Key{PU: int32(pu), DO: int32(do)}, Distance: distance}, nil
}

func checkID(field string, id int64) error {
	if id <= 0 || id > math.MaxInt32 {
		const rule = "must be a positive integer location id"
		return &FieldError{Field: field, Rule: rule, Reason: fmt.Sprintf("%s, got %d", rule, id)}
	}
	return nil
}

// FieldError says which input field is wrong and why.
type FieldError struct {
	Field  string // e.g. "ride.trip_distance"
	Reason string // e.g. "must be ≥ 0, got -1.5"
	// Rule is Reason without the value ("must be ≥ 0"), when Reason shows
	// one: jobs that meet many bad records count them by Field and Rule.
	Rule string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Class is the error without the offending value, "trip_distance: must be
// ≥ 0", so that bad records can be counted by what is wrong with them.
func (e *FieldError) Class() string {
	if e.Rule != "" {
		return e.Field + ": " + e.Rule
	}
	return e.Field + ": " + e.Reason
}
