package docs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// page is a Markdown file of the repository, split into its prose and its
// code (fenced blocks, indented blocks and inline code spans).
type page struct {
	path  string   // relative to the repository's root
	prose []string // lines outside code blocks, inline code kept
	code  []string // lines of code blocks, and inline code spans
}

// pages reads README.md and docs/*.md.
func pages(t *testing.T, root string) []page {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, names, "docs/*.md")
	var ps []page
	for _, name := range append([]string{filepath.Join(root, "README.md")}, names...) {
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		rel, err := filepath.Rel(root, name)
		require.NoError(t, err)
		ps = append(ps, split(filepath.ToSlash(rel), string(b)))
	}
	return ps
}

var inlineCode = regexp.MustCompile("`+([^`]+)`+")

// split separates a page's code from its prose, as CommonMark does for
// fenced blocks (``` or ~~~) and indented blocks (4 spaces or a tab, after
// a blank line, outside a list item's continuation).
func split(path, text string) page {
	p := page{path: path}
	var fence string
	blank := true
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case fence != "":
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			} else {
				p.code = append(p.code, line)
			}
			p.prose = append(p.prose, "")
		case strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~"):
			fence = trimmed[:3]
			p.prose = append(p.prose, "")
		case (strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t")) && blank && !isListItem(trimmed):
			p.code = append(p.code, line)
			p.prose = append(p.prose, "")
			continue // an indented block goes on until a line that is not indented
		default:
			p.prose = append(p.prose, line)
			for _, m := range inlineCode.FindAllStringSubmatch(line, -1) {
				p.code = append(p.code, m[1])
			}
		}
		blank = strings.TrimSpace(line) == "" || (blank && (strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t")))
	}
	return p
}

func isListItem(s string) bool {
	return strings.HasPrefix(s, "- ") || strings.HasPrefix(s, "* ") || regexp.MustCompile(`^\d+\. `).MatchString(s)
}

var (
	heading = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	link    = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	mdLink  = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// anchors are the #fragments GitHub gives a page's headings: the heading's
// text, lower-cased, without what is not a letter, a mark, a number, a
// connector (_), a space or a hyphen, spaces turned into hyphens; a
// repeated one gets -1, -2, … (github-slugger).
func anchors(p page) map[string]bool {
	seen := map[string]int{}
	as := map[string]bool{}
	for _, line := range p.prose {
		m := heading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		s := Slug(m[1])
		a := s
		if n := seen[s]; n > 0 {
			a = fmt.Sprintf("%s-%d", s, n)
		}
		seen[s]++
		as[a] = true
	}
	return as
}

// Slug is GitHub's anchor of a heading's Markdown text.
func Slug(md string) string {
	text := mdLink.ReplaceAllString(md, "$1")
	text = strings.NewReplacer("`", "", "**", "", "__", "").Replace(text)
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(text)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.Pc):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestSlug(t *testing.T) {
	for md, want := range map[string]string{
		"Run it locally (no AWS account, no container)": "run-it-locally-no-aws-account-no-container",
		"`predict stream`: the local mapping":           "predict-stream-the-local-mapping",
		"Layout: data → export → gen":                   "layout-data--export--gen",
		"The `ride_events` stream":                      "the-ride_events-stream",
		"Metrics and alarms":                            "metrics-and-alarms",
		"[leaves](https://x) against XGBoost":           "leaves-against-xgboost",
	} {
		assert.Equal(t, want, Slug(md), md)
	}
}

// Every relative link resolves to a file of the repository, and every
// #anchor to a heading of its page.
func TestLinks(t *testing.T) {
	root := testenv.Root(t)
	for _, problem := range linkProblems(root, pages(t, root)) {
		t.Error(problem)
	}
}

func linkProblems(root string, ps []page) []string {
	var problems []string
	byPath := map[string]page{}
	for _, p := range ps {
		byPath[p.path] = p
	}
	for _, p := range ps {
		for i, line := range p.prose {
			for _, m := range link.FindAllStringSubmatch(inlineCode.ReplaceAllString(line, ""), -1) {
				target := m[1]
				if regexp.MustCompile(`^[a-z]+:`).MatchString(target) {
					continue // https:, mailto:
				}
				file, anchor, _ := strings.Cut(target, "#")
				where := fmt.Sprintf("%s:%d: %s", p.path, i+1, target)
				dest := p.path
				if file != "" {
					dest = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(p.path), file)))
					if _, err := os.Stat(filepath.Join(root, dest)); err != nil {
						problems = append(problems, fmt.Sprintf("%s: no such file %s", where, dest))
						continue
					}
				}
				if anchor == "" {
					continue
				}
				q, ok := byPath[dest]
				if !ok {
					problems = append(problems, fmt.Sprintf("%s: an anchor into %s, which is not a page checked here", where, dest))
				} else if !anchors(q)[anchor] {
					problems = append(problems, fmt.Sprintf("%s: %s has no heading whose anchor is #%s", where, dest, anchor))
				}
			}
		}
	}
	return problems
}

// makeTargets are the Makefile's targets; a pattern rule's (image-%) as a
// pattern.
func makeTargets(t *testing.T, root string) []*regexp.Regexp {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	require.NoError(t, err)
	rule := regexp.MustCompile(`^([A-Za-z0-9_./%-][A-Za-z0-9_./% -]*?)\s*:([^=]|$)`)
	var targets []*regexp.Regexp
	for _, line := range strings.Split(string(b), "\n") {
		m := rule.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, name := range strings.Fields(m[1]) {
			targets = append(targets, regexp.MustCompile("^"+strings.ReplaceAll(regexp.QuoteMeta(name), "%", ".+")+"$"))
		}
	}
	require.NotEmpty(t, targets)
	return targets
}

// words splits a line of code into shell words, ending at a comment.
func words(line string) []string {
	if i := strings.Index(line, " #"); i >= 0 {
		line = line[:i]
	}
	return strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "$ "))
}

// trailing is what ends a word that is prose, not part of a command:
// "make test, or make release", "(make deps)".
const trailing = ",.;:)"

// Every `make TARGET` in the docs' code names a target of the Makefile.
func TestMakeTargets(t *testing.T) {
	root := testenv.Root(t)
	for _, problem := range makeProblems(makeTargets(t, root), pages(t, root)) {
		t.Error(problem)
	}
}

func makeProblems(targets []*regexp.Regexp, ps []page) []string {
	known := func(name string) bool {
		return slices.ContainsFunc(targets, func(re *regexp.Regexp) bool { return re.MatchString(name) })
	}
	target := regexp.MustCompile(`^[a-z][a-z0-9_./-]*$`)
	var problems []string
	for _, p := range ps {
		for _, line := range p.code {
			ws := words(line)
			for i, w := range ws {
				if w != "make" && !strings.HasSuffix(w, "(make") {
					continue
				}
				for _, arg := range ws[i+1:] {
					if strings.HasPrefix(arg, "-") || strings.Contains(arg, "=") {
						continue // a flag, a variable
					}
					name := strings.TrimRight(arg, trailing)
					if !target.MatchString(name) {
						break
					}
					if !known(name) {
						problems = append(problems, fmt.Sprintf("%s: `%s`: the Makefile has no target %q", p.path, strings.TrimSpace(line), name))
					}
					if name != arg {
						break
					}
				}
			}
		}
	}
	return problems
}

// predictHelp is what predict help says: each command and its flags (the
// stdin job, "", has none of its own to show).
func predictHelp(t *testing.T) map[string][]string {
	t.Helper()
	bin := testenv.GoBuild(t, "github.com/rideduration/rideduration/cmd/predict", "predict", nil)
	out, err := exec.Command(bin, "help").Output()
	require.NoError(t, err)
	cmds := map[string][]string{"": nil}
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z]+) +\S`).FindAllStringSubmatch(string(out), -1) {
		cmds[m[1]] = nil
	}
	require.Contains(t, cmds, "stream", "predict help:\n%s", out)
	flag := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)
	for cmd := range cmds {
		if cmd == "" {
			continue
		}
		c := exec.Command(bin, "help", cmd)
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		require.NoError(t, c.Run(), "predict help %s: %s", cmd, stderr.String())
		for _, m := range flag.FindAllStringSubmatch(stdout.String()+stderr.String(), -1) {
			cmds[cmd] = append(cmds[cmd], m[1])
		}
	}
	return cmds
}

// atCommand tells whether word i of a line of code is where a command
// starts: first, after |, &&, || or ;, or after variable assignments.
func atCommand(ws []string, i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch {
		case slices.Contains([]string{"|", "&&", "||", ";"}, ws[j]):
			return true
		case !regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`).MatchString(ws[j]):
			return false
		}
	}
	return true
}

// isPredict tells whether word i of a line of code runs the predict
// command: the binary (predict, build/predict) or go run ./cmd/predict.
func isPredict(ws []string, i int) bool {
	switch ws[i] {
	case "predict", "build/predict", "./predict":
		return atCommand(ws, i)
	case "./cmd/predict":
		return i >= 2 && ws[i-2] == "go" && ws[i-1] == "run" && atCommand(ws, i-2)
	}
	return false
}

// Every predict command in the docs' code is one predict help lists, with
// flags its predict help COMMAND lists.
func TestPredictCommands(t *testing.T) {
	root := testenv.Root(t)
	for _, problem := range predictProblems(predictHelp(t), pages(t, root)) {
		t.Error(problem)
	}
}

func predictProblems(cmds map[string][]string, ps []page) []string {
	command := regexp.MustCompile(`^[a-z]+$`)
	var problems []string
	for _, p := range ps {
		for _, line := range p.code {
			ws := words(line)
			for i := range ws {
				if !isPredict(ws, i) {
					continue
				}
				cmd, rest := "", ws[i+1:]
				if len(rest) > 0 && command.MatchString(strings.TrimRight(rest[0], trailing)) {
					cmd = strings.TrimRight(rest[0], trailing)
					if _, ok := cmds[cmd]; !ok {
						problems = append(problems, fmt.Sprintf("%s: `%s`: predict help lists no command %q", p.path, strings.TrimSpace(line), cmd))
						continue
					}
					if cmd != rest[0] {
						continue // prose after it
					}
					rest = rest[1:]
				}
				for _, arg := range rest {
					if strings.ContainsAny(arg, "|;&<>") || arg == "\\" {
						break
					}
					name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
					if !strings.HasPrefix(arg, "-") || name == "" || cmd == "help" {
						continue
					}
					if !slices.Contains(cmds[cmd], name) {
						what := "predict help " + cmd
						if cmd == "" {
							what = "predict, with no command,"
						}
						problems = append(problems, fmt.Sprintf("%s: `%s`: %s takes no flag -%s", p.path, strings.TrimSpace(line), what, name))
					}
				}
			}
		}
	}
	return problems
}

// The checks find what they are for: a page with a broken link, anchor,
// make target, predict command and flag gets one problem for each.
func TestChecksFindProblems(t *testing.T) {
	root := testenv.Root(t)
	bad := split("docs/bad.md", "# A page\n\n"+
		"See [missing](nosuch.md), [the README](../README.md#no-such-heading), [here](#a-page) and [there](#nowhere).\n\n"+
		"Run `make nosuchtarget` or `make test`, then:\n\n"+
		"    go run ./cmd/predict replay -nosuchflag 1 -stream ride_events x.parquet\n"+
		"    predict nosuchcommand\n"+
		"    predict -nosuchflag < rides.jsonl\n")
	ps := append(pages(t, root), bad)
	assert.Equal(t, []string{
		"docs/bad.md:3: nosuch.md: no such file docs/nosuch.md",
		"docs/bad.md:3: ../README.md#no-such-heading: README.md has no heading whose anchor is #no-such-heading",
		"docs/bad.md:3: #nowhere: docs/bad.md has no heading whose anchor is #nowhere",
	}, linkProblems(root, ps))
	assert.Equal(t, []string{"docs/bad.md: `make nosuchtarget`: the Makefile has no target \"nosuchtarget\""},
		makeProblems(makeTargets(t, root), []page{bad}))
	cmds := map[string][]string{"": nil, "replay": {"stream", "rate"}, "help": nil}
	assert.Equal(t, []string{
		"docs/bad.md: `go run ./cmd/predict replay -nosuchflag 1 -stream ride_events x.parquet`: predict help replay takes no flag -nosuchflag",
		"docs/bad.md: `predict nosuchcommand`: predict help lists no command \"nosuchcommand\"",
		"docs/bad.md: `predict -nosuchflag < rides.jsonl`: predict, with no command, takes no flag -nosuchflag",
	}, predictProblems(cmds, []page{bad}))
}

// docs/architecture.svg is what Debian's graphviz draws from
// docs/architecture.dot: make diagram redraws it.
func TestDiagramIsCurrent(t *testing.T) {
	root := testenv.Root(t)
	dot := testenv.Tool(t, "dot", "graphviz: make deps (apt-get install graphviz)")
	out, err := exec.Command(dot, "-Tsvg", filepath.Join(root, "docs", "architecture.dot")).Output()
	require.NoError(t, err)
	committed, err := os.ReadFile(filepath.Join(root, "docs", "architecture.svg"))
	require.NoError(t, err)
	require.True(t, bytes.Equal(out, committed), "docs/architecture.svg is not what docs/architecture.dot draws: make diagram")
}
