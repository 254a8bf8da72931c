// Package report tells how good the model is on a month of real trips and
// how far that month drifted from the training month: the quality figures
// (computed as train.py computes them, to the bit), the drift scores, a JSON
// file of them (metrics.json) and one self-contained HTML page with tables
// and plots (index.html).
//
// It scores the trips whose duration is known and 1 to 60 minutes long, as
// validation does (feature.Keep), with the model it is given: the rides of
// February 2022 are exactly train.py's validation rows, in the same order,
// so the RMSE is train.py's 6.101201727016494.
//
// The training month is a Reference: what the report needs of it, made from
// its trips (Summarize) or read from its JSON form (ReadReference), a few
// KB that a program can carry in place of the month's file.
package report

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rideduration/rideduration/drift"
	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/metrics"
	"github.com/rideduration/rideduration/model"
	"github.com/rideduration/rideduration/tlc"
	"github.com/rideduration/rideduration/zones"
)

// Month is a set of trips: one TLC file or several (tlc.ReadFile).
type Month struct {
	Name  string // what the page calls it, e.g. "green_tripdata_2022-02"
	Trips tlc.Trips
}

// Config is what the report is computed with.
type Config struct {
	Model model.Model
	// Columns are the model's columns, whose categories define the keys the
	// model saw. When nil, the training month's keys stand for them: the
	// same set when the model was trained on that month with the same
	// filter, as the compiled one was.
	Columns feature.Columns
}

// Report is the content of metrics.json (the JSON names are the fields'
// tags) and of the page. Errors are prediction − actual, in minutes.
type Report struct {
	Model Model `json:"model"`
	// Data is the month reported on, Train the training month it is compared with.
	Data  Source `json:"data"`
	Train Source `json:"train"`

	// Quality over Data's rides: count, RMSE, MAE, R², bias (mean error).
	Count     int      `json:"count"`
	RMSE      float64  `json:"rmse"`
	MAE       float64  `json:"mae"`
	R2        Nullable `json:"r2"`
	MeanError float64  `json:"mean_error"`

	// The same by trip distance band (Bands), by pickup borough (largest
	// first; zones.Lookup) and by pickup day (the date as the file records
	// it, in order).
	ByDistance      []Group `json:"by_distance"`
	ByPickupBorough []Group `json:"by_pickup_borough"`
	ByDay           []Group `json:"by_day"`

	// Plateau is the prediction the most rides share, and their quality:
	// a flat band in the predicted-vs-actual plot.
	Plateau Plateau `json:"plateau"`

	Drift Drift `json:"drift"`

	cur   rides      // the month's scored rides, for the plots
	train *Reference // the training month, for the plots
}

// Model names the model reported on.
type Model struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Source says what was read from a month and what was scored.
type Source struct {
	Name  string `json:"name"`
	Trips int    `json:"trips"` // rows read
	Rides int    `json:"rides"` // scored: duration 1–60 min, valid features
	// Excluded counts the other trips by reason: "no_duration" (a null pickup
	// or drop-off time), "duration_outside_1_60" (shorter than 1 or longer
	// than 60 minutes), "invalid_features" (a null or non-positive location
	// id, a null, negative or non-finite distance). Reasons with no trip are
	// left out.
	Excluded map[string]int `json:"excluded"`
	// FirstInvalid describes the first trip with invalid features: its index
	// among the month's trips (files in the order given) and the field.
	FirstInvalid string `json:"first_invalid,omitempty"`
}

// Group is the quality of the rides in one group.
type Group struct {
	Name      string  `json:"name"` // e.g. "2–3 mi", "Manhattan", "2022-02-01"
	Count     int     `json:"count"`
	RMSE      float64 `json:"rmse"`
	MAE       float64 `json:"mae"`
	MeanError float64 `json:"mean_error"`
}

// Drift compares the month with the training month with the population
// stability index (see package drift): below 0.1 no drift, 0.1 to 0.25
// moderate, 0.25 and above significant.
type Drift struct {
	Moderate    float64 `json:"moderate"`    // drift.Moderate
	Significant float64 `json:"significant"` // drift.Significant
	// UnseenKeys is the rides with a location id (or pair) the model
	// never saw as a category.
	UnseenKeys Unseen `json:"unseen_keys"`
	// Columns are trip_distance, prediction and duration, in bins of the
	// training month's deciles.
	Columns []Column `json:"columns"`
	// PickupZones is the drift of PULocationID, a bin per zone, and the
	// zones whose share moved most.
	PickupZones Zones `json:"pickup_zones"`
}

// Unseen is the rides whose key holds a category not in the vocabulary.
type Unseen struct {
	// Features are the model's categorical features a key can be unseen
	// in: ["PU_DO"], or ["PULocationID", "DOLocationID"] (one-hot), or none
	// for a model that reads the ids as numbers, where no ride is unseen.
	Features []string `json:"features"`
	// Vocabulary is "model" (the model's own vocabulary) or "training month"
	// (the training month's PU_DO keys; see Config.Columns).
	Vocabulary string  `json:"vocabulary"`
	Rides      int     `json:"rides"`
	Share      float64 `json:"share"` // of the month's rides, 0–1
	Keys       int     `json:"keys"`  // distinct unseen keys (PU_DO pairs)
	// The unseen rides' quality (0 when there is none).
	RMSE      float64 `json:"rmse"`
	MeanError float64 `json:"mean_error"`
}

// FeatureNames are the features joined for a sentence: "PU_DO",
// "PULocationID or DOLocationID".
func (u Unseen) FeatureNames() string { return strings.Join(u.Features, " or ") }

// Plateau is the rides predicted one value, the one the most rides share.
type Plateau struct {
	Prediction float64 `json:"prediction"` // minutes
	Rides      int     `json:"rides"`
	Share      float64 `json:"share"` // of the month's rides, 0–1
	// ZeroDistance are those of them with a trip_distance of 0.
	ZeroDistance int     `json:"zero_distance"`
	RMSE         float64 `json:"rmse"`
	MAE          float64 `json:"mae"`
	MeanError    float64 `json:"mean_error"`
}

// PlateauShown is the share of rides from which the page and the summary
// call a plateau out.
const PlateauShown = 0.01

// Shown tells whether the plateau is large enough to be called out.
func (p Plateau) Shown() bool { return p.Share >= PlateauShown }

// Column is the drift of one numeric column.
type Column struct {
	Name      string  `json:"column"` // trip_distance (miles), prediction, duration (minutes)
	TrainMean float64 `json:"train_mean"`
	Mean      float64 `json:"mean"`
	// The medians (np.quantile(values, 0.5)), which outliers do not move: a month's
	// 100,000-mile records drive trip_distance's mean.
	TrainMedian float64 `json:"train_median"`
	Median      float64 `json:"median"`
	PSI         float64 `json:"psi"`
	Drift       string  `json:"drift"` // "none", "moderate" or "significant"
	// Wasserstein is how far the distribution moved, in the column's unit
	// (the earth mover's distance; a description, not thresholded).
	Wasserstein float64 `json:"wasserstein"`
	// WassersteinError bounds how far Wasserstein may be from the exact
	// distance: 0 when the training month's rides were read, more when
	// the report had only its statistics (drift.Sketch).
	WassersteinError float64 `json:"wasserstein_error"`
	// Edges are the inner bin edges (the training month's deciles, without
	// repeats); TrainShares and Shares each month's share of rides per bin.
	Edges       []float64 `json:"edges"`
	TrainShares []float64 `json:"train_shares"`
	Shares      []float64 `json:"shares"`
}

// Zones is the drift of the pickup zones.
type Zones struct {
	PSI   float64 `json:"psi"`
	Drift string  `json:"drift"`
	// MovedMost are the 10 zones whose share of rides changed most.
	MovedMost []ZoneShare `json:"moved_most"`
}

// ZoneShare is one pickup zone's share of the rides in each month.
type ZoneShare struct {
	LocationID int64   `json:"location_id"`
	Zone       string  `json:"zone"`
	Borough    string  `json:"borough"`
	TrainShare float64 `json:"train_share"` // 0–1
	Share      float64 `json:"share"`
	Change     float64 `json:"change"` // share − train_share
}

// Nullable is a float64 written as JSON null when it is NaN (R² of fewer
// than two rides).
type Nullable float64

// String is the value with 3 decimals, or "n/a".
func (f Nullable) String() string {
	if math.IsNaN(float64(f)) {
		return "n/a"
	}
	return strconv.FormatFloat(float64(f), 'f', 3, 64)
}

func (f Nullable) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

// Bands are the trip distance bands' lower bounds, in miles.
var Bands = []float64{0, 1, 2, 3, 5, 10, 20}

// movedMost is how many pickup zones the report lists.
const movedMost = 10

// Build scores the month with the model and computes the report, comparing
// it with the training month (Summarize, ReadReference).
func Build(cfg Config, data Month, train *Reference) (*Report, error) {
	if cfg.Model.Predict == nil {
		return nil, errors.New("report: the model has no Predict function")
	}
	if cfg.Columns == nil && train.keys == nil {
		return nil, errors.New("report: the model's columns are needed: the training month's statistics do not hold its PU_DO keys")
	}
	r := &Report{Model: Model{cfg.Model.Name, cfg.Model.Version}, train: train, Train: train.Source}
	r.cur, r.Data = score(cfg.Model, data)
	for _, m := range []struct {
		s    Source
		what string
	}{{r.Data, "month"}, {r.Train, "training month"}} {
		if m.s.Rides == 0 {
			trips := "trips"
			if m.s.Trips == 1 {
				trips = "trip"
			}
			return nil, fmt.Errorf("report: the %s %s has no trip with a duration of %g to %g minutes and valid features (%s %s read%s)",
				m.what, m.s.Name, feature.MinDuration, feature.MaxDuration, thousands(m.s.Trips), trips, excluded(m.s))
		}
	}

	q := metrics.Regress(r.cur.actual, r.cur.predicted)
	r.Count, r.RMSE, r.MAE, r.R2, r.MeanError = q.Count, q.RMSE, q.MAE, Nullable(q.R2), q.MeanError
	r.ByDistance = groups(r.cur, func(i int) string { return band(r.cur.distance[i]) })
	slices.SortFunc(r.ByDistance, func(a, b Group) int {
		return cmp.Compare(slices.Index(bandNames, a.Name), slices.Index(bandNames, b.Name))
	})
	r.ByPickupBorough = groups(r.cur, func(i int) string { return zones.Lookup(int64(r.cur.key[i].PU)).Borough })
	slices.SortStableFunc(r.ByPickupBorough, func(a, b Group) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Name, b.Name)) })
	r.ByDay = groups(r.cur, func(i int) string { return r.cur.day[i] })
	slices.SortFunc(r.ByDay, func(a, b Group) int { return cmp.Compare(a.Name, b.Name) })

	r.Plateau = plateau(r.cur)
	r.Drift = Drift{
		Moderate:    drift.Moderate,
		Significant: drift.Significant,
		UnseenKeys:  unseen(cfg.Columns, r.cur, train),
		Columns:     columns(r.cur, train),
		PickupZones: pickupZones(r.cur, train),
	}
	return r, nil
}

// rides are a month's scored rides, as columns.
type rides struct {
	actual, predicted, distance []float64
	key                         []feature.Key
	day                         []string // pickup date, 2006-01-02
}

// score keeps the trips validation keeps, in order (cmd/prep's filter:
// duration first, then features), and predicts them.
func score(m model.Model, month Month) (rides, Source) {
	t := &month.Trips
	s := Source{Name: month.Name, Trips: t.Len(), Excluded: map[string]int{}}
	var r rides
	for i := range t.Len() {
		d, err := t.Duration(i)
		if err != nil {
			s.Excluded["no_duration"]++
			continue
		}
		if !feature.Keep(d) {
			s.Excluded["duration_outside_1_60"]++
			continue
		}
		x, err := t.Features(i)
		if err != nil {
			if s.Excluded["invalid_features"] == 0 {
				s.FirstInvalid = "trip " + strconv.Itoa(i) + ": " + err.Error()
			}
			s.Excluded["invalid_features"]++
			continue
		}
		r.actual = append(r.actual, d)
		r.predicted = append(r.predicted, m.Predict(x))
		r.distance = append(r.distance, x.Distance)
		r.key = append(r.key, x.Key)
		r.day = append(r.day, time.UnixMicro(t.Pickup[i]).UTC().Format("2006-01-02"))
	}
	s.Rides = len(r.actual)
	return r, s
}

// groups computes the quality of each group of rides, named by name(i).
func groups(r rides, name func(i int) string) []Group {
	index := map[string][]int{}
	var names []string
	for i := range r.actual {
		n := name(i)
		if _, ok := index[n]; !ok {
			names = append(names, n)
		}
		index[n] = append(index[n], i)
	}
	gs := make([]Group, len(names))
	for g, n := range names {
		idx := index[n]
		actual, predicted := make([]float64, len(idx)), make([]float64, len(idx))
		for j, i := range idx {
			actual[j], predicted[j] = r.actual[i], r.predicted[i]
		}
		q := metrics.Regress(actual, predicted)
		gs[g] = Group{Name: n, Count: q.Count, RMSE: q.RMSE, MAE: q.MAE, MeanError: q.MeanError}
	}
	return gs
}

// bandNames are the distance bands' names: "0–1 mi", ..., "≥ 20 mi".
var bandNames = func() []string {
	names := make([]string, len(Bands))
	for i, lo := range Bands {
		if i+1 < len(Bands) {
			names[i] = fmt.Sprintf("%g–%g mi", lo, Bands[i+1])
		} else {
			names[i] = fmt.Sprintf("≥ %g mi", lo)
		}
	}
	return names
}()

// band is the name of a distance's band: Bands[i] ≤ d < Bands[i+1].
func band(d float64) string {
	i, found := slices.BinarySearch(Bands, d)
	if !found {
		i--
	}
	return bandNames[max(i, 0)]
}

func unseen(cols feature.Columns, cur rides, train *Reference) Unseen {
	u := Unseen{Vocabulary: "model", Features: []string{}}
	var seen func(feature.Key) bool
	if cols == nil {
		u.Vocabulary, u.Features = "training month", []string{feature.PUDO}
		seen = func(k feature.Key) bool { return train.keys[k] }
	} else {
		cats := cols.Categories()
		for _, in := range cats.Inputs() {
			u.Features = append(u.Features, in.String())
		}
		seen = cats.Seen
	}
	distinct := make(map[feature.Key]bool)
	var actual, predicted []float64
	for i, k := range cur.key {
		if !seen(k) {
			distinct[k] = true
			actual, predicted = append(actual, cur.actual[i]), append(predicted, cur.predicted[i])
		}
	}
	u.Rides, u.Keys = len(actual), len(distinct)
	u.Share = float64(u.Rides) / float64(len(cur.key))
	if u.Rides > 0 {
		q := metrics.Regress(actual, predicted)
		u.RMSE, u.MeanError = q.RMSE, q.MeanError
	}
	return u
}

// plateau finds the prediction the most rides share (the smallest, of
// equals) and measures them.
func plateau(cur rides) Plateau {
	counts := make(map[float64]int)
	var p Plateau
	for _, y := range cur.predicted {
		counts[y]++
		if n := counts[y]; n > p.Rides || n == p.Rides && y < p.Prediction {
			p.Prediction, p.Rides = y, n
		}
	}
	var actual, predicted []float64
	for i, y := range cur.predicted {
		if y == p.Prediction {
			actual, predicted = append(actual, cur.actual[i]), append(predicted, y)
			if cur.distance[i] == 0 {
				p.ZeroDistance++
			}
		}
	}
	q := metrics.Regress(actual, predicted)
	p.Share, p.RMSE, p.MAE, p.MeanError = float64(p.Rides)/float64(len(cur.predicted)), q.RMSE, q.MAE, q.MeanError
	return p
}

func columns(cur rides, train *Reference) []Column {
	var cs []Column
	for i, c := range numeric {
		ref, values := train.Columns[i], c.values(cur)
		d := ref.Drift.Compare(values)
		cs = append(cs, Column{Name: c.name, TrainMean: ref.Mean, Mean: metrics.Mean(values),
			TrainMedian: ref.Drift.Median, Median: d.Median,
			PSI: d.PSI, Drift: drift.Level(d.PSI), Wasserstein: d.Wasserstein, WassersteinError: d.WassersteinError,
			Edges: d.Edges, TrainShares: d.Reference, Shares: d.Current})
	}
	return cs
}

func pickupZones(cur rides, train *Reference) Zones {
	c := drift.CompareCounts(train.PickupZones, drift.Counts(pickups(cur)))
	z := Zones{PSI: c.PSI, Drift: drift.Level(c.PSI)}
	for _, s := range c.Shares[:min(movedMost, len(c.Shares))] {
		zone := zones.Lookup(s.Key)
		z.MovedMost = append(z.MovedMost, ZoneShare{LocationID: s.Key, Zone: zone.Name, Borough: zone.Borough,
			TrainShare: s.Reference, Share: s.Current, Change: s.Change()})
	}
	return z
}
