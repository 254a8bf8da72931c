package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/rideduration/rideduration/internal/testenv"
)

// The function's template, and the release stack's (the roles and bucket its deploys use).
const (
	templatePath = "template.yaml"
	releasePath  = "release.yaml"
)

// cfnLint returns the path of cfn-lint. Without it the test is skipped;
// with CI set it fails: CI must not go green because the linter is absent.
func cfnLint(t *testing.T) string {
	t.Helper()
	return testenv.Tool(t, "cfn-lint", "pip install cfn-lint (1.x)")
}

// runCfnLint lints one template (cfn-lint's default rule set: errors and warnings) and returns
// its findings, one per line, and whether it exited non-zero.
func runCfnLint(t *testing.T, path string) (findings string, failed bool) {
	t.Helper()
	cmd := exec.Command(cfnLint(t), "--format", "parseable", "--", path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("running cfn-lint: %v\n%s", err, stderr.String())
		}
	}
	return strings.TrimSpace(stdout.String() + "\n" + stderr.String()), err != nil
}

func TestCfnLint(t *testing.T) {
	t.Parallel()
	for _, path := range []string{templatePath, releasePath} {
		findings, failed := runCfnLint(t, path)
		if failed || findings != "" {
			t.Errorf("cfn-lint %s reported findings (every error and warning must be fixed):\n%s", path, findings)
		}
	}
}

// TestCfnLintSeesErrors guards the test above: a template broken on purpose must make cfn-lint
// fail, so a silent or misconfigured linter cannot pass for a clean template.
func TestCfnLintSeesErrors(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(src), "MemorySize: 128", "MemorySize: 64", 1)
	if broken == string(src) {
		t.Fatal("template has no `MemorySize: 128` to break")
	}
	path := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	findings, failed := runCfnLint(t, path)
	if !failed || !strings.Contains(findings, "E3034") {
		t.Fatalf("cfn-lint accepted MemorySize 64 (want E3034 and a non-zero exit); output:\n%s", findings)
	}
}

// ---- the template's content ----

// cfnValue turns a YAML node into plain Go values, rewriting CloudFormation's short-form tags
// into their long form: !Ref X -> {"Ref": X}, !GetAtt A.B -> {"Fn::GetAtt": [A, B]},
// !Sub s -> {"Fn::Sub": s}, and so on.
func cfnValue(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		return cfnValue(n.Content[0])
	case yaml.AliasNode:
		return nil, fmt.Errorf("line %d: YAML aliases are not supported by CloudFormation", n.Line)
	case yaml.ScalarNode:
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			v = n.Value
		} else if err := n.Decode(&v); err != nil {
			return nil, err
		}
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			e, err := cfnValue(c)
			if err != nil {
				return nil, err
			}
			list = append(list, e)
		}
		v = list
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", n.Content[i].Line, k)
			}
			e, err := cfnValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = e
		}
		v = m
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		name := n.Tag[1:]
		switch name {
		case "Ref", "Condition":
			return map[string]any{name: v}, nil
		case "GetAtt":
			if s, ok := v.(string); ok {
				res, attr, _ := strings.Cut(s, ".")
				v = []any{res, attr}
			}
		}
		return map[string]any{"Fn::" + name: v}, nil
	}
	return v, nil
}

// parseCFN reads a CloudFormation template into plain Go values (cfnValue).
func parseCFN(src []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	return cfnValue(&doc)
}

type template struct {
	Parameters map[string]map[string]any
	Conditions map[string]any
	Mappings   map[string]map[string]map[string]any
	Globals    map[string]any
	Resources  map[string]map[string]any
	Outputs    map[string]map[string]any
}

// parseTemplate reads a CloudFormation template into a template.
func parseTemplate(src []byte) (template, error) {
	var tpl template
	v, err := parseCFN(src)
	if err != nil {
		return tpl, err
	}
	// A JSON round trip turns the generic maps into the typed struct.
	raw, err := json.Marshal(v)
	if err != nil {
		return tpl, err
	}
	err = json.Unmarshal(raw, &tpl)
	return tpl, err
}

func loadTemplateFile(t *testing.T, path string) template {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := parseTemplate(src)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tpl
}

func loadTemplate(t *testing.T) template { return loadTemplateFile(t, templatePath) }

func (tpl template) ofType(types ...string) []string {
	var ids []string
	for id, r := range tpl.Resources {
		if slices.Contains(types, r["Type"].(string)) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// get walks nested maps: get(v, "A", "B") is v["A"]["B"], nil when absent.
func get(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func refTo(v any) string {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		s, _ := m["Ref"].(string)
		return s
	}
	return ""
}

func getAttArn(v any) string {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		if l, ok := m["Fn::GetAtt"].([]any); ok && len(l) == 2 && l[1] == "Arn" {
			s, _ := l[0].(string)
			return s
		}
	}
	return ""
}

// asList makes a string-or-list IAM field (Action, Resource) a list.
func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func canon(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// numberParam checks that v is a Ref to a Number parameter and returns its name.
func (tpl template) numberParam(t *testing.T, what string, v any) string {
	t.Helper()
	p := refTo(v)
	if p == "" || tpl.Parameters[p]["Type"] != "Number" {
		t.Errorf("%s = %s, want a Ref to a Number parameter", what, canon(v))
	}
	return p
}

func TestTemplateProperties(t *testing.T) {
	tpl := loadTemplate(t)

	// The streams, by the default of the parameter that names them.
	streamNamed := func(name string) string {
		for _, id := range tpl.ofType("AWS::Kinesis::Stream") {
			n := get(tpl.Resources[id], "Properties", "Name")
			if p := refTo(n); p != "" {
				n = tpl.Parameters[p]["Default"]
			}
			if n == name {
				return id
			}
		}
		t.Fatalf("no AWS::Kinesis::Stream named %q", name)
		return ""
	}
	input := streamNamed("ride_events")
	predictions := streamNamed("ride_prediction")
	for _, id := range []string{input, predictions} {
		p := tpl.numberParam(t, id+".ShardCount", get(tpl.Resources[id], "Properties", "ShardCount"))
		if lo, _ := tpl.Parameters[p]["MinValue"].(float64); lo < 1 {
			t.Errorf("parameter %s: MinValue %v, want >= 1", p, tpl.Parameters[p]["MinValue"])
		}
	}

	// The function: exactly one zip and one image variant, on opposite conditions.
	globals, _ := get(tpl.Globals, "Function").(map[string]any)
	prop := func(id, name string) any { // resource property, else the SAM global
		if v, ok := props(tpl.Resources[id])[name]; ok {
			return v
		}
		return globals[name]
	}
	functions := tpl.ofType("AWS::Serverless::Function", "AWS::Lambda::Function")
	byPackage := map[string]string{}
	conditions := map[string]bool{}
	for _, id := range functions {
		byPackage[fmt.Sprint(prop(id, "PackageType"))] = id
		c, _ := tpl.Resources[id]["Condition"].(string)
		conditions[c] = true
	}
	zipFn, imageFn := byPackage["Zip"], byPackage["Image"]
	if len(functions) != 2 || zipFn == "" || imageFn == "" || len(conditions) != 2 || conditions[""] {
		t.Fatalf("functions %v: want one PackageType Zip and one Image, each on its own Condition", functions)
	}
	if prop(zipFn, "Runtime") != "provided.al2023" || prop(zipFn, "Handler") != "bootstrap" {
		t.Errorf("%s: Runtime %v, Handler %v; want provided.al2023, bootstrap", zipFn, prop(zipFn, "Runtime"), prop(zipFn, "Handler"))
	}
	if refTo(prop(imageFn, "ImageUri")) == "" {
		t.Errorf("%s: ImageUri %s, want a Ref to a parameter", imageFn, canon(prop(imageFn, "ImageUri")))
	}
	var role, deadLetter string
	for _, id := range functions {
		if m := prop(id, "MemorySize"); m != 128.0 {
			t.Errorf("%s: MemorySize %v, want 128", id, m)
		}
		if to, _ := prop(id, "Timeout").(float64); to < 3 || to > 900 {
			t.Errorf("%s: Timeout %v, want 3..900 s", id, prop(id, "Timeout"))
		}
		arch := asList(prop(id, "Architectures"))
		if len(arch) != 1 || refTo(arch[0]) == "" {
			t.Errorf("%s: Architectures %s, want [Ref to a parameter]", id, canon(arch))
		} else if av := canon(tpl.Parameters[refTo(arch[0])]["AllowedValues"]); av != `["arm64","x86_64"]` {
			t.Errorf("%s: Architectures parameter allows %s, want [arm64, x86_64]", id, av)
		}
		env := prop(id, "Environment")
		if s := refTo(get(env, "Variables", "PREDICTIONS_STREAM_NAME")); s != predictions {
			t.Errorf("%s: PREDICTIONS_STREAM_NAME is %s, want Ref %s", id, canon(get(env, "Variables", "PREDICTIONS_STREAM_NAME")), predictions)
		}
		dl := refTo(get(env, "Variables", "DEAD_LETTER_STREAM_NAME"))
		if dl == "" || dl == input || dl == predictions || tpl.Resources[dl]["Type"] != "AWS::Kinesis::Stream" {
			t.Errorf("%s: DEAD_LETTER_STREAM_NAME is %s, want Ref to a third Kinesis stream", id, canon(get(env, "Variables", "DEAD_LETTER_STREAM_NAME")))
		}
		deadLetter = dl
		r := getAttArn(prop(id, "Role"))
		if r == "" || tpl.Resources[r]["Type"] != "AWS::IAM::Role" || (role != "" && r != role) {
			t.Errorf("%s: Role %s, want GetAtt of the one AWS::IAM::Role", id, canon(prop(id, "Role")))
		}
		role = r
		// Every permission and every event source is spelled out below, not generated by SAM.
		for _, generated := range []string{"Policies", "Events"} {
			if prop(id, generated) != nil {
				t.Errorf("%s: has %s; the role and the mapping must be the explicit resources checked here", id, generated)
			}
		}
	}

	t.Run("EventSourceMapping", func(t *testing.T) {
		mappings := tpl.ofType("AWS::Lambda::EventSourceMapping")
		if len(mappings) != 1 {
			t.Fatalf("event source mappings %v, want exactly one", mappings)
		}
		m := props(tpl.Resources[mappings[0]])
		want := canon(map[string]any{"Fn::If": []any{
			tpl.Resources[imageFn]["Condition"], map[string]any{"Ref": imageFn}, map[string]any{"Ref": zipFn}}})
		if got := canon(m["FunctionName"]); got != want {
			t.Errorf("FunctionName %s, want %s", got, want)
		}
		if s := getAttArn(m["EventSourceArn"]); s != input {
			t.Errorf("EventSourceArn %s, want GetAtt %s.Arn", canon(m["EventSourceArn"]), input)
		}
		if got := canon(m["FunctionResponseTypes"]); got != `["ReportBatchItemFailures"]` {
			t.Errorf("FunctionResponseTypes %s, want [ReportBatchItemFailures]", got)
		}
		if m["BisectBatchOnFunctionError"] != true {
			t.Errorf("BisectBatchOnFunctionError %v, want true", m["BisectBatchOnFunctionError"])
		}
		// -1 (the default when absent) means retry until the record expires: it must be finite.
		if n, ok := m["MaximumRetryAttempts"].(float64); !ok || n < 0 || n > 10000 {
			t.Errorf("MaximumRetryAttempts %v, want a literal 0..10000", m["MaximumRetryAttempts"])
		}
		if n, ok := m["MaximumRecordAgeInSeconds"].(float64); !ok || n < 60 || n > 604800 {
			t.Errorf("MaximumRecordAgeInSeconds %v, want a literal 60..604800", m["MaximumRecordAgeInSeconds"])
		}
		q := getAttArn(get(m, "DestinationConfig", "OnFailure", "Destination"))
		if q == "" || tpl.Resources[q]["Type"] != "AWS::SQS::Queue" {
			t.Errorf("DestinationConfig.OnFailure.Destination %s, want GetAtt of an AWS::SQS::Queue",
				canon(get(m, "DestinationConfig", "OnFailure", "Destination")))
		}
		tpl.numberParam(t, "BatchSize", m["BatchSize"])
		tpl.numberParam(t, "ParallelizationFactor", m["ParallelizationFactor"])
		sp := refTo(m["StartingPosition"])
		if av := canon(tpl.Parameters[sp]["AllowedValues"]); sp == "" || av != `["LATEST","TRIM_HORIZON"]` {
			t.Errorf("StartingPosition %s (allowed %s), want a Ref to a parameter allowing LATEST, TRIM_HORIZON", canon(m["StartingPosition"]), av)
		}
	})

	t.Run("LeastPrivilege", func(t *testing.T) {
		// All IAM in the template: the role's inline policies, and no other policy resources.
		if other := tpl.ofType("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role"); len(other) != 1 || other[0] != role {
			t.Fatalf("IAM resources %v, want only the function role %s", other, role)
		}
		r := props(tpl.Resources[role])
		if r["ManagedPolicyArns"] != nil {
			t.Errorf("%s: ManagedPolicyArns %s; every permission must be an inline statement", role, canon(r["ManagedPolicyArns"]))
		}
		if got := canon(get(asList(get(r, "AssumeRolePolicyDocument", "Statement"))[0], "Principal")); got != `{"Service":"lambda.amazonaws.com"}` {
			t.Errorf("%s: trusted principal %s, want lambda.amazonaws.com", role, got)
		}
		// resourcesFor[action] = the resources of every Allow statement that grants it.
		resourcesFor := map[string][]string{}
		for _, p := range asList(r["Policies"]) {
			for _, st := range asList(get(p, "PolicyDocument", "Statement")) {
				if get(st, "Effect") != "Allow" || get(st, "NotAction") != nil || get(st, "NotResource") != nil {
					t.Errorf("statement %s: only plain Allow statements are expected", canon(st))
					continue
				}
				for _, a := range asList(get(st, "Action")) {
					action, _ := a.(string)
					for _, res := range asList(get(st, "Resource")) {
						if strings.Contains(action, "*") || res == "*" {
							t.Errorf("statement %s: wildcard action or resource", canon(st))
						}
						resourcesFor[action] = append(resourcesFor[action], canon(res))
					}
				}
			}
		}
		arn := func(ids ...string) []string {
			var l []string
			for _, id := range ids {
				l = append(l, canon(map[string]any{"Fn::GetAtt": []any{id, "Arn"}}))
			}
			sort.Strings(l)
			return l
		}
		want := map[string][]string{
			"kinesis:PutRecords": arn(predictions, deadLetter),
			"kinesis:GetRecords": arn(input),
			"sqs:SendMessage":    arn(getAttArn(get(props(tpl.Resources[tpl.ofType("AWS::Lambda::EventSourceMapping")[0]]), "DestinationConfig", "OnFailure", "Destination"))),
		}
		for action, w := range want {
			got := slices.Clone(resourcesFor[action])
			sort.Strings(got)
			if !reflect.DeepEqual(got, w) {
				t.Errorf("%s granted on %v, want exactly %v", action, got, w)
			}
		}
		// The function writes with PutRecords only (putrecords.API has no other call).
		if res := resourcesFor["kinesis:PutRecord"]; len(res) > 0 {
			t.Errorf("kinesis:PutRecord granted on %v; the function never calls it", res)
		}
		// Kinesis access of any kind is only to the three streams: reads only to the input one.
		for action, res := range resourcesFor {
			if strings.HasPrefix(action, "kinesis:") && !strings.HasPrefix(action, "kinesis:Put") {
				for _, r := range res {
					if r != arn(input)[0] {
						t.Errorf("%s granted on %s; reads are for %s only", action, r, input)
					}
				}
			}
		}
	})

	mappings := tpl.ofType("AWS::Lambda::EventSourceMapping")
	if len(mappings) != 1 {
		t.Fatalf("event source mappings %v, want exactly one", mappings)
	}
	mapping := props(tpl.Resources[mappings[0]])
	queue := getAttArn(get(mapping, "DestinationConfig", "OnFailure", "Destination"))

	t.Run("Evidence", func(t *testing.T) {
		// What the function could not process: neither deleting the stack nor replacing them
		// destroys it.
		for _, id := range []string{deadLetter, queue} {
			if r := tpl.Resources[id]; r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
				t.Errorf("%s: DeletionPolicy %v, UpdateReplacePolicy %v; want Retain, Retain", id, r["DeletionPolicy"], r["UpdateReplacePolicy"])
			}
		}
	})

	t.Run("OnFailureLivesAsLongAsItsRecords", func(t *testing.T) {
		// A message points at its batch's records in the input stream: the queue keeps it
		// exactly as long as the stream keeps them, for every choice of retention.
		hours := get(tpl.Resources[input], "Properties", "RetentionPeriodHours")
		seconds := get(tpl.Resources[queue], "Properties", "MessageRetentionPeriod")
		h, _ := get(hours, "Fn::FindInMap").([]any)
		s, _ := get(seconds, "Fn::FindInMap").([]any)
		if len(h) != 3 || len(s) != 3 || h[0] != s[0] || canon(h[1]) != canon(s[1]) {
			t.Fatalf("%s.RetentionPeriodHours %v and %s.MessageRetentionPeriod %v: want the same !FindInMap entry", input, canon(hours), queue, canon(seconds))
		}
		param := refTo(h[1])
		allowed := asList(tpl.Parameters[param]["AllowedValues"])
		if len(allowed) == 0 {
			t.Fatalf("parameter %s has no AllowedValues", param)
		}
		for _, v := range allowed {
			e := tpl.Mappings[h[0].(string)][v.(string)]
			if e[h[2].(string)].(float64)*3600 != e[s[2].(string)].(float64) {
				t.Errorf("%s=%v: the stream keeps records %v h, the queue messages %v s", param, v, e[h[2].(string)], e[s[2].(string)])
			}
		}
	})

	t.Run("TLSOnlyQueue", func(t *testing.T) {
		found := false
		for _, id := range tpl.ofType("AWS::SQS::QueuePolicy") {
			p := props(tpl.Resources[id])
			if !slices.ContainsFunc(asList(p["Queues"]), func(q any) bool { return refTo(q) == queue }) {
				continue
			}
			for _, st := range asList(get(p, "PolicyDocument", "Statement")) {
				found = found || tlsOnly(st, "sqs", map[string]any{"Fn::GetAtt": []any{queue, "Arn"}})
			}
		}
		if !found {
			t.Errorf("no AWS::SQS::QueuePolicy on %s denies sqs:* to everyone when aws:SecureTransport is false", queue)
		}
	})

	t.Run("ReservedConcurrency", func(t *testing.T) {
		shards := tpl.Parameters[refTo(get(tpl.Resources[input], "Properties", "ShardCount"))]
		factor := tpl.Parameters[refTo(mapping["ParallelizationFactor"])]
		for _, id := range functions {
			p := tpl.optional(t, id+".ReservedConcurrentExecutions", prop(id, "ReservedConcurrentExecutions"), 0.0)
			if p == "" {
				continue
			}
			tpl.numberParam(t, id+".ReservedConcurrentExecutions", map[string]any{"Ref": p})
			param := tpl.Parameters[p]
			// Lambda runs ShardCount x ParallelizationFactor batches at once: the default
			// deployment must not be throttled, and the largest mapping must be reservable.
			if need := shards["Default"].(float64) * factor["Default"].(float64); param["Default"].(float64) < need {
				t.Errorf("parameter %s: Default %v throttles the default mapping (%v concurrent batches)", p, param["Default"], need)
			}
			if most := shards["MaxValue"].(float64) * factor["MaxValue"].(float64); param["MaxValue"] != most || param["MinValue"] != 0.0 {
				t.Errorf("parameter %s: MinValue %v, MaxValue %v; want 0 (none reserved) and %v (ShardCount x ParallelizationFactor at most)",
					p, param["MinValue"], param["MaxValue"], most)
			}
		}
	})

	t.Run("PermissionsBoundary", func(t *testing.T) {
		p := tpl.optional(t, role+".PermissionsBoundary", get(props(tpl.Resources[role]), "PermissionsBoundary"), "")
		if p != "" && tpl.Parameters[p]["Type"] != "String" {
			t.Errorf("parameter %s: Type %v, want String (an ARN)", p, tpl.Parameters[p]["Type"])
		}
	})
}

// optional checks that v is set from a parameter unless that parameter is none, the way the
// template writes it: !If [C, !Ref P, !Ref AWS::NoValue] with C: !Not [!Equals [!Ref P, none]],
// and none P's default. It returns P.
func (tpl template) optional(t *testing.T, what string, v, none any) string {
	t.Helper()
	f, _ := get(v, "Fn::If").([]any)
	if len(f) != 3 || refTo(f[1]) == "" || refTo(f[2]) != "AWS::NoValue" {
		t.Errorf("%s = %s, want !If [condition, !Ref parameter, !Ref AWS::NoValue]", what, canon(v))
		return ""
	}
	p := refTo(f[1])
	cond, _ := f[0].(string)
	want := map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": p}, none}}}}
	if got := tpl.Conditions[cond]; canon(got) != canon(want) {
		t.Errorf("%s: condition %s is %s, want %s", what, cond, canon(got), canon(want))
	}
	if d := tpl.Parameters[p]["Default"]; none == "" && d != none {
		t.Errorf("parameter %s: Default %v, want %q (none)", p, d, none)
	}
	return p
}

// tlsOnly reports whether a policy statement denies every action of service (s3, sqs) on
// resources (as the template writes them) to everyone over a connection without TLS.
func tlsOnly(st any, service string, resources ...any) bool {
	principal := canon(get(st, "Principal"))
	actions := asList(get(st, "Action"))
	secure := get(st, "Condition", "Bool", "aws:SecureTransport")
	if get(st, "Effect") != "Deny" || (principal != `"*"` && principal != `{"AWS":"*"}`) ||
		!slices.ContainsFunc(actions, func(a any) bool { return a == "*" || a == service+":*" }) ||
		(secure != "false" && secure != false) {
		return false
	}
	for _, r := range resources {
		if !slices.ContainsFunc(asList(get(st, "Resource")), func(x any) bool { return canon(x) == canon(r) }) {
			return false
		}
	}
	return true
}

// actionCovers reports whether a policy's action pattern (kms:GenerateDataKey*) covers action.
func actionCovers(pattern, action string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(action, p)
	}
	return pattern == action
}

// keyStatements returns the Allow statements of a key policy that name principal (canon of
// one principal, {"Service":"cloudwatch.amazonaws.com"}) among theirs.
func keyStatements(policy any, principal string) []any {
	var l []any
	for _, st := range items(get(policy, "Statement")) {
		for kind, ps := range get(st, "Principal").(map[string]any) {
			if get(st, "Effect") == "Allow" && slices.ContainsFunc(items(ps), func(p any) bool { return canon(map[string]any{kind: p}) == principal }) {
				l = append(l, st)
			}
		}
	}
	return l
}

// The alarms' e-mail topic is encrypted with a key CloudWatch may use: CloudWatch publishes an
// alarm's notification with the topic's key, and the AWS managed key alias/aws/sns cannot
// grant it that (its key policy cannot be changed). AWS's SNS developer guide,
// https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
// ("Enable compatibility between event sources from AWS services and encrypted topics"):
// "Several AWS services publish events to Amazon SNS topics. To allow these event sources to
// work with encrypted topics, you must perform the following steps. 1. Use a customer managed
// key. [...] 2. To allow the AWS service to have the kms:GenerateDataKey* and kms:Decrypt
// permissions, add the following statement to the KMS policy", Amazon CloudWatch's service
// principal being cloudwatch.amazonaws.com; step 3 adds aws:SourceAccount and aws:SourceArn.
// AWS's knowledge center, https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns,
// quotes what an alarm's history says otherwise: "CloudWatch Alarms does not have authorization
// to access the SNS topic encryption key."
func TestAlarmTopicKeyLetsCloudWatchPublish(t *testing.T) {
	tpl := loadTemplate(t)
	topicID := tpl.theOne(t, "AWS::SNS::Topic")
	topic := tpl.Resources[topicID]
	keyRef := props(topic)["KmsMasterKeyId"]
	require.NotEqual(t, "alias/aws/sns", keyRef, "%s: the AWS managed key cannot let CloudWatch publish", topicID)
	keyID := getAttArn(keyRef)
	key := tpl.Resources[keyID]
	require.Equal(t, "AWS::KMS::Key", key["Type"], "%s: KmsMasterKeyId %s: want !GetAtt <a customer managed key of the template>.Arn", topicID, canon(keyRef))
	assert.Equal(t, topic["Condition"], key["Condition"], "%s exists exactly when %s does", keyID, topicID)
	p := props(key)
	assert.Equal(t, true, p["EnableKeyRotation"], "%s: EnableKeyRotation", keyID)

	// CloudWatch may encrypt and decrypt with it, for this account's alarms that notify the topic.
	var alarms []string
	for _, id := range tpl.ofType("AWS::CloudWatch::Alarm") {
		if strings.Contains(canon(props(tpl.Resources[id])["AlarmActions"]), `{"Ref":"`+topicID+`"}`) {
			alarms = append(alarms, "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"+nameOf(props(tpl.Resources[id])["AlarmName"]))
		}
	}
	require.NotEmpty(t, alarms, "alarms that notify %s", topicID)
	cw := keyStatements(p["KeyPolicy"], `{"Service":"cloudwatch.amazonaws.com"}`)
	require.Len(t, cw, 1, "%s: one statement for cloudwatch.amazonaws.com", keyID)
	st := cw[0]
	for _, want := range []string{"kms:Decrypt", "kms:GenerateDataKey"} {
		assert.True(t, slices.ContainsFunc(items(get(st, "Action")), func(a any) bool { s, _ := a.(string); return actionCovers(s, want) }),
			"%s: cloudwatch.amazonaws.com may %s", keyID, want)
	}
	assert.Equal(t, `{"Ref":"AWS::AccountId"}`, canon(get(st, "Condition", "StringEquals", "aws:SourceAccount")), "%s: aws:SourceAccount", keyID)
	var arns []string
	for _, a := range items(get(st, "Condition", "ArnLike", "aws:SourceArn")) {
		arns = append(arns, nameOf(a))
	}
	sort.Strings(alarms)
	sort.Strings(arns)
	assert.Equal(t, alarms, arns, "%s: aws:SourceArn: the alarms that notify %s", keyID, topicID)

	// The account administers it (IAM policies decide who may), and cannot be locked out; so
	// does the role the stack is deployed as, when it is given.
	for _, principal := range []string{`{"AWS":{"Fn::Sub":"arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}`,
		`{"AWS":{"Fn::If":["HasCloudFormationRole",{"Ref":"CloudFormationRoleArn"},{"Ref":"AWS::NoValue"}]}}`} {
		admin := keyStatements(p["KeyPolicy"], principal)
		if assert.Len(t, admin, 1, "%s: one statement for %s", keyID, principal) {
			assert.Contains(t, items(get(admin[0], "Action")), "kms:PutKeyPolicy", "%s: %s may change the key policy", keyID, principal)
		}
	}
	tpl.optional(t, "the deploy role", map[string]any{"Fn::If": []any{"HasCloudFormationRole", map[string]any{"Ref": "CloudFormationRoleArn"}, map[string]any{"Ref": "AWS::NoValue"}}}, "")
}
