package wire

import (
	"testing"

	"github.com/rideduration/rideduration/feature"
)

// BenchmarkParseRideEvent parses one ride event: the usual shape (the fast
// path) and a shape only the full parser reads (an id written 130.0, an
// extra field).
func BenchmarkParseRideEvent(b *testing.B) {
	for _, bc := range []struct{ name, data string }{
		{"usual", `{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}`},
		{"unusual", `{"ride": {"PULocationID": 130.0, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": "abc-123", "source": "app"}`},
	} {
		data := []byte(bc.data)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseRideEvent(data, feature.Float32); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
