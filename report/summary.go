package report

import (
	"fmt"
	"io"
	"strings"
)

// Summary writes the report's main figures as text, for a terminal.
func (r *Report) Summary(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s rides scored of %s trips%s\n", r.Data.Name, thousands(r.Data.Rides), thousands(r.Data.Trips), excluded(r.Data))
	fmt.Fprintf(&b, "  RMSE %.3f (%v)  MAE %.3f  R² %v  mean error %+.3f min\n", r.RMSE, r.RMSE, r.MAE, r.R2, r.MeanError)
	if p := r.Plateau; p.Shown() {
		fmt.Fprintf(&b, "  plateau: %s rides (%.1f%%) predicted %.4f min, %s of them with trip_distance 0: RMSE %.3f, mean error %+.3f min\n",
			thousands(p.Rides), 100*p.Share, p.Prediction, thousands(p.ZeroDistance), p.RMSE, p.MeanError)
	}
	fmt.Fprintf(&b, "drift against %s (%s rides): PSI, moderate ≥ %g, significant ≥ %g\n", r.Train.Name, thousands(r.Train.Rides), r.Drift.Moderate, r.Drift.Significant)
	if u := r.Drift.UnseenKeys; len(u.Features) == 0 {
		fmt.Fprintf(&b, "  %-14s none: the model reads the location ids as numbers\n", "unseen keys")
	} else {
		fmt.Fprintf(&b, "  %-14s %.2f%% of rides (%s rides, %s keys) with a %s not in the %s's vocabulary", "unseen keys", 100*u.Share, thousands(u.Rides), thousands(u.Keys), u.FeatureNames(), u.Vocabulary)
		if u.Rides > 0 {
			fmt.Fprintf(&b, ": RMSE %.3f, mean error %+.3f min", u.RMSE, u.MeanError)
		}
		b.WriteString("\n")
	}
	for _, c := range r.Drift.Columns {
		fmt.Fprintf(&b, "  %-14s PSI %.3f  %-11s  (median %.3f → %.3f, mean %.3f → %.3f; moved by %s)\n", c.Name, c.PSI, verdict(c.Drift), c.TrainMedian, c.Median, c.TrainMean, c.Mean, c.Moved())
	}
	z := r.Drift.PickupZones
	fmt.Fprintf(&b, "  %-14s PSI %.3f  %-11s  (a bin per pickup zone)\n", "PULocationID", z.PSI, verdict(z.Drift))
	for i, s := range z.MovedMost[:min(3, len(z.MovedMost))] {
		label := "moved most:"
		if i > 0 {
			label = ""
		}
		fmt.Fprintf(&b, "  %-14s %s, %s: %.2f%% → %.2f%% of rides\n", label, s.Zone, s.Borough, 100*s.TrainShare, 100*s.Share)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Moved is the Wasserstein distance as the summary and the page show it,
// "0.727", with its error bound when it has one: "0.727 ± 0.008".
func (c Column) Moved() string {
	s := fmt.Sprintf("%.3f", c.Wasserstein)
	if c.WassersteinError > 0 {
		s += fmt.Sprintf(" ± %.3f", c.WassersteinError)
	}
	return s
}

// Sketched tells whether the Wasserstein distances were computed from a
// sketch of the training month (drift.Sketch): they have an error bound.
func (d Drift) Sketched() bool {
	for _, c := range d.Columns {
		if c.WassersteinError > 0 {
			return true
		}
	}
	return false
}

// verdict is a drift level for the terminal: "no drift", "MODERATE", "SIGNIFICANT".
func verdict(level string) string {
	if level == "none" {
		return "no drift"
	}
	return strings.ToUpper(level)
}

// excluded is "; excluded: 3,302 duration_outside_1_60, ...", or "".
func excluded(s Source) string {
	var parts []string
	for _, k := range []string{"duration_outside_1_60", "no_duration", "invalid_features"} {
		if n := s.Excluded[k]; n > 0 {
			parts = append(parts, thousands(n)+" "+k)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; excluded: " + strings.Join(parts, ", ")
}
