// Command e2e is TestEndToEnd's program: built in a module with the
// generated packages below, it reads rides from standard input, one a line
// ("PU DO bits", the distance as its float64 bits), and prints each
// package's prediction for each, one a line ("package bits").
package main

import (
	"bufio"
	"fmt"
	"math"
	"os"

	"e2e/boostedflat"
	"e2e/boostedragged"
	"e2e/boostedtable"
	"e2e/boostedtrees"
	"e2e/gradientflat"
	"e2e/gradientragged"
	"e2e/gradienttable"
	"e2e/gradienttrees"
	"e2e/histogramflat"
	"e2e/histogramragged"
	"e2e/histogramtable"
	"e2e/histogramtrees"
	"e2e/loglinkflat"
	"e2e/loglinkragged"
	"e2e/loglinktable"
	"e2e/loglinktrees"
	"e2e/numpylinkragged"
	"e2e/numpylinktable"
	"e2e/smallflat"
	"e2e/smallragged"
	"e2e/smalltable"
	"e2e/smalltrees"

	"github.com/rideduration/rideduration/feature"
)

// packages are the generated packages, in name order.
var packages = []struct {
	name    string
	predict func(feature.Features) float64
}{
	{"boostedflat", boostedflat.Predict},
	{"boostedragged", boostedragged.Predict},
	{"boostedtable", boostedtable.Predict},
	{"boostedtrees", boostedtrees.Predict},
	{"gradientflat", gradientflat.Predict},
	{"gradientragged", gradientragged.Predict},
	{"gradienttable", gradienttable.Predict},
	{"gradienttrees", gradienttrees.Predict},
	{"histogramflat", histogramflat.Predict},
	{"histogramragged", histogramragged.Predict},
	{"histogramtable", histogramtable.Predict},
	{"histogramtrees", histogramtrees.Predict},
	{"loglinkflat", loglinkflat.Predict},
	{"loglinkragged", loglinkragged.Predict},
	{"loglinktable", loglinktable.Predict},
	{"loglinktrees", loglinktrees.Predict},
	{"numpylinkragged", numpylinkragged.Predict},
	{"numpylinktable", numpylinktable.Predict},
	{"smallflat", smallflat.Predict},
	{"smallragged", smallragged.Predict},
	{"smalltable", smalltable.Predict},
	{"smalltrees", smalltrees.Predict},
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var f feature.Features
		var bits uint64
		if _, err := fmt.Sscan(in.Text(), &f.PU, &f.DO, &bits); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		f.Distance = math.Float64frombits(bits)
		for _, p := range packages {
			fmt.Println(p.name, math.Float64bits(p.predict(f)))
		}
	}
}
