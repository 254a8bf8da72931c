package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
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
			return r.distributionFigure("Trip distance", "trip_distance (miles)", column("trip_distance"), "%.1f%% of this month's rides and %.1f%% of the training month's are longer than 20 miles (not shown).")
		},
		func() (Figure, error) {
			return r.distributionFigure("Actual duration", "duration (minutes)", column("duration"), "")
		},
		func() (Figure, error) {
			return r.distributionFigure("Predicted duration", "prediction (minutes)", column("prediction"), "%.1f%% of this month's predictions and %.1f%% of the training month's are above 60 minutes (not shown).")
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

// newChart is a plot with its text in a sans-serif face, as the page's,
// and whole numbers on its axes when the ticks are whole.
func newChart() *plot.Plot {
	p := plot.New()
	for _, f := range []*font.Font{&p.Title.TextStyle.Font, &p.Legend.TextStyle.Font,
		&p.X.Label.TextStyle.Font, &p.X.Tick.Label.Font,
		&p.Y.Label.TextStyle.Font, &p.Y.Tick.Label.Font} {
		f.Typeface, f.Variant = "Liberation", "Sans"
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = wholeTicks{}, wholeTicks{}
	return p
}

// wholeTicks are gonum's default ticks, labelled as whole numbers when
// every labelled tick is one: 5000, not the 5000.00 plot.DefaultTicks
// writes when its step is 2.5 times a power of ten.
type wholeTicks struct{}

func (wholeTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for _, t := range ts {
		if t.Label != "" && t.Value != math.Trunc(t.Value) {
			return ts
		}
	}
	for i, t := range ts {
		if t.Label != "" {
			ts[i].Label = strconv.FormatFloat(t.Value+0, 'f', 0, 64) // +0: no "-0"
		}
	}
	return ts
}

// legendAbove puts the plot's legend, its entries added, in a band of its
// own between the title and the data, at the right: it covers no data,
// whatever the month's shape.
func legendAbove(p *plot.Plot) {
	const gap = 4 // points between the band and the data
	band := p.Legend.Rectangle(draw.Canvas{}).Size().Y + p.Legend.TextStyle.FontExtents().Descent
	p.Legend.Top = true
	p.Legend.YOffs = band + vg.Points(gap)
	p.Title.Padding += band + vg.Points(gap)
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

// margin is the space at the right of a figure: a legend's lines end
// before it, inside the image.
var margin = vg.Points(8)

// encode draws plots side by side, each given its width, into one PNG.
func encode(width vg.Length, parts ...part) ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(width, plotHeight), vgimg.UseDPI(dpi))
	layout(draw.New(c), parts...)
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

// layout draws the parts side by side in c, the last one's width less the
// margin, and returns the canvas each was drawn in.
func layout(c draw.Canvas, parts ...part) []draw.Canvas {
	cs := make([]draw.Canvas, len(parts))
	x := c.Min.X
	for i, pt := range parts {
		right := x + pt.width
		if i == len(parts)-1 {
			right = c.Max.X - margin
		}
		cs[i] = draw.Crop(c, x-c.Min.X, right-c.Max.X, 0, 0)
		pt.p.Draw(cs[i])
		x += pt.width
	}
	return cs
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

// The residuals' histogram: bins of width minutes from lo to hi.
const residualLo, residualHi, residualWidth = -30.0, 30.0, 0.5

func (r *Report) residualFigure() (Figure, error) {
	p, beyond, err := r.residualPlot()
	if err != nil {
		return Figure{}, err
	}
	img, err := encode(plotWidth, part{p, plotWidth})
	return Figure{Title: "Residuals", PNG: img,
		Caption: fmt.Sprintf("Prediction − actual in bins of %g minutes; the %s errors beyond ±%g minutes (%.1f%%) count in the end bins. Mean error %+.3f minutes.",
			residualWidth, thousands(beyond), residualHi, 100*float64(beyond)/float64(r.Count), r.MeanError)}, err
}

// residualPlot is residualFigure's plot, and the number of errors beyond
// its range.
func (r *Report) residualPlot() (*plot.Plot, int, error) {
	const lo, hi, width = residualLo, residualHi, residualWidth
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
		return nil, 0, err
	}
	zero.LineStyle = dashed
	p.Add(zero)
	p.X.Min, p.X.Max = lo, hi
	return p, beyond, nil
}

func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func (r *Report) dayFigure() (Figure, error) {
	p, skipped, skippedRides, err := r.dayPlot()
	if err != nil {
		return Figure{}, err
	}
	caption := fmt.Sprintf("The RMSE of each day's rides (pickup date); dashed: the month's RMSE. Days with fewer than %d rides are not plotted", minDayRides)
	if skipped > 0 {
		caption += fmt.Sprintf(" (%d days, %d rides: pickup dates outside the month)", skipped, skippedRides)
	}
	img, err := encode(plotWidth, part{p, plotWidth})
	return Figure{Title: "RMSE per day", Caption: caption + ".", PNG: img}, err
}

// dayPlot is dayFigure's plot, and the days (and their rides) not plotted.
func (r *Report) dayPlot() (p *plot.Plot, skipped, skippedRides int, err error) {
	var pts plotter.XYs
	for _, g := range r.ByDay {
		if g.Count < minDayRides {
			skipped++
			skippedRides += g.Count
			continue
		}
		day, err := time.Parse(time.DateOnly, g.Name)
		if err != nil {
			return nil, 0, 0, err
		}
		pts = append(pts, plotter.XY{X: float64(day.Unix()), Y: g.RMSE})
	}
	p = newPlot("RMSE per day", "pickup day", "RMSE (minutes)")
	p.X.Tick.Marker = plot.TimeTicks{Format: "Jan 2"}
	p.Y.Min = 0
	if len(pts) > 0 {
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, 0, 0, err
		}
		line.Color, points.Color = dataColor, dataColor
		points.Shape = draw.CircleGlyph{}
		all, err := plotter.NewLine(plotter.XYs{{X: pts[0].X, Y: r.RMSE}, {X: pts[len(pts)-1].X, Y: r.RMSE}})
		if err != nil {
			return nil, 0, 0, err
		}
		all.LineStyle = dashed
		p.Add(all, line, points)
		p.Legend.Add("day", line, points)
		p.Legend.Add(fmt.Sprintf("month: %.3f", r.RMSE), all)
		legendAbove(p)
	}
	return p, skipped, skippedRides, nil
}

// distributionFigure overlays the share of rides per bin of numeric
// column col in the training month and this month. tail, if set, is a
// caption format for the shares above the plot's range (this month's, the
// training month's), shown when any.
func (r *Report) distributionFigure(title, x string, col int, tail string) (Figure, error) {
	p, above, err := r.distributionPlot(title, x, col)
	if err != nil {
		return Figure{}, err
	}
	img, err := encode(plotWidth, part{p, plotWidth})
	caption := fmt.Sprintf("Share of each month's rides in bins of %g.", numeric[col].width)
	if tail != "" && (above[0] > 0 || above[1] > 0) {
		caption += " " + fmt.Sprintf(tail, above[1], above[0])
	}
	return Figure{Title: title, Caption: caption, PNG: img}, err
}

// distributionPlot is distributionFigure's plot, and the shares of each
// month's rides (training, this) above its range, in percent.
func (r *Report) distributionPlot(title, x string, col int) (*plot.Plot, [2]float64, error) {
	c := numeric[col]
	p := newPlot(title, x, "share of rides (%)")
	counts, above := histogram(c.values(r.cur), c.hi, c.width)
	var aboveShares [2]float64
	for i, m := range []struct {
		counts []int
		above  int
		rides  int
		name   string
		color  color.Color
	}{
		{r.train.Columns[col].Plot, r.train.Columns[col].Above, r.Train.Rides, "training: " + r.Train.Name, trainColor},
		{counts, above, r.Count, "this month: " + r.Data.Name, dataColor},
	} {
		n := len(m.counts)
		pts := make(plotter.XYs, n+1)
		for b, k := range m.counts {
			pts[b] = plotter.XY{X: float64(b) * c.width, Y: 100 * float64(k) / float64(m.rides)}
		}
		pts[n] = plotter.XY{X: c.hi, Y: pts[n-1].Y}
		aboveShares[i] = 100 * float64(m.above) / float64(m.rides)
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, aboveShares, err
		}
		line.StepStyle = plotter.PostStep
		line.LineStyle = draw.LineStyle{Color: m.color, Width: vg.Points(1.5)}
		p.Add(line)
		p.Legend.Add(m.name, line)
	}
	legendAbove(p)
	p.X.Min, p.X.Max, p.Y.Min = 0, c.hi, 0
	return p, aboveShares, nil
}
