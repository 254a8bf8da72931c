package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	stdhtml "html"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"

	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/internal/atomicfs"
	"github.com/rideduration/rideduration/internal/golden"
	"github.com/rideduration/rideduration/metrics"
	"github.com/rideduration/rideduration/model"
	"github.com/rideduration/rideduration/tlc"
)

// tiny is a hand-made model: 2 minutes a mile, plus 3.
var tiny = model.Model{Name: "tiny", Version: "v1", Predict: func(f feature.Features) float64 { return 3 + 2*f.Distance }}

func readMonth(t *testing.T, name string) Month {
	t.Helper()
	m := Month{Name: name}
	require.NoError(t, tlc.ReadFile(filepath.Join("..", "testdata", name+".parquet"), &m.Trips))
	return m
}

// month is a month of hand-made trips.
func month(name string, trips ...feature.Trip) Month {
	m := Month{Name: name}
	for _, t := range trips {
		m.Trips.AppendTrip(t)
	}
	return m
}

// On February the report scores exactly train.py's validation rides, in
// order, and with sklearn's own predictions (the golden file, as a model)
// its RMSE is train.py's to the bit.
func TestFebruaryRMSEIsTrainPys(t *testing.T) {
	rows, err := golden.Load()
	require.NoError(t, err)
	sklearn := make(map[feature.Features]float64, len(rows))
	for _, r := range rows {
		sklearn[r.Features] = r.Prediction
	}
	m := model.Model{Name: "golden", Predict: func(f feature.Features) float64 {
		if p, ok := sklearn[f]; ok {
			return p
		}
		return 10 // a January ride: not in the golden file
	}}
	r, err := Build(Config{Model: m}, readMonth(t, "green_tripdata_2022-02"), Summarize(m, readMonth(t, "green_tripdata_2022-01")))
	require.NoError(t, err)

	require.Len(t, r.cur.key, len(rows))
	for i, row := range rows {
		require.Equal(t, row.Features, feature.Features{Key: r.cur.key[i], Distance: r.cur.distance[i]}, "ride %d", i)
	}
	assert.Equal(t, math.Float64bits(6.101201727016494), math.Float64bits(r.RMSE), "RMSE %v", r.RMSE)
	assert.Equal(t, Source{Name: "green_tripdata_2022-02", Trips: 69399, Rides: 66097,
		Excluded: map[string]int{"duration_outside_1_60": 3302}}, r.Data)
	assert.Equal(t, 59603, r.Train.Rides)
	assert.Equal(t, "training month", r.Drift.UnseenKeys.Vocabulary)
	assert.Positive(t, r.Drift.UnseenKeys.Share)
}

var day1 = time.Date(2022, 2, 1, 8, 0, 0, 0, time.UTC)

// trip is a trip of the given minutes, starting day days after day1.
func trip(pu, do int64, dist float64, day int, minutes float64) feature.Trip {
	start := day1.AddDate(0, 0, day)
	end := start.Add(time.Duration(minutes * float64(time.Minute)))
	return feature.Trip{PULocationID: &pu, DOLocationID: &do, TripDistance: &dist, Pickup: &start, Dropoff: &end}
}

func TestBuild(t *testing.T) {
	noDrop := trip(74, 75, 1, 0, 10)
	noDrop.Dropoff = nil
	noPU := trip(74, 75, 1, 0, 10)
	noPU.PULocationID = nil
	data := month("feb",
		trip(74, 75, 0.5, 0, 5),  // Manhattan, 0–1 mi: predicted 4
		trip(74, 75, 1.5, 0, 6),  // 1–2 mi: 6
		trip(1, 1, 25, 1, 50),    // EWR, ≥ 20 mi: 53
		trip(999, 74, 4, 1, 12),  // not in the zone lookup, 3–5 mi: 11
		trip(74, 76, 2.5, 1, 60), // unseen key, 2–3 mi: 8
		noDrop,
		trip(74, 75, 1, 0, 0.5),
		trip(74, 75, 1, 0, 61),
		trip(74, 75, -1, 0, 10),
		noPU,
	)
	train := month("jan",
		trip(74, 75, 0.7, 0, 7), trip(1, 1, 20, 0, 45), trip(999, 74, 3, 0, 15), trip(74, 75, 1.1, 0, 30),
	)
	r, err := Build(Config{Model: tiny}, data, Summarize(tiny, train))
	require.NoError(t, err)

	assert.Equal(t, Model{"tiny", "v1"}, r.Model)
	assert.Equal(t, Source{Name: "feb", Trips: 10, Rides: 5,
		Excluded:     map[string]int{"no_duration": 1, "duration_outside_1_60": 2, "invalid_features": 2},
		FirstInvalid: "trip 8: trip_distance: must be ≥ 0, got -1"}, r.Data)
	assert.Equal(t, 4, r.Train.Rides)

	actual, predicted := []float64{5, 6, 50, 12, 60}, []float64{4, 6, 53, 11, 8}
	q := metrics.Regress(actual, predicted)
	assert.Equal(t, 5, r.Count)
	assert.Equal(t, q.RMSE, r.RMSE)
	assert.Equal(t, q.MAE, r.MAE)
	assert.Equal(t, Nullable(q.R2), r.R2)
	assert.Equal(t, q.MeanError, r.MeanError)

	names := func(gs []Group) (ns []string) {
		for _, g := range gs {
			ns = append(ns, g.Name)
		}
		return ns
	}
	assert.Equal(t, []string{"0–1 mi", "1–2 mi", "2–3 mi", "3–5 mi", "≥ 20 mi"}, names(r.ByDistance), "bands in order, empty ones left out")
	assert.Equal(t, []string{"Manhattan", "EWR", "Unknown"}, names(r.ByPickupBorough), "largest first, then by name")
	assert.Equal(t, []string{"2022-02-01", "2022-02-02"}, names(r.ByDay))
	assert.Equal(t, Group{Name: "2022-02-01", Count: 2, RMSE: math.Sqrt(0.5), MAE: 0.5, MeanError: -0.5}, r.ByDay[0])
	assert.Equal(t, Group{Name: "≥ 20 mi", Count: 1, RMSE: 3, MAE: 3, MeanError: 3}, r.ByDistance[4])

	// Without the model's vocabulary, the training month's keys: 74_76 is new
	// (predicted 8, 60 minutes long).
	assert.Equal(t, Unseen{Features: []string{"PU_DO"}, Vocabulary: "training month", Rides: 1, Share: 0.2, Keys: 1,
		RMSE: 52, MeanError: -52}, r.Drift.UnseenKeys)
	// The model's own categorical features name what is unseen.
	unseenWith := func(columns ...string) Unseen {
		vocab, err := feature.NewColumns(columns)
		require.NoError(t, err)
		r, err := Build(Config{Model: tiny, Columns: vocab}, data, Summarize(tiny, train))
		require.NoError(t, err)
		return r.Drift.UnseenKeys
	}
	q = metrics.Regress([]float64{50, 12, 60}, []float64{53, 11, 8}) // 1_1, 999_74, 74_76
	assert.Equal(t, Unseen{Features: []string{"PU_DO"}, Vocabulary: "model", Rides: 3, Share: 0.6, Keys: 3,
		RMSE: q.RMSE, MeanError: q.MeanError}, unseenWith("PU_DO=74_75", "trip_distance"))
	u := unseenWith("PULocationID=74", "PULocationID=1", "DOLocationID=75", "DOLocationID=1", "trip_distance")
	assert.Equal(t, []string{"PULocationID", "DOLocationID"}, u.Features)
	assert.Equal(t, "PULocationID or DOLocationID", u.FeatureNames())
	assert.Equal(t, 2, u.Rides, "999_74 and 74_76")
	assert.Equal(t, Unseen{Features: []string{}, Vocabulary: "model"}, unseenWith("PULocationID", "DOLocationID", "trip_distance"),
		"ids read as numbers: no key is unseen")

	require.Len(t, r.Drift.Columns, 3)
	assert.Equal(t, []string{"trip_distance", "prediction", "duration"},
		[]string{r.Drift.Columns[0].Name, r.Drift.Columns[1].Name, r.Drift.Columns[2].Name})
	assert.Equal(t, 0.1, r.Drift.Moderate)
	assert.Equal(t, 0.25, r.Drift.Significant)
	z := r.Drift.PickupZones
	require.Len(t, z.MovedMost, 3, "every pickup zone of either month, when fewer than 10")
	// Manhattan 74: 2 of 4 → 3 of 5 (+0.1); EWR 1: 1/4 → 1/5; 999: 1/4 → 1/5.
	was, is := 0.5, 0.6 // variables: a constant difference would be exact
	assert.Equal(t, ZoneShare{LocationID: 74, Zone: "East Harlem North", Borough: "Manhattan",
		TrainShare: was, Share: is, Change: is - was}, z.MovedMost[0])
}

// The plateau is the prediction the most rides share: here the rides of 0
// miles, each predicted 3 minutes whatever their duration.
func TestPlateau(t *testing.T) {
	data := month("feb", trip(74, 75, 0, 0, 3), trip(74, 75, 0, 0, 13), trip(74, 76, 0, 1, 33), trip(74, 75, 1, 0, 5), trip(74, 75, 2, 0, 7))
	r, err := Build(Config{Model: tiny}, data, Summarize(tiny, data))
	require.NoError(t, err)
	q := metrics.Regress([]float64{3, 13, 33}, []float64{3, 3, 3})
	assert.Equal(t, Plateau{Prediction: 3, Rides: 3, Share: 0.6, ZeroDistance: 3, RMSE: q.RMSE, MAE: q.MAE, MeanError: q.MeanError}, r.Plateau)
	assert.True(t, r.Plateau.Shown())

	var b strings.Builder
	require.NoError(t, r.Summary(&b))
	assert.Contains(t, b.String(), "  plateau: 3 rides (60.0%) predicted 3.0000 min, 3 of them with trip_distance 0: RMSE 18.257, mean error -13.333 min\n")
	assert.Contains(t, b.String(), "  trip_distance  PSI 0.000  no drift     (median 0.000 → 0.000, mean 0.600 → 0.600; moved by 0.000)\n")
	page, err := r.Page()
	require.NoError(t, err)
	assert.Contains(t, string(page), "<b>A flat band at 3.000 minutes</b>")
}

func TestBuildErrors(t *testing.T) {
	good := month("jan", trip(74, 75, 1, 0, 10))
	short := month("feb", trip(74, 75, 1, 0, 0.2))
	_, err := Build(Config{Model: tiny}, short, Summarize(tiny, good))
	assert.EqualError(t, err, "report: the month feb has no trip with a duration of 1 to 60 minutes and valid features (1 trip read; excluded: 1 duration_outside_1_60)")
	_, err = Build(Config{Model: tiny}, good, Summarize(tiny, Month{Name: "dec"}))
	assert.ErrorContains(t, err, "the training month dec has no trip")
	_, err = Build(Config{}, good, Summarize(tiny, good))
	assert.Error(t, err)
}

// Write writes metrics.json with every documented field, and one page that
// holds its six plots as PNG data: URIs and fetches nothing.
func TestWrite(t *testing.T) {
	data := Month{Name: "feb"}
	train := Month{Name: "jan"}
	for i := range 500 {
		d := float64(i%40) / 4
		data.Trips.AppendTrip(trip(int64(i%9+1), int64(i%7+1), d, i%20, 2+3*d+float64(i%5)))
		train.Trips.AppendTrip(trip(int64(i%8+1), int64(i%7+1), d*0.9, i%20, 2+3*d))
	}
	r, err := Build(Config{Model: tiny}, data, Summarize(tiny, train))
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "out")
	require.NoError(t, r.Write(atomicfs.OS, dir))

	var m map[string]any
	b, err := os.ReadFile(filepath.Join(dir, MetricsFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &m))
	for _, k := range []string{"model", "data", "train", "count", "rmse", "mae", "r2", "mean_error",
		"by_distance", "by_pickup_borough", "by_day", "drift"} {
		assert.Contains(t, m, k)
	}
	assert.Equal(t, 500.0, m["count"])
	drift := m["drift"].(map[string]any)
	for _, k := range []string{"moderate", "significant", "unseen_keys", "columns", "pickup_zones"} {
		assert.Contains(t, drift, k)
	}

	page, err := os.ReadFile(filepath.Join(dir, PageFile))
	require.NoError(t, err)
	html := string(page)
	srcs := regexp.MustCompile(`<img src="data:image/png;base64,([^"]+)"`).FindAllStringSubmatch(html, -1)
	require.Len(t, srcs, 6)
	for _, s := range srcs {
		raw, err := base64.StdEncoding.DecodeString(stdhtml.UnescapeString(s[1]))
		require.NoError(t, err)
		cfg, err := png.DecodeConfig(bytes.NewReader(raw))
		require.NoError(t, err)
		assert.Equal(t, [2]int{810, 540}, [2]int{cfg.Width, cfg.Height})
	}
	for _, remote := range []string{"http://", "https://", "<script", "<link", "url("} {
		assert.NotContains(t, html, remote, "the page is self-contained")
	}
	assert.Equal(t, 1, strings.Count(html, "<html"))

	var out strings.Builder
	require.NoError(t, r.Summary(&out))
	assert.True(t, strings.HasPrefix(out.String(), "feb: 500 rides scored of 500 trips\n  RMSE "), out.String())
}

// R² of a single ride is undefined: null in metrics.json, n/a on the page.
func TestOneRide(t *testing.T) {
	one := month("one", trip(74, 75, 1, 0, 10))
	r, err := Build(Config{Model: tiny}, one, Summarize(tiny, one))
	require.NoError(t, err)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"r2":null`)
	page, err := r.Page()
	require.NoError(t, err)
	assert.Contains(t, string(page), "<b>n/a</b><span>R²</span>")
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 66097: "66,097", 1234567: "1,234,567", -4500: "-4,500"} {
		assert.Equal(t, want, thousands(n))
	}
}

// record draws a figure's plot as encode does, into a recorder, and returns
// the canvas the plot was drawn in.
func record(p *plot.Plot) (*recorder.Canvas, draw.Canvas) {
	rec := &recorder.Canvas{}
	c := draw.Canvas{Canvas: rec, Rectangle: vg.Rectangle{Max: vg.Point{X: plotWidth, Y: plotHeight}}}
	return rec, layout(c, part{p, plotWidth})[0]
}

// texts are the strings drawn.
func texts(rec *recorder.Canvas) []string {
	var ss []string
	for _, a := range rec.Actions {
		if fs, ok := a.(*recorder.FillString); ok {
			ss = append(ss, fs.String)
		}
	}
	return ss
}

// sameTrips is n identical 5-minute rides that tiny predicts exactly.
func sameTrips(name string, n int) Month {
	m := Month{Name: name}
	for range n {
		m.Trips.AppendTrip(trip(74, 75, 1, 0, 5))
	}
	return m
}

// Tick labels are whole numbers when the ticks are whole: 5,500 rides of
// the same error make gonum's ticks 0, 2500 and 5000, which it writes
// with two decimals.
func TestResidualTicksAreWhole(t *testing.T) {
	data := sameTrips("feb", 5500)
	r, err := Build(Config{Model: tiny}, data, Summarize(tiny, data))
	require.NoError(t, err)
	p, _, err := r.residualPlot()
	require.NoError(t, err)
	rec, _ := record(p)
	drawn := texts(rec)
	for _, label := range []string{"0", "2500", "5000", "-30", "30"} {
		assert.Contains(t, drawn, label)
	}
	for _, s := range drawn {
		assert.NotRegexp(t, `^-?[0-9]+\.0+$`, s, "a whole tick written with decimals")
	}

	labels := func(ts []plot.Tick) (ls []string) {
		for _, t := range ts {
			if t.Label != "" {
				ls = append(ls, t.Label)
			}
		}
		return ls
	}
	assert.Equal(t, []string{"0.00", "2500.00", "5000.00"}, labels(plot.DefaultTicks{}.Ticks(0, 5500)), "gonum's labels")
	assert.Equal(t, []string{"0", "2500", "5000", "7500"}, labels(wholeTicks{}.Ticks(0, 7500)))
	assert.Equal(t, []string{"-2.50", "0.00", "2.50"}, labels(wholeTicks{}.Ticks(-2.5, 2.5)), "not every tick whole: gonum's labels")
}

// A legend has a band of its own above the data, so that it covers none
// (the predicted durations' spike ran under it), and its lines end inside
// the image, not at its edge.
func TestLegendLayout(t *testing.T) {
	data, train := readMonth(t, "green_tripdata_2022-02"), readMonth(t, "green_tripdata_2022-01")
	r, err := Build(Config{Model: tiny}, data, Summarize(tiny, train))
	require.NoError(t, err)
	day, _, _, err := r.dayPlot()
	require.NoError(t, err)
	plots := map[string]*plot.Plot{"day": day}
	entries := map[string][]string{"day": {"day", fmt.Sprintf("month: %.3f", r.RMSE)}}
	for _, c := range numeric {
		p, _, err := r.distributionPlot(c.name, c.name, column(c.name))
		require.NoError(t, err)
		plots[c.name] = p
		entries[c.name] = []string{"training: green_tripdata_2022-01", "this month: green_tripdata_2022-02"}
	}
	for name, p := range plots {
		rec, c := record(p)
		top := p.DataCanvas(c).Max.Y
		var found []string
		thumbs := 0
		for _, a := range rec.Actions {
			switch a := a.(type) {
			case *recorder.FillString:
				if slices.Contains(entries[name], a.String) {
					found = append(found, a.String)
					assert.GreaterOrEqual(t, a.Point.Y, top, "%s: %q is over the data", name, a.String)
				}
			case *recorder.Stroke:
				lowest, right := a.Path[0].Pos.Y, a.Path[0].Pos.X
				for _, pc := range a.Path {
					lowest, right = min(lowest, pc.Pos.Y), max(right, pc.Pos.X)
				}
				if lowest > top { // above the data: a legend's line
					thumbs++
					assert.LessOrEqual(t, right, plotWidth-vg.Points(4), "%s: a legend's line ends at the image's edge", name)
				}
			}
		}
		assert.ElementsMatch(t, entries[name], found, name)
		assert.Positive(t, thumbs, name)
	}
}
