// Command prep turns TLC green taxi parquet files into the tables the Python
// trainer reads, with the features defined once, in package feature. It reads
// the files with package tlc, as backfill, replay and the report do.
//
//	prep -o build/train.csv testdata/green_tripdata_2022-01.parquet
//
// Each output row is one kept trip, in file order (row order matters: the
// forest's bootstrap samples are drawn by row index):
//
//	PULocationID,DOLocationID,PU_DO,trip_distance,duration
//
// Floats are written in Go's shortest round-trip form, which Python's float()
// reads back to the same bits.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/tlc"
)

func main() {
	out := flag.String("o", "", "output CSV file")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		log.Fatal("usage: prep -o table.csv trips.parquet...")
	}
	if err := run(*out, flag.Args()); err != nil {
		log.Fatal(err)
	}
}

func run(out string, inputs []string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "PULocationID,DOLocationID,PU_DO,trip_distance,duration")
	for _, in := range inputs {
		var trips tlc.Trips
		if err := tlc.ReadFile(in, &trips); err != nil {
			return err
		}
		kept, invalid := 0, 0
		for i := range trips.Len() {
			d, err := trips.Duration(i)
			if err != nil || !feature.Keep(d) {
				continue
			}
			x, err := trips.Features(i)
			if err != nil {
				// A trip the function would refuse (a null id, a negative
				// distance) is no training example either. None in 2022-01/02.
				invalid++
				continue
			}
			kept++
			var b []byte
			b = strconv.AppendInt(b, int64(x.PU), 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(x.DO), 10)
			b = append(b, ',')
			b = append(b, x.Key.String()...)
			b = append(b, ',')
			b = strconv.AppendFloat(b, x.Distance, 'g', -1, 64)
			b = append(b, ',')
			b = strconv.AppendFloat(b, d, 'g', -1, 64)
			b = append(b, '\n')
			w.Write(b)
		}
		log.Printf("%s: %d trips, %d kept (%g ≤ duration ≤ %g min), %d dropped for invalid features",
			in, trips.Len(), kept, feature.MinDuration, feature.MaxDuration, invalid)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
