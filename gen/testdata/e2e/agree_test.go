// Package agree is a test TestEndToEnd adds to the packages of tabled
// links, renamed to each: on the rides of rides.txt, the trees (which end
// with linkOf) agree with Predict (the table).
package agree

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/rideduration/rideduration/feature"
)

func TestTreesAgree(t *testing.T) {
	rides, err := os.Open("rides.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer rides.Close()
	s := bufio.NewScanner(rides)
	n := 0
	for ; s.Scan(); n++ {
		var f feature.Features
		var bits uint64
		if _, err := fmt.Sscan(s.Text(), &f.PU, &f.DO, &bits); err != nil {
			t.Fatal(err)
		}
		f.Distance = math.Float64frombits(bits)
		if got, want := PredictTrees(f), Predict(f); math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("%+v: the trees give %v, Predict %v", f, got, want)
		}
	}
	if n == 0 {
		t.Fatal("no rides")
	}
}
