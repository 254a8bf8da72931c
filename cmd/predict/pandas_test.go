package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// readBackInPython reads the CSV file argv[1] with Python, as a user of
// backfill's output would: csv and float(), and pandas.read_csv by default
// and with float_precision="round_trip". It prints, as JSON, pandas'
// version and, for each way, each float column's values as float.hex.
const readBackInPython = `
import csv, json, sys
import pandas
path = sys.argv[1]
cols = ("trip_distance", "duration", "ride_duration")
with open(path, newline="") as f:
    rows = list(csv.DictReader(f))
ways = {"float()": {c: [float(r[c]).hex() for r in rows] for c in cols}}
for way, precision in (("read_csv(path)", None), ('read_csv(path, float_precision="round_trip")', "round_trip")):
    df = pandas.read_csv(path, float_precision=precision)
    ways[way] = {c: [float(v).hex() for v in df[c]] for c in cols}
json.dump({"pandas": pandas.__version__, "ways": ways}, sys.stdout)
`

// backfill's CSV, read back in Python: float() and pandas' round_trip
// reader give every float's bits; pandas' default reader is off on some,
// as docs/batch.md says, with its figures for Debian 12's pandas.
func TestBackfillCSVInPython(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import pandas").Run(); err != nil {
		testenv.Missing(t, "Debian's python3 with pandas (apt-get install python3-pandas: make deps)")
	}
	t.Setenv("RUN_ID", "")
	path := filepath.Join(t.TempDir(), "feb.csv")
	code, _, stderr := predict(t, "", "backfill", "-o", path, february)
	require.Equal(t, 0, code, stderr)
	rows := readCSV(t, path)

	out, err := exec.Command(python, "-c", readBackInPython, path).Output()
	require.NoError(t, err)
	var read struct {
		Pandas string
		Ways   map[string]map[string][]string
	}
	require.NoError(t, json.Unmarshal(out, &read))
	doc, err := os.ReadFile(filepath.Join(testenv.Root(t), "docs", "batch.md"))
	require.NoError(t, err)
	for way, cols := range read.Ways {
		for col, values := range cols {
			require.Len(t, values, len(rows), "%s %s", way, col)
			off, most := 0, int64(0)
			for i, r := range rows {
				want := map[string]float64{"trip_distance": r.TripDistance, "duration": r.Duration, "ride_duration": r.RideDuration}[col]
				got, err := strconv.ParseFloat(values[i], 64)
				require.NoError(t, err)
				// Positive floats: the distance of their bits is the distance in ulps.
				if d := int64(math.Float64bits(got)) - int64(math.Float64bits(want)); d != 0 {
					off++
					most = max(most, d, -d)
				}
			}
			t.Logf("pandas %s, %s: %s: %d of %d values off, by at most %d ulps", read.Pandas, way, col, off, len(rows), most)
			switch {
			case way != "read_csv(path)":
				assert.Zero(t, off, "%s: %s", way, col)
			case read.Pandas == "1.5.3" && off > 0:
				figure := regexp.MustCompile(regexp.QuoteMeta(fmt.Sprintf("%s `%s`", thousands(off), col)) +
					" values[^;]*?, by at most " + strconv.FormatInt(most, 10) + " ulps")
				assert.Regexp(t, figure, strings.Join(strings.Fields(string(doc)), " "), "docs/batch.md's figure for %s", col)
			case read.Pandas == "1.5.3":
				assert.Contains(t, string(doc), "`"+col+"`, with at most two decimals, comes back exact")
			}
		}
	}
	assert.Contains(t, string(doc), "pandas.read_csv(path, float_precision=\"round_trip\")")
}

// thousands writes n with commas between thousands (11,320).
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
