package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/brewer"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The plots are PNGs of plotWidth × plotHeight at dpi: 810 × 540 pixels,
// sharp when the page shows them at half that size on a high-density screen.
const (
	plotWidth  = 5.625 * vg.Inch
	plotHeight = 3.75 * vg.Inch
	dpi        = 144
	// minDayRides: the RMSE of a day with fewer rides is not plotted (the
	// files hold a few trips whose clock was off: a January pickup in the
	// February file); the table lists every day.
	minDayRides = 100
)

// Colors: the training month, this month, the reference lines.
var (
	trainColor = color.RGBA{R: 31, G: 119, B: 180, A: 255} // blue
	dataColor  = color.RGBA{R: 230, G: 110, B: 10, A: 255} // orange
	refColor   = color.RGBA{R: 90, G: 90, B: 90, A: 255}
	gridColor  = color.RGBA{R: 225, G: 225, B: 225, A: 255}
	// dashed draws the reference lines: a perfect prediction, zero error,
	// the month's RMSE.
	dashed = draw.LineStyle{Color: refColor, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
)

// Figure is one plot of the page.
type Figure struct {
	Title, Caption string
	PNG            []byte
}

// figures draws the page's plots.
func (r *Report) figures() ([]Figure, error) {
	type draw func() (Figure, error)
	var figs []Figure
	for _, f := range []draw{
		r.densityFigure,
		r.residualFigure,
		r.dayFigure,
		func() (Figure, error) {
			return distributionFigure("Trip distance", "trip_distance (miles)", r.ref.distance, r.cur.distance, 0, 20, 0.25, r, "%.1f%% of this month's rides and %.1f%% of the training month's are longer than 20 miles (not shown).")
		},
		func() (Figure, error) {
			return distributionFigure("Actual duration", "duration (minutes)", r.ref.actual, r.cur.actual, 0, 60, 1, r, "")
		},
		func() (Figure, error) {
			return distributionFigure("Predicted duration", "prediction (minutes)", r.ref.predicted, r.cur.predicted, 0, 60, 1, r, "%.1f%% of this month's predictions and %.1f%% of the training month's are above 60 minutes (not shown).")
		},
	} {
		fig, err := f()
		if err != nil {
			return nil, err
		}
		figs = append(figs, fig)
	}
	return figs, nil
}

// newChart is a plot with its text in a sans-serif face, as the page's.
func newChart() *plot.Plot {
	p := plot.New()
	for _, f := range []*font.Font{&p.Title.TextStyle.Font, &p.Legend.TextStyle.Font,
		&p.X.Label.TextStyle.Font, &p.X.Tick.Label.Font,
		&p.Y.Label.TextStyle.Font, &p.Y.Tick.Label.Font} {
		f.Typeface, f.Variant = "Liberation", "Sans"
	}
	return p
}

func newPlot(title, x, y string) *plot.Plot {
	p := newChart()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = gridColor, gridColor
	p.Add(grid)
	return p
}

// encode draws plots side by side, each given its width, into one PNG.
func encode(width vg.Length, parts ...part) ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(width, plotHeight), vgimg.UseDPI(dpi))
	dc := draw.New(c)
	x := vg.Length(0)
	for _, pt := range parts {
		pt.p.Draw(draw.Crop(dc, x, x+pt.width-width, 0, 0))
		x += pt.width
	}
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type part struct {
	p     *plot.Plot
	width vg.Length
}

// grid2D counts rides in 1-minute cells of actual (x) × predicted (y)
// duration, 0–60 minutes; Z is log10 of the count, NaN for none.
type grid2D struct {
	n     int
	count []int
}

func (g grid2D) Dims() (c, r int) { return g.n, g.n }
func (g grid2D) X(c int) float64  { return float64(c) + 0.5 }
func (g grid2D) Y(r int) float64  { return float64(r) + 0.5 }
func (g grid2D) Z(c, r int) float64 {
	if n := g.count[r*g.n+c]; n > 0 {
		return math.Log10(float64(n))
	}
	return math.NaN()
}

// cell is the 1-minute cell of a duration in 0–60 (60 goes in the last).
func cell(minutes float64, n int) int { return min(max(int(minutes), 0), n-1) }

func (r *Report) densityFigure() (Figure, error) {
	const n = 60
	g := grid2D{n: n, count: make([]int, n*n)}
	most, outside := 0, 0
	for i, y := range r.cur.actual {
		p := r.cur.predicted[i]
		if p < 0 || p > n {
			outside++
			continue
		}
		k := cell(p, n)*n + cell(y, n)
		g.count[k]++
		most = max(most, g.count[k])
	}
	cm, err := densityColors()
	if err != nil {
		return Figure{}, err
	}
	cm.SetMin(0)
	cm.SetMax(max(math.Log10(float64(most)), 1))
	p := newPlot("Predicted vs actual duration", "actual duration (minutes)", "predicted duration (minutes)")
	h := plotter.NewHeatMap(g, cm.Palette(256))
	h.Min, h.Max = cm.Min(), cm.Max()
	p.Add(h)
	diag, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: n, Y: n}})
	if err != nil {
		return Figure{}, err
	}
	diag.LineStyle = dashed
	p.Add(diag)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, n, 0, n

	bar := newChart()
	bar.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	bar.HideX()
	bar.X.Label.Text = " " // the same bottom margin as the heat map's axis
	bar.Title.Text = "rides"
	bar.Y.Padding = 0
	bar.Y.Tick.Marker = logCountTicks{}
	img, err := encode(plotWidth, part{p, plotWidth - 0.8*vg.Inch}, part{bar, 0.8 * vg.Inch})
	caption := fmt.Sprintf("%s rides in 1-minute cells; the colour is the number of rides (log scale), white is none. The dashed line is a perfect prediction.", thousands(r.Count-outside))
	if outside > 0 {
		caption += fmt.Sprintf(" %d predictions outside 0–60 minutes are not shown.", outside)
	}
	return Figure{Title: "Predicted vs actual", Caption: caption, PNG: img}, err
}

// densityColors maps few rides to pale yellow and many to dark blue
// (ColorBrewer's YlGnBu; NewLuminance orders its controls dark to light).
func densityColors() (palette.ColorMap, error) {
	pal, err := brewer.GetPalette(brewer.TypeSequential, "YlGnBu", 9)
	if err != nil {
		return nil, err
	}
	cols := slices.Clone(pal.Colors()[1:]) // the palest yellow is too close to white
	slices.Reverse(cols)
	cm, err := moreland.NewLuminance(cols)
	if err != nil {
		return nil, err
	}
	return palette.Reverse(cm), nil
}

// logCountTicks labels a log10 axis with counts: 1, 10, 100, ...
type logCountTicks struct{}

func (logCountTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Ceil(lo); e <= hi; e++ {
		ts = append(ts, plot.Tick{Value: e, Label: fmt.Sprintf("%g", math.Pow(10, e))})
	}
	return ts
}

func (r *Report) residualFigure() (Figure, error) {
	const lo, hi, width = -30.0, 30.0, 0.5
	counts := make([]float64, int((hi-lo)/width))
	beyond := 0
	for i, y := range r.cur.actual {
		e := r.cur.predicted[i] - y
		if e < lo || e >= hi {
			beyond++
		}
		counts[min(max(int(math.Floor((e-lo)/width)), 0), len(counts)-1)]++
	}
	h := &plotter.Histogram{Width: width, FillColor: dataColor, LineStyle: draw.LineStyle{Color: color.White, Width: vg.Points(0.3)}}
	for i, c := range counts {
		h.Bins = append(h.Bins, plotter.HistogramBin{Min: lo + float64(i)*width, Max: lo + float64(i+1)*width, Weight: c})
	}
	p := newPlot("Residuals", "prediction − actual (minutes)", "rides")
	p.Add(h)
	zero, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 0, Y: maxOf(counts)}})
	if err != nil {
		return Figure{}, err
	}
	zero.LineStyle = dashed
	p.Add(zero)
	p.X.Min, p.X.Max = lo, hi
	img, err := encode(plotWidth, part{p, plotWidth})
	return Figure{Title: "Residuals", PNG: img,
		Caption: fmt.Sprintf("Prediction − actual in bins of %g minutes; the %s errors beyond ±%g minutes (%.1f%%) count in the end bins. Mean error %+.3f minutes.",
			width, thousands(beyond), hi, 100*float64(beyond)/float64(r.Count), r.MeanError)}, err
}

func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func (r *Report) dayFigure() (Figure, error) {
	var pts plotter.XYs
	skipped, skippedRides := 0, 0
	for _, g := range r.ByDay {
		if g.Count < minDayRides {
			skipped++
			skippedRides += g.Count
			continue
		}
		day, err := time.Parse(time.DateOnly, g.Name)
		if err != nil {
			return Figure{}, err
		}
		pts = append(pts, plotter.XY{X: float64(day.Unix()), Y: g.RMSE})
	}
	p := newPlot("RMSE per day", "pickup day", "RMSE (minutes)")
	p.X.Tick.Marker = plot.TimeTicks{Format: "Jan 2"}
	p.Y.Min = 0
	if len(pts) > 0 {
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return Figure{}, err
		}
		line.Color, points.Color = dataColor, dataColor
		points.Shape = draw.CircleGlyph{}
		all, err := plotter.NewLine(plotter.XYs{{X: pts[0].X, Y: r.RMSE}, {X: pts[len(pts)-1].X, Y: r.RMSE}})
		if err != nil {
			return Figure{}, err
		}
		all.LineStyle = dashed
		p.Add(all, line, points)
		p.Legend.Add("day", line, points)
		p.Legend.Add(fmt.Sprintf("month: %.3f", r.RMSE), all)
		p.Legend.Top = false
	}
	caption := fmt.Sprintf("The RMSE of each day's rides (pickup date); dashed: the month's RMSE. Days with fewer than %d rides are not plotted", minDayRides)
	if skipped > 0 {
		caption += fmt.Sprintf(" (%d days, %d rides: pickup dates outside the month)", skipped, skippedRides)
	}
	img, err := encode(plotWidth, part{p, plotWidth})
	return Figure{Title: "RMSE per day", Caption: caption + ".", PNG: img}, err
}

// distributionFigure overlays the share of rides per bin of a column in the
// training month and this month, between lo and hi. tail, if set, is a
// caption format for the shares above hi (this month's, the training
// month's), shown when any.
func distributionFigure(title, x string, ref, cur []float64, lo, hi, width float64, r *Report, tail string) (Figure, error) {
	p := newPlot(title, x, "share of rides (%)")
	var above [2]float64
	for i, c := range []struct {
		values []float64
		name   string
		color  color.Color
	}{{ref, "training: " + r.Train.Name, trainColor}, {cur, "this month: " + r.Data.Name, dataColor}} {
		n := int(math.Round((hi - lo) / width))
		shares := make([]float64, n)
		for _, v := range c.values {
			switch {
			case v > hi:
				above[i]++
			case v >= lo:
				shares[min(int((v-lo)/width), n-1)]++
			}
		}
		pts := make(plotter.XYs, n+1)
		for b := range n {
			pts[b] = plotter.XY{X: lo + float64(b)*width, Y: 100 * shares[b] / float64(len(c.values))}
		}
		pts[n] = plotter.XY{X: hi, Y: pts[n-1].Y}
		above[i] = 100 * above[i] / float64(len(c.values))
		line, err := plotter.NewLine(pts)
		if err != nil {
			return Figure{}, err
		}
		line.StepStyle = plotter.PostStep
		line.LineStyle = draw.LineStyle{Color: c.color, Width: vg.Points(1.5)}
		p.Add(line)
		p.Legend.Add(c.name, line)
	}
	p.Legend.Top = true
	p.X.Min, p.X.Max, p.Y.Min = lo, hi, 0
	img, err := encode(plotWidth, part{p, plotWidth})
	caption := fmt.Sprintf("Share of each month's rides in bins of %g.", width)
	if tail != "" && (above[0] > 0 || above[1] > 0) {
		caption += " " + fmt.Sprintf(tail, above[1], above[0])
	}
	return Figure{Title: title, Caption: caption, PNG: img}, err
}
