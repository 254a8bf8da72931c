package feature

import "time"

// Trip is the part of a TLC green taxi trip record (parquet row) the model uses.
// Every column is nullable in the TLC files.
type Trip struct {
	PULocationID *int64     `parquet:"PULocationID,optional"`
	DOLocationID *int64     `parquet:"DOLocationID,optional"`
	Pickup       *time.Time `parquet:"lpep_pickup_datetime,optional"`
	Dropoff      *time.Time `parquet:"lpep_dropoff_datetime,optional"`
	TripDistance *float64   `parquet:"trip_distance,optional"`
}

// The training filter: trips shorter than a minute or longer than an hour are
// dropped, as in the original.
const (
	MinDuration = 1.0  // minutes
	MaxDuration = 60.0 // minutes
)

// Duration is dropoff − pickup in minutes, computed exactly as the original's
// pandas code does (Minutes).
func (t Trip) Duration() (float64, error) {
	if t.Pickup == nil {
		return 0, &FieldError{Field: "lpep_pickup_datetime", Reason: "null"}
	}
	if t.Dropoff == nil {
		return 0, &FieldError{Field: "lpep_dropoff_datetime", Reason: "null"}
	}
	return Minutes(t.Dropoff.Sub(*t.Pickup).Microseconds()), nil
}

// Minutes converts a duration of us microseconds to minutes exactly as the
// original's pandas code does (Timedelta.total_seconds() / 60, pandas 1.5):
// whole seconds plus microseconds / 1e6, then / 60. Dividing the
// microseconds at once would differ in the last bit for some trips, and so
// would the trained leaves.
func Minutes(us int64) float64 {
	// Python's timedelta normalisation: seconds floor-divided, 0 ≤ micros < 1e6.
	secs, micros := us/1e6, us%1e6
	if micros < 0 {
		secs, micros = secs-1, micros+1e6
	}
	return (float64(secs) + float64(micros)/1e6) / 60
}

// Keep reports whether a duration passes the training filter.
func Keep(minutes float64) bool { return minutes >= MinDuration && minutes <= MaxDuration }

// Features returns the trip's model input. The error is a *FieldError
// naming the TLC column: "PULocationID: null", "trip_distance: must be ≥ 0,
// got -1.5".
func (t Trip) Features() (Features, error) {
	switch {
	case t.PULocationID == nil:
		return Features{}, &FieldError{Field: "PULocationID", Reason: "null"}
	case t.DOLocationID == nil:
		return Features{}, &FieldError{Field: "DOLocationID", Reason: "null"}
	case t.TripDistance == nil:
		return Features{}, &FieldError{Field: "trip_distance", Reason: "null"}
	}
	return New(*t.PULocationID, *t.DOLocationID, *t.TripDistance)
}
