package report

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"sync"

	"github.com/rideduration/rideduration/internal/atomicfs"
)

// The files Write writes in its directory.
const (
	MetricsFile = "metrics.json"
	PageFile    = "index.html"
)

// Write makes dir hold metrics.json and index.html, through fsys
// (atomicfs.OS): both are rendered, then written beside dir and put in its
// place together (atomicfs.WriteDir). On an error dir is as it was. dir,
// when it exists, may hold only these two files (CheckDir).
func (r *Report) Write(fsys atomicfs.FS, dir string) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	page, err := r.Page()
	if err != nil {
		return err
	}
	return atomicfs.WriteDir(fsys, dir,
		atomicfs.DirFile{Name: MetricsFile, Data: append(js, '\n')},
		atomicfs.DirFile{Name: PageFile, Data: page})
}

// CheckDir checks that Write can write the report as dir: dir is missing,
// or a directory holding no other file than a report's.
func CheckDir(dir string) error { return atomicfs.CheckDir(dir, MetricsFile, PageFile) }

//go:embed page.html.tmpl
var pageTemplate string

// page is parsed on first use, not at init: predict links this package,
// and its other commands must not pay for the template at start-up.
var page = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"pct": func(x float64) string { return fmt.Sprintf("%.2f%%", 100*x) },
		"pp":  func(x float64) string { return fmt.Sprintf("%+.2f", 100*x) },
		"f3":  func(x float64) string { return fmt.Sprintf("%.3f", x) },
		"sf3": func(x float64) string { return fmt.Sprintf("%+.3f", x) },
		"int": thousands,
		"reason": func(k string) string {
			return map[string]string{"no_duration": "without a pickup or drop-off time", "duration_outside_1_60": "outside 1–60 minutes",
				"invalid_features": "with invalid features"}[k]
		},
		"level": func(l string) template.HTML {
			if l == "none" {
				return `<span class="ok">none</span>`
			}
			return template.HTML(`<span class="drift">` + template.HTMLEscapeString(l) + `</span>`)
		},
		"png": func(b []byte) template.URL {
			return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))
		},
	}).Parse(pageTemplate))
})

// Page renders index.html: one file, its plots inline as data: URIs, no
// script and nothing fetched from the network.
func (r *Report) Page() ([]byte, error) {
	figs, err := r.figures()
	if err != nil {
		return nil, fmt.Errorf("report: drawing the plots: %w", err)
	}
	var b bytes.Buffer
	if err := page().Execute(&b, struct {
		*Report
		Figures []Figure
		Bands   []float64
	}{r, figs, Bands}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// thousands writes n with thousands separators: 66,097.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
