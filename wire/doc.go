// Package wire holds the two wire formats of the streams, the way
// aws-lambda-go's events package holds Lambda's:
//
//   - in, the ride event of the ride_events stream (RideEvent,
//     ParseRideEvent): parsing, limits and the errors a producer reads;
//   - out, the prediction event of the ride_prediction stream
//     (PredictionEvent, AppendJSON), and the dead letter of a record that is
//     not a ride (DeadLetter).
//
// It knows nothing of the model but the type the model reads numbers in
// (feature.Precision) and the location ids it reads as numbers
// (feature.NumberIDs), which ParseRideEventFor holds a ride to: feature
// defines the model's input, and a RideEvent makes its own PredictionEvent.
// Its errors are feature's *FieldError, naming the field in the producer's
// terms ("ride.trip_distance: must be a JSON number, got a string \"3.66\""),
// so that a value refused by feature.New reads the same here.
package wire
