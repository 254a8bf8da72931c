package wire_test

import (
	"fmt"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/wire"
)

// The original's ride event, then records the function refuses: each error
// names the field, in the producer's terms, and says what it must be. The
// original's forest reads float32 (generated.Precision).
func ExampleParseRideEvent() {
	ride, err := wire.ParseRideEvent([]byte(`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`), feature.Float32)
	if err != nil {
		panic(err)
	}
	fmt.Println(ride.PU, ride.DO, ride.Distance, string(ride.RideID), ride.PartitionKey())

	for _, record := range []string{
		`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": "3.66"}, "ride_id": 1}`,
		`{"ride": {"pulocationid": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 2}`,
		`Hi test 1`,
		`{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 1e39}, "ride_id": 3}`,
	} {
		_, err := wire.ParseRideEvent([]byte(record), feature.Float32)
		fmt.Println(err)
	}
	// Output:
	// 130 205 3.66 123 123
	// ride.trip_distance: must be a JSON number, got a string "3.66"
	// ride.PULocationID: missing (found "pulocationid": keys are case-sensitive)
	// record: not valid JSON: invalid character 'H' at start of value
	// ride.trip_distance: must be below 3.4028235677973366e+38 (the model reads float32), got 1e+39
}
