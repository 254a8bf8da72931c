package training

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// linkTable is the export's link_table, as export.py's second pass writes it.
type linkTable struct {
	Function string
	Numpy    string
	CPU      []string
	Sums     []float64
	Values   []float64
}

// pyIn runs a Python script of the repository with py (from the
// repository's root), returning its output and whether it succeeded.
func pyIn(py string, args ...string) (string, error) {
	cmd := exec.Command(py, args...)
	cmd.Dir = ".."
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// goldenPredictions reads export.py's golden CSV's predictions.
func goldenPredictions(t *testing.T, path string) []float64 {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(readFile(t, path))).ReadAll()
	require.NoError(t, err)
	var out []float64
	for _, r := range rows[1:] {
		v, err := strconv.ParseFloat(r[3], 64)
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

// The exporter's second pass, in each environment: for a model whose link
// numpy computes, it adds to the first pass's export the library's own link
// of each sum asked for, here every validation ride's divided sum as the
// reference evaluator computes it; each ride's value in that table is the
// library's own prediction of the ride (the golden one), bit for bit, and the
// rest of the export is byte for byte the first pass's. A link whose last
// bit depends on a sum's position in the batch is refused, naming numpy and
// the CPU; so is a second pass given another model's export, or sums out of
// order.
func TestLinkTable(t *testing.T) {
	fitDir, _ := trained(t)
	valid := filepath.Join(fitDir, "valid.csv")
	for _, env := range libraryEnvs {
		t.Run(env.name, func(t *testing.T) {
			t.Parallel()
			py := env.python(t)
			dir := t.TempDir()
			names := []string{"hgb-poisson", "ttr-log", "ttr-log1p", "ttr-xgb"}
			numpy := "1.24."
			if env.name == "debian13" {
				names, numpy = append(names, "hgb-gamma"), "2.2."
			}
			args := []string{"training/kinds.py", "--train", filepath.Join(fitDir, "train.csv"), "--out", dir}
			for _, k := range names {
				args = append(args, "--kind", k)
			}
			out, err := pyIn(py, args...)
			require.NoError(t, err, out)
			for _, kind := range names {
				t.Run(kind, func(t *testing.T) {
					p := func(ext string) string { return filepath.Join(dir, kind+ext) }
					model := []string{"training/export.py", "--model", filepath.Join(dir, kind), "--export", p(".json")}
					out, err := pyIn(py, append(model, "--valid", valid, "--golden", p(".golden.csv"))...)
					require.NoError(t, err, out)
					assert.Regexp(t, `self-check: the export reproduces \S+ \S+'s predictions bit for bit \(\d+ validation rides`, out)
					first := readFile(t, p(".json"))
					out, err = pyIn(py, "training/testdata/link_sums.py", p(".json"), valid, p(".sums.json"), p(".rides.json"))
					require.NoError(t, err, out)

					out, err = pyIn(py, append(model, "--link-sums", p(".sums.json"))...)
					require.NoError(t, err, out)
					fn := "exp"
					if kind == "ttr-log1p" {
						fn = "expm1"
					}
					assert.Regexp(t, `(?m)^link: numpy `+strings.ReplaceAll(numpy, ".", `\.`)+`\S+'s `+fn+
						` \(CPU: [A-Z0-9_, ]+\) of the table's \d+ sums, computed by scikit-learn \S+'s own \S+; position-independent`, out)

					// The rest of the export is the first pass's, byte for byte.
					var before, after map[string]json.RawMessage
					require.NoError(t, json.Unmarshal(first, &before))
					require.NoError(t, json.Unmarshal(readFile(t, p(".json")), &after))
					var table linkTable
					require.NoError(t, json.Unmarshal(after["link_table"], &table))
					delete(after, "link_table")
					assert.Equal(t, before, after)
					assert.NotContains(t, string(readFile(t, p(".json"))), " ", "the JSON writer's: no whitespace")

					var ens struct{ Link string }
					require.NoError(t, json.Unmarshal(before["ensemble"], &ens))
					assert.Equal(t, "numpy."+fn, ens.Link)
					assert.Equal(t, "numpy."+fn, table.Function)
					assert.True(t, strings.HasPrefix(table.Numpy, numpy), table.Numpy)
					assert.NotEmpty(t, table.CPU)
					assert.True(t, sort.StringsAreSorted(table.CPU), "%v", table.CPU)

					var sums, rides []float64
					require.NoError(t, json.Unmarshal(readFile(t, p(".sums.json")), &sums))
					require.NoError(t, json.Unmarshal(readFile(t, p(".rides.json")), &rides))
					require.Equal(t, len(sums), len(table.Sums))
					require.Equal(t, len(sums), len(table.Values))
					at := map[uint64]float64{}
					for i, s := range sums {
						require.Equal(t, math.Float64bits(s), math.Float64bits(table.Sums[i]), "sum %d", i)
						at[math.Float64bits(s)] = table.Values[i]
					}
					golden := goldenPredictions(t, p(".golden.csv"))
					require.Len(t, rides, len(golden))
					differ := 0
					for i, s := range rides {
						v, ok := at[math.Float64bits(s)]
						require.True(t, ok, "ride %d's sum %v is not in the table", i, s)
						if math.Float64bits(v) != math.Float64bits(golden[i]) {
							if differ == 0 {
								t.Errorf("ride %d: the table's %v at sum %v, the library's prediction %v", i, v, s, golden[i])
							}
							differ++
						}
					}
					assert.Zero(t, differ, "rides whose table value is not the library's prediction")
					t.Logf("%s: %d rides, %d sums, numpy %s's %s (CPU %s)", kind, len(rides), len(sums), table.Numpy, fn, strings.Join(table.CPU, ","))
				})
			}

			// Refused: a link whose last bit depends on where the sum sits in the batch.
			out, err = pyIn(py, "training/testdata/link_position.py", filepath.Join(dir, "hgb-poisson"), filepath.Join(dir, "hgb-poisson.json"),
				filepath.Join(dir, "hgb-poisson.sums.json"))
			require.NoError(t, err, out)
			assert.Regexp(t, `(?m)^check: numpy `+strings.ReplaceAll(numpy, ".", `\.`)+`\S+'s exp on this CPU \([A-Z0-9_, ]+\) gives the sum \S+ the value \S+ in the batch of the table's \d+ sums and \S+ in the batch offset by one \(\d+ sums differ\): the kernel's result depends on the element's position in the batch, so no table can hold the library's prediction`, out)

			// Refused: another model's export; sums out of order.
			other := []string{"training/export.py", "--model", filepath.Join(dir, "ttr-log"), "--export", filepath.Join(dir, "hgb-poisson.json"),
				"--link-sums", filepath.Join(dir, "hgb-poisson.sums.json")}
			out, err = pyIn(py, other...)
			require.Error(t, err, out)
			assert.Regexp(t, `(?m)^check: the export is of model version [0-9a-f]{32}, this model is [0-9a-f]{32}: give the first pass's export of this model$`, out)
			unsorted := filepath.Join(dir, "unsorted.json")
			require.NoError(t, os.WriteFile(unsorted, []byte("[2,-0,1]"), 0o644))
			out, err = pyIn(py, "training/export.py", "--model", filepath.Join(dir, "hgb-poisson"), "--export", filepath.Join(dir, "hgb-poisson.json"),
				"--link-sums", unsorted)
			require.Error(t, err, out)
			assert.Contains(t, out, "check: "+unsorted+": sum 1, -0.0, after 2.0: want them strictly ascending\n")
		})
	}
}
