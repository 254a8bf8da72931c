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
	"errors"
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

// Precision is the floating-point type a model reads its numbers in, the
// export's ensemble "input": the libraries convert a ride's values to it
// before they check them and walk the trees. A ride value that type cannot
// hold is refused by the library, and so it is a bad record here, not a
// prediction (Check).
type Precision uint8

const (
	// Float64: scikit-learn's HistGradientBoosting. Every value New
	// accepts is a finite float64.
	Float64 Precision = iota
	// Float32: scikit-learn's trees, forests and gradient boosting (their
	// DTYPE), and XGBoost's DMatrix.
	Float32
)

func (p Precision) String() string {
	if p == Float32 {
		return "float32"
	}
	return "float64"
}

// Float32Overflow is the least float64 magnitude that is not finite as a
// float32: 2^128 − 2^103, halfway between math.MaxFloat32 and 2^128, which
// round-to-nearest-even (numpy's astype, the libraries' conversion) takes
// up to 2^128, +Inf. Every float64 of smaller magnitude, including the
// float64s just above math.MaxFloat32, rounds to a finite float32.
const Float32Overflow = 0x1.ffffffp127

// float32Rule is Check's rule for a float32 model.
var float32Rule = "must be below " + strconv.FormatFloat(Float32Overflow, 'g', -1, 64) + " (the model reads float32)"

// Check refuses features that a model reading numbers in p cannot take,
// as its library does: for Float32, a trip_distance of Float32Overflow or
// more, which scikit-learn refuses ("Input X contains infinity or a value
// too large for dtype('float32')") and XGBoost too ("Input data contains
// `inf` or `nan`"). The error is a *FieldError naming trip_distance. New's
// rules come first: a negative distance is refused by those.
func (p Precision) Check(f Features) error {
	if p == Float32 && math.Abs(f.Distance) >= Float32Overflow {
		return &FieldError{Field: "trip_distance", Rule: float32Rule, Reason: fmt.Sprintf("%s, got %v", float32Rule, f.Distance)}
	}
	return nil
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

// Class is err's class for counting bad inputs: FieldError.Class when err
// is or wraps a *FieldError, else its whole text.
func Class(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Class()
	}
	return err.Error()
}
