package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// wildcards lists every grant of a template (CloudFormation values, as parseCFN
// reads them) that reaches through a wildcard:
//
//   - an action with a * ("*", "lambda:*", "kinesis:Get*");
//   - a principal "*" (an Allow to everyone);
//   - in a statement with a Kinesis or SQS action, a resource with a *
//     anywhere ("*", "arn:aws:kinesis:*:*:stream/*", a !Sub or !Join that
//     builds one), or a NotAction or NotResource (everything but a list);
//   - elsewhere, a resource with a * that is not one of allowedWildcards;
//   - a managed policy or SAM policy template naming Kinesis or SQS, whose
//     statements the template does not show (AWS's
//     AWSLambdaKinesisExecutionRole grants kinesis actions on "*").
//
// Every policy document anywhere is checked: a role's inline policies, an
// AWS::IAM::Policy or ManagedPolicy, a bucket or queue policy. A Deny grants
// nothing: its wildcards (deny s3:* to "*" without TLS) narrow access.
func wildcards(v any) []string {
	var found []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				switch k {
				case "Statement":
					for _, st := range asList(e) {
						found = append(found, statementWildcards(path+".Statement", st)...)
					}
				case "ManagedPolicyArns", "Policies":
					for _, p := range asList(e) {
						if s := strings.ToLower(canon(p)); (strings.Contains(s, "kinesis") || strings.Contains(s, "sqs")) && get(p, "PolicyDocument") == nil {
							found = append(found, path+"."+k+": "+canon(p)+" grants Kinesis or SQS actions the template does not show")
						}
					}
				}
				walk(path+"."+k, e)
			}
		case []any:
			for _, e := range v {
				walk(path, e)
			}
		}
	}
	walk("", v)
	return found
}

// An allowedWildcard is a resource where a * stands for what AWS names and a
// template cannot, matched against the resource as the template writes it
// (canon of a string or a !Sub).
type allowedWildcard struct {
	why     string
	pattern *regexp.Regexp
	actions []string // the only actions it may be granted for; nil: any
}

// allows reports whether w allows resource res to be granted for actions.
func (w allowedWildcard) allows(res string, actions []string) bool {
	return w.pattern.MatchString(res) &&
		(w.actions == nil || !slices.ContainsFunc(actions, func(a string) bool { return !slices.Contains(w.actions, a) }))
}

// allowedWildcards: none is allowed on Kinesis or SQS.
var allowedWildcards = []allowedWildcard{
	{"a stack's ARN ends in the stack's id, a UUID", regexp.MustCompile(`:cloudformation:[^*]*:stack/[^*/]+/\*"`), nil},
	{"an event-source mapping's ARN ends in a UUID Lambda assigns", regexp.MustCompile(`:lambda:[^*]*:event-source-mapping:\*"`), nil},
	{"S3 object keys below a bucket's fixed prefix", regexp.MustCompile(`:s3:::[^*/]+/[^*]+/\*"`), nil},
	{"the log streams of one log group", regexp.MustCompile(`:logs:[^*]*:log-group:[^*:]+:\*"`), nil},
	{"DescribeLogGroups is authorised against no single group", regexp.MustCompile(`:logs:[^*]*:log-group:\*"`), []string{"logs:DescribeLogGroups"}},
	{"CreateKey is authorised against no key: the key does not exist yet", regexp.MustCompile(`^"\*"$`), []string{"kms:CreateKey"}},
}

func statementWildcards(path string, st any) []string {
	if get(st, "Effect") == "Deny" {
		return nil
	}
	var found []string
	if p := canon(get(st, "Principal")); p == `"*"` || p == `{"AWS":"*"}` {
		found = append(found, path+": Allow to principal "+p)
	}
	onKinesisOrSQS := false
	var actions []string
	for _, key := range []string{"Action", "NotAction"} {
		if get(st, key) == nil {
			continue
		}
		for _, a := range asList(get(st, key)) {
			action := strings.ToLower(canon(a))
			if action == `"*"` || strings.HasPrefix(action, `"kinesis:`) || strings.HasPrefix(action, `"sqs:`) {
				onKinesisOrSQS = true
			}
			if strings.Contains(action, "*") {
				found = append(found, path+": wildcard action "+canon(a))
			}
			s, _ := a.(string)
			actions = append(actions, s)
		}
	}
	if onKinesisOrSQS {
		for _, key := range []string{"NotAction", "NotResource"} {
			if get(st, key) != nil {
				found = append(found, path+": "+key+" on Kinesis or SQS grants everything but a list")
			}
		}
	}
	// In a key policy, the resource "*" is the key the policy is attached to.
	keyPolicy := strings.HasSuffix(path, ".KeyPolicy.Statement")
	for _, r := range asList(get(st, "Resource")) {
		res := canon(r)
		if !strings.Contains(res, "*") || keyPolicy && res == `"*"` {
			continue
		}
		allowed := slices.ContainsFunc(allowedWildcards, func(w allowedWildcard) bool { return w.allows(res, actions) })
		if onKinesisOrSQS || !allowed {
			found = append(found, path+": wildcard resource "+res)
		}
	}
	return found
}

// TestNoWildcardGrants: no IAM grant in the function's template or the
// release stack's reaches through a wildcard, but where AWS names the rest.
func TestNoWildcardGrants(t *testing.T) {
	for _, path := range []string{templatePath, releasePath} {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		v, err := parseCFN(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range wildcards(v) {
			t.Errorf("%s: %s", path, w)
		}
	}
}

// TestWildcardsSeen guards the test above: each way of writing a wildcard,
// put into a template, is found.
func TestWildcardsSeen(t *testing.T) {
	cases := []struct{ name, file, old, new, want string }{
		{"resource *", templatePath, "Resource: !GetAtt OnFailureQueue.Arn\n              - Sid: Logs", "Resource: \"*\"\n              - Sid: Logs", `wildcard resource "*"`},
		{"action prefix", templatePath, "Action: kinesis:PutRecords", "Action: kinesis:Put*", `wildcard action "kinesis:Put*"`},
		{"action *", templatePath, "Action: sqs:SendMessage", `Action: "*"`, `wildcard action "*"`},
		{"service *", templatePath, "Action: sqs:SendMessage", "Action: sqs:*", `wildcard action "sqs:*"`},
		{"ARN pattern in a Sub", templatePath, "Resource: !GetAtt InputStream.Arn",
			"Resource: !Sub arn:${AWS::Partition}:kinesis:${AWS::Region}:${AWS::AccountId}:stream/*", "wildcard resource"},
		{"ARN pattern in a Join", templatePath, "Resource: !GetAtt InputStream.Arn",
			`Resource: !Join ["", ["arn:aws:kinesis:us-east-1:", !Ref AWS::AccountId, ":stream/*"]]`, "wildcard resource"},
		{"NotResource", templatePath, "Action: sqs:SendMessage\n                Resource:", "Action: sqs:SendMessage\n                NotResource:", "NotResource on Kinesis or SQS"},
		{"managed policy", templatePath, "      Policies:\n        - PolicyName: ride-duration-function",
			"      ManagedPolicyArns:\n        - arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole\n      Policies:\n        - PolicyName: ride-duration-function",
			"AWSLambdaKinesisExecutionRole"},
		{"queue policy", templatePath, "  FunctionRole:\n", `  QueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref OnFailureQueue]
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {AWS: !Ref AWS::AccountId}
            Action: sqs:*
            Resource: !GetAtt OnFailureQueue.Arn

  FunctionRole:
`, `wildcard action "sqs:*"`},
		{"stream by pattern, release", releasePath, "stream/${InputStreamName}\n", "stream/ride_*\n", "wildcard resource"},
		{"every stack", releasePath, "stack/${FunctionStackName}/*", "stack/*", "wildcard resource"},
		{"the whole bucket", releasePath, "${MlflowArtifactBucket}/${MlflowArtifactPrefix}/*", "${MlflowArtifactBucket}/*", "wildcard resource"},
		{"every log group, beyond DescribeLogGroups", releasePath, "Action: logs:DescribeLogGroups", "Action: [logs:DescribeLogGroups, logs:DeleteLogGroup]", "wildcard resource"},
		{"lambda:*", releasePath, "- lambda:GetEventSourceMapping", "- lambda:*", `wildcard action "lambda:*"`},
		{"an Allow to everyone", releasePath, "Effect: Deny", "Effect: Allow", `Allow to principal "*"`},
		{"kms:* on the key", templatePath, "              - kms:DescribeKey\n", "              - kms:*\n", `wildcard action "kms:*"`},
		{"every key, beyond CreateKey", releasePath, "Action: kms:CreateKey", "Action: [kms:CreateKey, kms:PutKeyPolicy]", `wildcard resource "*"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, err := os.ReadFile(c.file)
			if err != nil {
				t.Fatal(err)
			}
			broken := strings.Replace(string(src), c.old, c.new, 1)
			if broken == string(src) {
				t.Fatalf("%s has no %q to break", c.file, c.old)
			}
			v, err := parseCFN([]byte(broken))
			if err != nil {
				t.Fatal(err)
			}
			found := wildcards(v)
			if !strings.Contains(strings.Join(found, "\n"), c.want) {
				t.Errorf("not found: %s; found %q", c.want, found)
			}
		})
	}
}
