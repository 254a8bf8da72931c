package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Each value is checked where it is read, given or derived: a value that
// fails is refused with its variable's name and what it must be.
var (
	runIDForm     = regexp.MustCompile(`^[0-9a-f]{32}$`)
	regionForm    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	accountForm   = regexp.MustCompile(`^[0-9]{12}$`)
	stackForm     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)
	bucketForm    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	ecrRepoForm   = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$`)
	registryForm  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)
	imageForm     = regexp.MustCompile(`^[a-z0-9]+([._/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$`)
	semverTag     = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)
	commitTag     = regexp.MustCompile(`^[0-9a-f]{7,40}(-dirty)?$`)
	roleARNForm   = regexp.MustCompile(`^arn:(aws[a-z-]*):iam::([0-9]{12}):role/[A-Za-z0-9+=,.@_/-]+$`)
	policyARNForm = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:policy/[A-Za-z0-9+=,.@_/-]+$`)
	oidcARNForm   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*$`)
	repoForm      = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$`)
	paramKeyForm  = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	mlflowForm    = regexp.MustCompile(`^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/([A-Za-z0-9!_.*'()/-]+?)/?$`)
)

// valueError is a value refused: the variable, where it came from, what it
// must be.
func valueError(name, from, value, want string) error {
	if from != "" {
		from = " (" + from + ")"
	}
	return fmt.Errorf("%s=%q%s: want %s", name, value, from, want)
}

// tag is the image tag: IMAGE_TAG, or git's name for HEAD (the nearest v*
// tag it descends from, or the abbreviated commit hash; -dirty for a
// modified tree). Git allows ';', '$' and more in tag names: git's answer
// is checked as IMAGE_TAG is.
func (d *deployer) tag() (string, error) {
	if d.imageTag != "" {
		return d.imageTag, nil
	}
	from := "IMAGE_TAG"
	tag := d.env("IMAGE_TAG")
	if tag == "" {
		from = "from git describe --always --dirty --match 'v[0-9]*'"
		out, err := d.output("git", "describe", "--always", "--dirty", "--match", "v[0-9]*")
		if err != nil {
			return "", fmt.Errorf("IMAGE_TAG: git describe: %v; set IMAGE_TAG", err)
		}
		tag = strings.TrimSpace(out)
	} else {
		from = ""
	}
	if !semverTag.MatchString(tag) && !commitTag.MatchString(tag) {
		return "", valueError("IMAGE_TAG", from, tag, "v<major>.<minor>.<patch>[-<pre-release>] or a commit hash (7 to 40 hex digits)")
	}
	d.imageTag = tag
	return tag, nil
}

// output runs a command (no shell) and returns its stdout.
func (d *deployer) output(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = d.stderr
	b, err := cmd.Output()
	return string(b), err
}

// templateParam is what a template declares of a parameter, as far as the
// values given are checked against it.
type templateParam struct {
	Type           string   `yaml:"Type"`
	AllowedValues  []string `yaml:"AllowedValues"`
	AllowedPattern string   `yaml:"AllowedPattern"`
	MinValue       *float64 `yaml:"MinValue"`
	MaxValue       *float64 `yaml:"MaxValue"`
}

// readParameters reads the Parameters a CloudFormation template declares.
func readParameters(path string) (map[string]templateParam, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var tpl struct {
		Parameters map[string]templateParam `yaml:"Parameters"`
	}
	if err := yaml.Unmarshal(src, &tpl); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(tpl.Parameters) == 0 {
		return nil, fmt.Errorf("%s declares no Parameters", path)
	}
	return tpl.Parameters, nil
}

// param is one stack parameter, and the variable it came from.
type param struct {
	key, value, from string
}

// parseParams splits a list of Key=Value words (DEPLOY_PARAMS,
// RELEASE_PARAMS), separated by spaces, tabs or newlines.
func parseParams(name, list string) ([]param, error) {
	var ps []param
	for _, w := range strings.Fields(list) {
		k, v, ok := strings.Cut(w, "=")
		if !ok || !paramKeyForm.MatchString(k) {
			return nil, fmt.Errorf("%s: %q: want Key=Value, a stack parameter (e.g. AlarmEmail=ops@example.com)", name, w)
		}
		ps = append(ps, param{k, v, name})
	}
	return ps, nil
}

// checkParams checks each parameter against the template: a key it
// declares, a value it allows, nothing that starts with '-'.
func checkParams(tplPath string, decl map[string]templateParam, ps []param) error {
	for _, p := range ps {
		d, ok := decl[p.key]
		if !ok {
			return fmt.Errorf("%s: %s=%q: %s declares no parameter %s", p.from, p.key, p.value, tplPath, p.key)
		}
		bad := func(want string) error {
			return fmt.Errorf("%s: %s=%q: want %s", p.from, p.key, p.value, want)
		}
		if strings.HasPrefix(p.value, "-") {
			return bad("a value that does not start with '-'")
		}
		if strings.ContainsAny(p.value, "\x00\n\r") {
			return bad("one line")
		}
		if len(d.AllowedValues) > 0 && !slices.Contains(d.AllowedValues, p.value) {
			return bad("one of " + strings.Join(d.AllowedValues, ", "))
		}
		if d.AllowedPattern != "" {
			re, err := regexp.Compile(d.AllowedPattern)
			if err == nil && !re.MatchString(p.value) {
				return bad("a value matching " + d.AllowedPattern)
			}
		}
		if d.Type == "Number" {
			n, err := strconv.ParseFloat(p.value, 64)
			if err != nil || !numberForm.MatchString(p.value) {
				return bad("a number")
			}
			if d.MinValue != nil && n < *d.MinValue || d.MaxValue != nil && n > *d.MaxValue {
				return bad(fmt.Sprintf("a number from %s to %s", bound(d.MinValue, "-∞"), bound(d.MaxValue, "∞")))
			}
		}
	}
	return nil
}

var numberForm = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

func bound(v *float64, none string) string {
	if v == nil {
		return none
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// trainingPercentiles reads the dashboard's reference lines from the
// statistics predict report compiles in: the median and the 90th
// percentile (the 5th and 9th decile edges) of the compiled model's
// predictions over its training month, in seconds, rounded half to even.
func trainingPercentiles(path string) (p50, p90 string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	var month struct {
		Columns []struct {
			Column string `json:"column"`
			Drift  struct {
				Edges []float64 `json:"edges"`
			} `json:"drift"`
		} `json:"columns"`
	}
	if err := json.Unmarshal(b, &month); err != nil {
		return "", "", fmt.Errorf("%s: %v", path, err)
	}
	for _, c := range month.Columns {
		if c.Column == "prediction" && len(c.Drift.Edges) == 9 {
			sec := func(m float64) string { return strconv.Itoa(int(math.RoundToEven(m * 60))) }
			return sec(c.Drift.Edges[4]), sec(c.Drift.Edges[8]), nil
		}
	}
	return "", "", fmt.Errorf("%s: no column prediction with 9 decile edges", path)
}
