package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// functionStack names the parts of template.yaml the checks below tie together, found by what
// they are rather than by their logical ids.
type functionStack struct {
	tpl                                   template
	input, predictions, deadLetter, queue string // the streams and the on-failure queue
	role, mapping                         string
	functions                             []string // the zip and the image variant
}

// loadFunctionStack reads template.yaml and finds its parts: the streams by their parameters'
// default names, the dead-letter stream and the role from the functions, the queue from the
// one event source mapping.
func loadFunctionStack(t *testing.T) functionStack {
	t.Helper()
	s := functionStack{tpl: loadTemplate(t)}
	streamNamed := func(name string) string {
		for _, id := range s.tpl.ofType("AWS::Kinesis::Stream") {
			n := get(s.tpl.Resources[id], "Properties", "Name")
			if p := refTo(n); p != "" {
				n = s.tpl.Parameters[p]["Default"]
			}
			if n == name {
				return id
			}
		}
		t.Fatalf("no AWS::Kinesis::Stream named %q", name)
		return ""
	}
	s.input, s.predictions = streamNamed("ride_events"), streamNamed("ride_prediction")
	s.functions = s.tpl.ofType("AWS::Serverless::Function", "AWS::Lambda::Function")
	require.Len(t, s.functions, 2, "functions: the zip and the image variant")
	s.deadLetter = refTo(get(s.prop(s.functions[0], "Environment"), "Variables", "DEAD_LETTER_STREAM_NAME"))
	s.role = getAttArn(s.prop(s.functions[0], "Role"))
	s.mapping = s.tpl.theOne(t, "AWS::Lambda::EventSourceMapping")
	s.queue = getAttArn(get(props(s.tpl.Resources[s.mapping]), "DestinationConfig", "OnFailure", "Destination"))
	return s
}

// prop is a function's property, else SAM's global one.
func (s functionStack) prop(id, name string) any {
	if v, ok := props(s.tpl.Resources[id])[name]; ok {
		return v
	}
	return get(s.tpl.Globals, "Function", name)
}

// Each variant of the function writes to the streams and runs as the role the checks below
// hold to least privilege; SAM generates no policy and no event source for it.
func TestFunctionWiring(t *testing.T) {
	s := loadFunctionStack(t)
	for _, id := range s.functions {
		env := s.prop(id, "Environment")
		for _, c := range []struct {
			what string
			got  any
			ok   bool
		}{
			{"PREDICTIONS_STREAM_NAME is !Ref the predictions stream", refTo(get(env, "Variables", "PREDICTIONS_STREAM_NAME")), refTo(get(env, "Variables", "PREDICTIONS_STREAM_NAME")) == s.predictions},
			{"DEAD_LETTER_STREAM_NAME is !Ref a third stream", s.deadLetter,
				s.deadLetter != "" && s.deadLetter != s.input && s.deadLetter != s.predictions && s.tpl.Resources[s.deadLetter]["Type"] == "AWS::Kinesis::Stream" &&
					refTo(get(env, "Variables", "DEAD_LETTER_STREAM_NAME")) == s.deadLetter},
			{"Role is !GetAtt the template's one role", canon(s.prop(id, "Role")), getAttArn(s.prop(id, "Role")) == s.role && s.tpl.Resources[s.role]["Type"] == "AWS::IAM::Role"},
			{"no SAM-generated Policies", canon(s.prop(id, "Policies")), s.prop(id, "Policies") == nil},
			{"no SAM-generated Events", canon(s.prop(id, "Events")), s.prop(id, "Events") == nil},
		} {
			assert.True(t, c.ok, "%s: %s; got %v", id, c.what, c.got)
		}
	}
}

// The mapping hands a batch it cannot process to the on-failure queue after a finite number of
// retries, halving it to find the bad records, and reports single records' failures.
func TestEventSourceMappingFailures(t *testing.T) {
	s := loadFunctionStack(t)
	m := props(s.tpl.Resources[s.mapping])
	var functionRefs []string
	for _, id := range s.functions {
		functionRefs = append(functionRefs, canon(map[string]any{"Ref": id}))
	}
	branches, _ := get(m["FunctionName"], "Fn::If").([]any)
	inRange := func(v any, lo, hi float64) bool { n, ok := v.(float64); return ok && n >= lo && n <= hi }
	for _, c := range []struct {
		property string
		ok       bool
	}{
		{"FunctionName: !If [condition, one variant, the other]", len(branches) == 3 &&
			slices.Contains(functionRefs, canon(branches[1])) && slices.Contains(functionRefs, canon(branches[2])) && canon(branches[1]) != canon(branches[2])},
		{"EventSourceArn: the input stream", getAttArn(m["EventSourceArn"]) == s.input},
		{"FunctionResponseTypes: [ReportBatchItemFailures]", canon(m["FunctionResponseTypes"]) == `["ReportBatchItemFailures"]`},
		{"BisectBatchOnFunctionError: true", m["BisectBatchOnFunctionError"] == true},
		// -1, the default when absent, retries until the record expires.
		{"MaximumRetryAttempts: a literal 0..10000", inRange(m["MaximumRetryAttempts"], 0, 10000)},
		{"MaximumRecordAgeInSeconds: a literal 60..604800", inRange(m["MaximumRecordAgeInSeconds"], 60, 604800)},
		{"DestinationConfig.OnFailure: a queue of the template", s.tpl.Resources[s.queue]["Type"] == "AWS::SQS::Queue"},
	} {
		assert.True(t, c.ok, "%s: want %s", s.mapping, c.property)
	}
}

// The function's role grants exactly what the function calls, on exactly its resources, with no
// managed policy and no wildcard (TestNoWildcardGrants covers the rest of both templates).
func TestFunctionRoleLeastPrivilege(t *testing.T) {
	s := loadFunctionStack(t)
	if other := s.tpl.ofType("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role"); !slices.Equal(other, []string{s.role}) {
		t.Fatalf("IAM resources %v, want only the function role %s", other, s.role)
	}
	r := props(s.tpl.Resources[s.role])
	assert.Nil(t, r["ManagedPolicyArns"], "%s: every permission is an inline statement", s.role)
	assert.Equal(t, `{"Service":"lambda.amazonaws.com"}`, canon(get(asList(get(r, "AssumeRolePolicyDocument", "Statement"))[0], "Principal")), "%s: trusted principal", s.role)

	// granted[action] = the resources of every Allow statement that grants it.
	granted := map[string][]string{}
	for _, st := range allows(s.tpl.Resources[s.role]) {
		assert.Nil(t, get(st, "NotAction"), "statement %s: plain Allow", canon(st))
		assert.Nil(t, get(st, "NotResource"), "statement %s: plain Allow", canon(st))
		for _, a := range items(get(st, "Action")) {
			for _, res := range items(get(st, "Resource")) {
				granted[a.(string)] = append(granted[a.(string)], canon(res))
			}
		}
	}
	arns := func(ids ...string) []string {
		var l []string
		for _, id := range ids {
			l = append(l, canon(map[string]any{"Fn::GetAtt": []any{id, "Arn"}}))
		}
		sort.Strings(l)
		return l
	}
	for _, c := range []struct {
		action string
		want   []string // nil: not granted
	}{
		{"kinesis:PutRecords", arns(s.predictions, s.deadLetter)},
		{"kinesis:GetRecords", arns(s.input)},
		{"kinesis:GetShardIterator", arns(s.input)},
		{"kinesis:DescribeStream", arns(s.input)},
		{"kinesis:ListShards", arns(s.input)},
		{"sqs:SendMessage", arns(s.queue)},
		{"kinesis:PutRecord", nil}, // putrecords.API has no other call than PutRecords
	} {
		got := slices.Clone(granted[c.action])
		sort.Strings(got)
		assert.Equal(t, c.want, got, "%s granted on", c.action)
	}
	// Every other Kinesis read is on the input stream only.
	for action, res := range granted {
		if strings.HasPrefix(action, "kinesis:") && !strings.HasPrefix(action, "kinesis:Put") {
			for _, r := range res {
				assert.Equal(t, arns(s.input)[0], r, "%s: reads are for %s only", action, s.input)
			}
		}
	}
}

// What the function could not process, the dead letters and the failed batches' pointers,
// outlives the stack and its replacements; a pointer lives exactly as long as the records it
// points at, for every choice of retention; the queue is reached over TLS only.
func TestFailuresKept(t *testing.T) {
	s := loadFunctionStack(t)
	for _, id := range []string{s.deadLetter, s.queue} {
		r := s.tpl.Resources[id]
		assert.Equal(t, []any{"Retain", "Retain"}, []any{r["DeletionPolicy"], r["UpdateReplacePolicy"]}, "%s: DeletionPolicy, UpdateReplacePolicy", id)
	}

	hours := get(s.tpl.Resources[s.input], "Properties", "RetentionPeriodHours")
	seconds := get(s.tpl.Resources[s.queue], "Properties", "MessageRetentionPeriod")
	h, _ := get(hours, "Fn::FindInMap").([]any)
	sec, _ := get(seconds, "Fn::FindInMap").([]any)
	require.True(t, len(h) == 3 && len(sec) == 3 && h[0] == sec[0] && canon(h[1]) == canon(sec[1]),
		"%s.RetentionPeriodHours %v and %s.MessageRetentionPeriod %v: want the same !FindInMap entry", s.input, canon(hours), s.queue, canon(seconds))
	param := refTo(h[1])
	allowed := asList(s.tpl.Parameters[param]["AllowedValues"])
	require.NotEmpty(t, allowed, "parameter %s: AllowedValues", param)
	for _, v := range allowed {
		e := s.tpl.Mappings[h[0].(string)][v.(string)]
		assert.Equal(t, e[h[2].(string)].(float64)*3600, e[sec[2].(string)], "%s=%v: the queue keeps messages as long as the stream keeps records", param, v)
	}

	tls := false
	for _, id := range s.tpl.ofType("AWS::SQS::QueuePolicy") {
		p := props(s.tpl.Resources[id])
		if slices.ContainsFunc(asList(p["Queues"]), func(q any) bool { return refTo(q) == s.queue }) {
			for _, st := range asList(get(p, "PolicyDocument", "Statement")) {
				tls = tls || tlsOnly(st, "sqs", map[string]any{"Fn::GetAtt": []any{s.queue, "Arn"}})
			}
		}
	}
	assert.True(t, tls, "no AWS::SQS::QueuePolicy on %s denies sqs:* to everyone when aws:SecureTransport is false", s.queue)
}

// Lambda runs ShardCount x ParallelizationFactor batches at once: a reservation, when set, does
// not throttle the default mapping, and the largest mapping can be reserved for.
func TestReservedConcurrencyFitsTheMapping(t *testing.T) {
	s := loadFunctionStack(t)
	shards := s.tpl.Parameters[refTo(get(s.tpl.Resources[s.input], "Properties", "ShardCount"))]
	factor := s.tpl.Parameters[refTo(get(props(s.tpl.Resources[s.mapping]), "ParallelizationFactor"))]
	for _, id := range s.functions {
		p := s.tpl.optional(t, id+".ReservedConcurrentExecutions", s.prop(id, "ReservedConcurrentExecutions"), 0.0)
		if p == "" {
			continue
		}
		param := s.tpl.Parameters[p]
		need := shards["Default"].(float64) * factor["Default"].(float64)
		assert.GreaterOrEqual(t, param["Default"], need, "parameter %s: Default throttles the default mapping", p)
		assert.Equal(t, 0.0, param["MinValue"], "parameter %s: MinValue (none reserved)", p)
		assert.Equal(t, shards["MaxValue"].(float64)*factor["MaxValue"].(float64), param["MaxValue"], "parameter %s: MaxValue", p)
	}
	s.tpl.optional(t, s.role+".PermissionsBoundary", get(props(s.tpl.Resources[s.role]), "PermissionsBoundary"), "")
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
