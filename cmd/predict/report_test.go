package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xdraw "golang.org/x/image/draw"

	"github.com/rideduration/rideduration/internal/atomicfs"
	"github.com/rideduration/rideduration/internal/compiled"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/report"
)

// go test ./cmd/predict -run TestReport -args -screenshot=$PWD/docs/report.png
// writes docs/batch.md's screenshot of the report's page.
var screenshot = flag.String("screenshot", "", "write the report page's screenshot (downscaled) to this file")

var update = flag.Bool("update", false, "rewrite training_month.json (go generate ./cmd/predict)")

// TestTrainingMonth summarises the training month with the compiled model
// and fails if training_month.json, compiled into predict, differs: the
// file is what they give, nothing edited by hand, and belongs to the
// model compiled in (a new model predicts other durations).
func TestTrainingMonth(t *testing.T) {
	jan, err := readMonth([]string{filepath.Join("..", "..", trainingMonthFile)}, func() {})
	require.NoError(t, err)
	got, err := report.Summarize(compiled.Model(), jan).JSON()
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile("training_month.json", got, 0o644))
		return
	}
	assert.Equal(t, string(got), string(trainingMonth),
		"training_month.json is not what the compiled model and %s give: go generate ./cmd/predict", trainingMonthFile)
	assert.Less(t, len(trainingMonth), 16<<10, "small: a few KB in the binary")
}

// trainRMSE is what train.py prints for the February rides: the report, with
// the same rides and the same predictions, must print it to the bit.
const trainRMSE = 6.101201727016494

// docs/batch.md's example, as written there (from the repository root): the
// February report, its RMSE train.py's, its page loaded in Chromium with
// every image shown.
func TestReport(t *testing.T) {
	t.Chdir("../..")
	dir := filepath.Join(t.TempDir(), "report")
	code, out, errs := predict(t, "", "report", "-o", dir, "testdata/green_tripdata_2022-02.parquet")
	require.Equal(t, 0, code, errs)
	t.Log("\n" + out + errs)
	assert.Contains(t, out, "green_tripdata_2022-02: 66,097 rides scored of 69,399 trips; excluded: 3,302 duration_outside_1_60\n")
	assert.Contains(t, out, "  RMSE 6.101 (6.101201727016494)  MAE ")
	assert.Contains(t, out, "drift against green_tripdata_2022-01 (59,603 rides)")
	assert.Contains(t, errs, "report: 69399 trips read, 66097 rides scored (green_tripdata_2022-01: its statistics, compiled in), ",
		"the training month compiled in, without -train")

	var m struct {
		Count     int     `json:"count"`
		RMSE      float64 `json:"rmse"`
		MAE       float64 `json:"mae"`
		R2        float64 `json:"r2"`
		MeanError float64 `json:"mean_error"`
		Drift     struct {
			UnseenKeys struct {
				Features   []string `json:"features"`
				Vocabulary string   `json:"vocabulary"`
				Rides      int      `json:"rides"`
			} `json:"unseen_keys"`
		} `json:"drift"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "metrics.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, 66097, m.Count)
	assert.Equal(t, math.Float64bits(trainRMSE), math.Float64bits(m.RMSE), "RMSE %v, train.py's %v", m.RMSE, trainRMSE)
	assert.Equal(t, []string{"PU_DO"}, m.Drift.UnseenKeys.Features)
	assert.Equal(t, "model", m.Drift.UnseenKeys.Vocabulary)
	assert.Positive(t, m.Drift.UnseenKeys.Rides)

	page := filepath.Join(dir, "index.html")
	loaded := imagesLoaded(t, page)
	assert.Equal(t, "6 of 6", loaded, "images loaded (of the page's images)")

	shot := testenv.Chromium(t).Screenshot(t, "file://"+page, 1280, 1560)
	assert.Greater(t, inkShare(shot), 0.05, "the screenshot shows the page, not a blank window")
	if *screenshot != "" {
		writeThumbnail(t, shot, *screenshot)
	}
}

// predict report needs no file but the month's: from any directory, it
// compares it with the training month compiled in; -train still names
// another.
func TestReportFromAnyDirectory(t *testing.T) {
	feb, err := filepath.Abs("../../testdata/green_tripdata_2022-02.parquet")
	require.NoError(t, err)
	jan, err := filepath.Abs("../../testdata/green_tripdata_2022-01.parquet")
	require.NoError(t, err)
	t.Chdir(t.TempDir())
	code, out, errs := predict(t, "", "report", "-o", "report", feb)
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "drift against green_tripdata_2022-01 (59,603 rides)")
	assert.Contains(t, out, "  duration       PSI 0.006  no drift     (median 11.800 → 12.217, mean 14.093 → 14.820; moved by 0.727 ± 0.008)\n")
	assert.FileExists(t, filepath.Join("report", "index.html"))

	code, out, errs = predict(t, "", "report", "-o", "report", "-train", jan, feb)
	require.Equal(t, 0, code, errs)
	assert.Contains(t, errs, "report: 69399 + 62495 trips read, 66097 + 59603 rides scored, ")
	assert.Contains(t, out, "  duration       PSI 0.006  no drift     (median 11.800 → 12.217, mean 14.093 → 14.820; moved by 0.727)\n")
}

// The report against the training month compiled in is the report against
// the month's file: every figure the same to the bit, but the Wasserstein
// distances, each within the error bound it carries.
func TestReportCompiledTrainingMonth(t *testing.T) {
	quiet := func() {}
	feb, err := readMonth([]string{"../../testdata/green_tripdata_2022-02.parquet"}, quiet)
	require.NoError(t, err)
	jan, err := readMonth([]string{"../../testdata/green_tripdata_2022-01.parquet"}, quiet)
	require.NoError(t, err)
	cfg := report.Config{Model: compiled.Model(), Columns: compiled.Columns()}
	fromFile, err := report.Build(cfg, feb, report.Summarize(cfg.Model, jan))
	require.NoError(t, err)
	ref, err := report.ReadReference(trainingMonth)
	require.NoError(t, err)
	compiledIn, err := report.Build(cfg, feb, ref)
	require.NoError(t, err)

	require.Len(t, compiledIn.Drift.Columns, len(fromFile.Drift.Columns))
	for i := range fromFile.Drift.Columns {
		exact, sketched := &fromFile.Drift.Columns[i], &compiledIn.Drift.Columns[i]
		assert.Zero(t, exact.WassersteinError, exact.Name)
		assert.Positive(t, sketched.WassersteinError, exact.Name)
		assert.Less(t, sketched.WassersteinError, 0.02, "%s: within 0.02 of its unit", exact.Name)
		assert.LessOrEqual(t, math.Abs(sketched.Wasserstein-exact.Wasserstein), sketched.WassersteinError, exact.Name)
		t.Logf("%s: moved by %v, %v from the sketch (error bound %v)", exact.Name, exact.Wasserstein, sketched.Wasserstein, sketched.WassersteinError)
		exact.Wasserstein, sketched.Wasserstein, sketched.WassersteinError = 0, 0, 0
	}
	want, err := json.Marshal(fromFile)
	require.NoError(t, err)
	got, err := json.Marshal(compiledIn)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got))
	wantPage, err := fromFile.Page()
	require.NoError(t, err)
	gotPage, err := compiledIn.Page()
	require.NoError(t, err)
	assert.Equal(t, wantPage, gotPage, "the same page, plots and all")
}

// The compiled model's vocabulary is January's keys (DictVectorizer was fit
// on them): with or without it, the report finds the same unseen rides.
func TestReportVocabularyIsTrainingMonths(t *testing.T) {
	quiet := func() {}
	feb, err := readMonth([]string{"../../testdata/green_tripdata_2022-02.parquet"}, quiet)
	require.NoError(t, err)
	janMonth, err := readMonth([]string{"../../testdata/green_tripdata_2022-01.parquet"}, quiet)
	require.NoError(t, err)
	jan := report.Summarize(compiled.Model(), janMonth)
	withModels, err := report.Build(report.Config{Model: compiled.Model(), Columns: compiled.Columns()}, feb, jan)
	require.NoError(t, err)
	withJanuarys, err := report.Build(report.Config{Model: compiled.Model()}, feb, jan)
	require.NoError(t, err)
	u, v := withModels.Drift.UnseenKeys, withJanuarys.Drift.UnseenKeys
	assert.Equal(t, "model", u.Vocabulary)
	assert.Equal(t, "training month", v.Vocabulary)
	u.Vocabulary = v.Vocabulary
	assert.Equal(t, v, u)
	assert.Equal(t, 3630, u.Rides)
}

// steps records a report's progress.
type steps []string

func (s *steps) Set(done, total int64) { *s = append(*s, fmt.Sprintf("%d/%d", done, total)) }
func (s *steps) Done()                 {}

// The report's progress counts its steps: each file read, scoring, writing.
func TestReportProgress(t *testing.T) {
	feb := "../../testdata/green_tripdata_2022-02.parquet"
	var s steps
	_, err := buildReport(atomicfs.OS, &s, []string{feb, feb}, "../../testdata/green_tripdata_2022-01.parquet", t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, steps{"0/5", "1/5", "2/5", "3/5", "4/5", "5/5"}, s)

	// The training month compiled in is not read: one step fewer.
	s = nil
	_, err = buildReport(atomicfs.OS, &s, []string{feb, feb}, "", t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, steps{"0/4", "1/4", "2/4", "3/4", "4/4"}, s)
}

func TestReportErrors(t *testing.T) {
	feb := "../../testdata/green_tripdata_2022-02.parquet"
	dir := t.TempDir()
	notParquet := filepath.Join(dir, "rides.parquet")
	require.NoError(t, os.WriteFile(notParquet, []byte("PULocationID,DOLocationID\n1,2\n"), 0o644))
	out := filepath.Join(dir, "report")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"report", feb}, 2, "predict report: -o is required: the directory to write the report in\nusage: predict report -o DIR"},
		{[]string{"report", "-o", dir}, 2, "predict report: no FILE.parquet: name the month's trip files to report on\nusage: predict report -o DIR"},
		{[]string{"report", "-o", dir, feb}, 2, "predict report: -o " + dir + " holds rides.parquet, which is not one of its files (metrics.json, index.html): " +
			"name a new or empty directory, or one holding only these\nusage: predict report -o DIR"},
		{[]string{"report", "-o", notParquet, feb}, 2, "predict report: -o " + notParquet + " is not a directory\nusage: "},
		{[]string{"report", "-o", out, "nope.parquet"}, 1, "predict report: open nope.parquet: no such file or directory"},
		{[]string{"report", "-o", out, notParquet}, 1, "predict report: " + notParquet + ": "},
		{[]string{"report", "-o", out, "-train", "nope.parquet", feb}, 1, "predict report: -train: open nope.parquet: "},
	} {
		code, stdout, errs := predict(t, "", c.args...)
		assert.Equal(t, c.code, code, "%v", c.args)
		assert.Contains(t, errs, c.msg, "%v", c.args)
		assert.Empty(t, stdout, "%v", c.args)
	}
	assert.NoDirExists(t, out)
	got, err := os.ReadFile(notParquet)
	require.NoError(t, err)
	assert.Equal(t, "PULocationID,DOLocationID\n1,2\n", string(got), "the directory's other files untouched")
}

// imagesLoaded opens a copy of the page with a script that, on load, writes
// "N of M" (images decoded with a size, of the page's images) into an
// attribute, and reads it from the DOM Chromium dumps.
func imagesLoaded(t *testing.T, page string) string {
	html, err := os.ReadFile(page)
	require.NoError(t, err)
	const check = `<script>addEventListener("load", () => {
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0);
  document.body.setAttribute("data-images-loaded", ok.length + " of " + imgs.length);
});</script></body>`
	checked := filepath.Join(t.TempDir(), "index.html")
	require.NoError(t, os.WriteFile(checked, []byte(strings.Replace(string(html), "</body>", check, 1)), 0o644))
	dom := testenv.Chromium(t).DumpDOM(t, "file://"+checked)
	got := regexp.MustCompile(`data-images-loaded="([^"]*)"`).FindStringSubmatch(dom)
	require.NotNil(t, got, "the check script did not run:\n%.2000s", dom)
	return got[1]
}

// inkShare is the share of pixels that are not white.
func inkShare(img image.Image) float64 {
	b := img.Bounds()
	ink := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if c := color.GrayModel.Convert(img.At(x, y)).(color.Gray); c.Y < 245 {
				ink++
			}
		}
	}
	return float64(ink) / float64(b.Dx()*b.Dy())
}

// writeThumbnail writes the screenshot at half its size with at most 256
// colours (the docs' copy stays small).
func writeThumbnail(t *testing.T, img image.Image, path string) {
	b := img.Bounds()
	half := image.NewRGBA(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
	xdraw.CatmullRom.Scale(half, half.Bounds(), img, b, xdraw.Src, nil)
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(f, paletted(half)))
}

// paletted maps img to its 256 most frequent colours (4 bits a channel,
// averaged): a page of text and plots has few, so it looks the same.
func paletted(img *image.RGBA) *image.Paletted {
	type bucket struct{ r, g, b, n int }
	buckets := map[int]*bucket{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.RGBAAt(x, y)
			k := int(c.R>>4)<<8 | int(c.G>>4)<<4 | int(c.B>>4)
			if buckets[k] == nil {
				buckets[k] = &bucket{}
			}
			bk := buckets[k]
			bk.r, bk.g, bk.b, bk.n = bk.r+int(c.R), bk.g+int(c.G), bk.b+int(c.B), bk.n+1
		}
	}
	all := slices.SortedFunc(maps.Values(buckets), func(a, b *bucket) int { return cmp.Compare(b.n, a.n) })
	var pal color.Palette
	for _, bk := range all[:min(256, len(all))] {
		pal = append(pal, color.RGBA{R: uint8(bk.r / bk.n), G: uint8(bk.g / bk.n), B: uint8(bk.b / bk.n), A: 255})
	}
	p := image.NewPaletted(b, pal)
	draw.Draw(p, b, img, b.Min, draw.Src)
	return p
}

// A report whose page fails to be written (a write past the file size
// limit, after metrics.json is whole) leaves the last report as it was,
// both files, and nothing beside it.
func TestReportFailsWriting(t *testing.T) {
	bin := testenv.GoBuild(t, ".", "predict", nil)
	clean := filepath.Join(t.TempDir(), "report")
	code, stderr := limitedPredict(t, bin, 1<<30, "report", "-o", clean, february)
	require.Equal(t, 0, code, stderr)
	metrics, err := os.Stat(filepath.Join(clean, report.MetricsFile))
	require.NoError(t, err)
	page, err := os.Stat(filepath.Join(clean, report.PageFile))
	require.NoError(t, err)
	require.Greater(t, page.Size(), metrics.Size())

	parent := t.TempDir()
	dir := filepath.Join(parent, "report")
	require.NoError(t, os.Mkdir(dir, 0o755))
	old := map[string]string{report.MetricsFile: "{\"the last run's\": 1}\n", report.PageFile: "<p>the last run's page</p>\n"}
	for name, content := range old {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	code, stderr = limitedPredict(t, bin, metrics.Size(), "report", "-o", dir, february)
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "file too large")
	requireFiles(t, dir, old, "the last report as it was")
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Len(t, entries, 1, "nothing beside the report's directory")
}

// A report failing at any step of writing its directory (a write, at half
// its bytes, an fsync, a close, a mkdir, the swap or rename) leaves the last
// report as it was, both files byte for byte, or no directory where there
// was none, and nothing beside it; a failure to sync the parent directory
// once the report is in place leaves the new one. With the directories
// swapped in one step (Linux) and by two renames.
func TestReportFaults(t *testing.T) {
	in := filepath.Join(t.TempDir(), "rides.parquet")
	testenv.WriteTrips(t, in, 2000)
	old := map[string]string{report.MetricsFile: "{\"the last run's\": 1}\n", report.PageFile: "<p>the last run's page</p>\n"}
	args := func(parent string) []string { return []string{"report", "-o", filepath.Join(parent, "report"), in} }
	parent := t.TempDir()
	code, stderr := faultRun(atomicfs.OS, args(parent)...)
	require.Equal(t, 0, code, stderr)
	want := testenv.Files(t, filepath.Join(parent, "report"))
	for _, c := range []struct {
		name       string
		last       map[string]string // nil: no directory
		noExchange bool
	}{
		{"swapped", old, false},
		{"renamed", old, true},
		{"new", nil, false},
	} {
		setup := func(parent string) {
			if c.last == nil {
				return
			}
			dir := filepath.Join(parent, "report")
			require.NoError(t, os.Mkdir(dir, 0o755))
			for name, content := range c.last {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
			}
		}
		faultSteps(t, c.noExchange, setup, args, func(parent, failed string, committed bool) {
			msg := c.name + ": " + failed
			dir := filepath.Join(parent, "report")
			switch {
			case committed:
				requireFiles(t, dir, want, msg+": the new report")
			case c.last == nil:
				assert.NoDirExists(t, dir, msg)
			default:
				requireFiles(t, dir, c.last, msg+": the last report")
			}
			entries, err := os.ReadDir(parent)
			require.NoError(t, err)
			assert.LessOrEqual(t, len(entries), 1, "%s: nothing beside the report: %v", msg, entries)
		})
	}
}
