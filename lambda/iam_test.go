package main

import (
	"os"
	"strings"
	"testing"
)

// wildcards lists every grant of the template (CloudFormation values, as
// parseCFN reads them) that reaches Kinesis or SQS through a wildcard:
//
//   - an action "*", or a kinesis: or sqs: action with a * ("kinesis:Get*");
//   - in a statement with a Kinesis or SQS action, a resource with a *
//     anywhere ("*", "arn:aws:kinesis:*:*:stream/*", a !Sub or !Join that
//     builds one), or a NotAction or NotResource (everything but a list);
//   - a managed policy or SAM policy template naming Kinesis or SQS, whose
//     statements the template does not show (AWS's
//     AWSLambdaKinesisExecutionRole grants kinesis actions on "*").
//
// Every policy document anywhere is checked: a role's inline policies, an
// AWS::IAM::Policy, an SQS queue policy, a Kinesis resource policy.
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

func statementWildcards(path string, st any) []string {
	var found []string
	onKinesisOrSQS := false
	for _, key := range []string{"Action", "NotAction"} {
		for _, a := range asList(get(st, key)) {
			action := strings.ToLower(canon(a))
			service := strings.HasPrefix(action, `"kinesis:`) || strings.HasPrefix(action, `"sqs:`)
			if action == `"*"` || service {
				onKinesisOrSQS = true
			}
			if action == `"*"` || (service && strings.Contains(action, "*")) {
				found = append(found, path+": wildcard action "+canon(a))
			}
		}
	}
	if !onKinesisOrSQS {
		return found
	}
	for _, key := range []string{"NotAction", "NotResource"} {
		if get(st, key) != nil {
			found = append(found, path+": "+key+" on Kinesis or SQS grants everything but a list")
		}
	}
	for _, r := range asList(get(st, "Resource")) {
		if strings.Contains(canon(r), "*") {
			found = append(found, path+": wildcard resource "+canon(r))
		}
	}
	return found
}

// TestNoWildcardOnKinesisOrSQS: no IAM grant in lambda/template.yaml
// reaches Kinesis or SQS through a * action or resource.
func TestNoWildcardOnKinesisOrSQS(t *testing.T) {
	src, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	v, err := parseCFN(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range wildcards(v) {
		t.Error(w)
	}
}

// TestWildcardsSeen guards the test above: each way of writing a wildcard,
// put into the template, is found.
func TestWildcardsSeen(t *testing.T) {
	src, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, old, new, want string }{
		{"resource *", "Resource: !GetAtt OnFailureQueue.Arn", `Resource: "*"`, `wildcard resource "*"`},
		{"action prefix", "- kinesis:PutRecords", "- kinesis:Put*", `wildcard action "kinesis:Put*"`},
		{"action *", "Action: sqs:SendMessage", `Action: "*"`, `wildcard action "*"`},
		{"service *", "Action: sqs:SendMessage", "Action: sqs:*", `wildcard action "sqs:*"`},
		{"ARN pattern in a Sub", "Resource: !GetAtt InputStream.Arn",
			"Resource: !Sub arn:${AWS::Partition}:kinesis:${AWS::Region}:${AWS::AccountId}:stream/*", "wildcard resource"},
		{"ARN pattern in a Join", "Resource: !GetAtt InputStream.Arn",
			`Resource: !Join ["", ["arn:aws:kinesis:us-east-1:", !Ref AWS::AccountId, ":stream/*"]]`, "wildcard resource"},
		{"NotResource", "Resource: !GetAtt OnFailureQueue.Arn", "NotResource: !GetAtt OnFailureQueue.Arn", "NotResource on Kinesis or SQS"},
		{"managed policy", "      Policies:\n        - PolicyName: ride-duration-function",
			"      ManagedPolicyArns:\n        - arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole\n      Policies:\n        - PolicyName: ride-duration-function",
			"AWSLambdaKinesisExecutionRole"},
		{"queue policy", "  FunctionRole:\n", `  QueuePolicy:
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
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			broken := strings.Replace(string(src), c.old, c.new, 1)
			if broken == string(src) {
				t.Fatalf("template has no %q to break", c.old)
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
