package main

// The release stack (release.yaml): the roles CD assumes through GitHub's OIDC
// provider, the CloudFormation role the function stack (template.yaml) is
// deployed as, the boundary of the roles that stack creates, the code bucket;
// and the Makefile's use of them.

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// items is asList without the one nil element of an absent field.
func items(v any) []any {
	if v == nil {
		return nil
	}
	return asList(v)
}

// allows lists the Allow statements of a role's inline policies, or of a
// managed policy's document.
func allows(r map[string]any) []any {
	p := props(r)
	var sts []any
	for _, pol := range items(p["Policies"]) {
		sts = append(sts, items(get(pol, "PolicyDocument", "Statement"))...)
	}
	sts = append(sts, items(get(p, "PolicyDocument", "Statement"))...)
	return slices.DeleteFunc(sts, func(st any) bool { return get(st, "Effect") != "Allow" })
}

// actionsOf lists the actions of statements, sorted, each once.
func actionsOf(sts []any) []string {
	var l []string
	for _, st := range sts {
		for _, a := range items(get(st, "Action")) {
			l = append(l, a.(string))
		}
	}
	sort.Strings(l)
	return slices.Compact(l)
}

// releaseARN is how an ARN in release.yaml starts: partition, service, region and account
// (aws for the SAM transform).
var releaseARN = regexp.MustCompile(`^arn:\$\{AWS::Partition\}:([a-z0-9-]+):(?:\$\{AWS::Region\})?:(?:\$\{AWS::AccountId\}|aws)?:`)

// releaseName names a resource as release.yaml writes it (a !Sub of an ARN) the way
// functionName does: "service:rest of the ARN", the function stack's name written as in
// template.yaml (${AWS::StackName}).
func releaseName(v any) string {
	s, _ := get(v, "Fn::Sub").(string)
	m := releaseARN.FindStringSubmatch(s)
	if m == nil {
		return canon(v)
	}
	return m[1] + ":" + strings.ReplaceAll(s[len(m[0]):], "${FunctionStackName}", "${AWS::StackName}")
}

// functionName names a resource of template.yaml as releaseName does: a GetAtt X.Arn (or
// !Sub ${X.Arn}) by X's name, "kinesis:stream/${InputStreamName}".
func (tpl template) functionName(v any) string {
	id := getAttArn(v)
	if s, _ := get(v, "Fn::Sub").(string); strings.HasPrefix(s, "${") && strings.HasSuffix(s, ".Arn}") {
		id = s[2 : len(s)-len(".Arn}")]
	}
	p := props(tpl.Resources[id])
	switch tpl.Resources[id]["Type"] {
	case "AWS::Kinesis::Stream":
		return "kinesis:stream/" + nameOf(p["Name"])
	case "AWS::SQS::Queue":
		return "sqs:" + nameOf(p["QueueName"])
	case "AWS::Logs::LogGroup":
		return "logs:log-group:" + nameOf(p["LogGroupName"]) + ":*"
	}
	return canon(v)
}

// nameOf writes a resource's name as a !Sub would: !Ref P is ${P}.
func nameOf(v any) string {
	if p := refTo(v); p != "" {
		return "${" + p + "}"
	}
	if s, ok := get(v, "Fn::Sub").(string); ok {
		return s
	}
	s, _ := v.(string)
	return s
}

// grants lists "action resource" for each action and resource of statements, sorted.
func grants(sts []any, name func(any) string) []string {
	var l []string
	for _, st := range sts {
		for _, a := range items(get(st, "Action")) {
			for _, r := range items(get(st, "Resource")) {
				l = append(l, a.(string)+" "+name(r))
			}
		}
	}
	sort.Strings(l)
	return slices.Compact(l)
}

// granting returns the statements that grant action on the resource named name.
func granting(sts []any, action, name string) []any {
	var l []any
	for _, st := range sts {
		if slices.Contains(items(get(st, "Action")), any(action)) &&
			slices.ContainsFunc(items(get(st, "Resource")), func(r any) bool { return releaseName(r) == name }) {
			l = append(l, st)
		}
	}
	return l
}

func loadRelease(t *testing.T) template { return loadTemplateFile(t, releasePath) }

// theOne returns the only resource of a type.
func (tpl template) theOne(t *testing.T, typ string) string {
	t.Helper()
	ids := tpl.ofType(typ)
	require.Len(t, ids, 1, "%s resources", typ)
	return ids[0]
}

// serviceRole returns the role the release stack lets CloudFormation assume.
func (tpl template) serviceRole(t *testing.T) string {
	t.Helper()
	for _, id := range tpl.ofType("AWS::IAM::Role") {
		if strings.Contains(canon(get(props(tpl.Resources[id]), "AssumeRolePolicyDocument")), `"cloudformation.amazonaws.com"`) {
			return id
		}
	}
	t.Fatal("release.yaml: no role trusts cloudformation.amazonaws.com")
	return ""
}

// TestReleaseBoundaryIsTheFunctionPolicy: the permissions boundary allows exactly what the
// function's role grants, on the same resources by name: the function can do all it needs
// within it, and no role the function stack creates can do more.
func TestReleaseBoundaryIsTheFunctionPolicy(t *testing.T) {
	fn, rel := loadTemplate(t), loadRelease(t)
	role := fn.theOne(t, "AWS::IAM::Role")
	boundary := rel.theOne(t, "AWS::IAM::ManagedPolicy")
	want := grants(allows(fn.Resources[role]), fn.functionName)
	require.NotEmpty(t, want)
	assert.Equal(t, want, grants(allows(rel.Resources[boundary]), releaseName),
		"release.yaml's %s must allow what template.yaml's %s grants", boundary, role)
}

// A stackGrant is what the CloudFormation role needs for one resource type of template.yaml: the
// resource's name as releaseName writes it, the action that makes it and the one that deletes it
// ("": none to check), and other actions it needs on that name.
type stackGrant struct {
	name        func(fn template, p map[string]any) string
	create, del string
	also        []string
}

func named(prefix, property string) func(template, map[string]any) string {
	return func(_ template, p map[string]any) string { return prefix + nameOf(p[property]) }
}

// stackGrants: every resource type of template.yaml's zip variant (the release path deploys
// zips; deploy-image runs as its caller, on a stack of its own).
var stackGrants = map[string]stackGrant{
	"AWS::Kinesis::Stream": {named("kinesis:stream/", "Name"), "kinesis:CreateStream", "kinesis:DeleteStream", nil},
	"AWS::SQS::Queue":      {named("sqs:", "QueueName"), "sqs:CreateQueue", "sqs:DeleteQueue", nil},
	"AWS::SQS::QueuePolicy": {func(fn template, p map[string]any) string {
		var name string
		for _, q := range items(p["Queues"]) {
			name = "sqs:" + nameOf(props(fn.Resources[refTo(q)])["QueueName"])
		}
		return name
	}, "sqs:SetQueueAttributes", "", nil},
	"AWS::Logs::LogGroup": {func(_ template, p map[string]any) string { return "logs:log-group:" + nameOf(p["LogGroupName"]) + ":*" },
		"logs:CreateLogGroup", "logs:DeleteLogGroup", nil},
	"AWS::IAM::Role":             {named("iam:role/", "RoleName"), "iam:CreateRole", "iam:DeleteRole", nil},
	"AWS::Serverless::Function":  {named("lambda:function:", "FunctionName"), "lambda:CreateFunction", "lambda:DeleteFunction", nil},
	"AWS::CloudWatch::Alarm":     {named("cloudwatch:alarm:", "AlarmName"), "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", nil},
	"AWS::CloudWatch::Dashboard": {named("cloudwatch:dashboard/", "DashboardName"), "cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards", nil},
	// Created against no resource; managed, and deleted, as its own key policy lets the role
	// (TestAlarmTopicKeyLetsCloudWatchPublish, and the key policy check below).
	"AWS::KMS::Key":   {func(template, map[string]any) string { return `"*"` }, "kms:CreateKey", "", nil},
	"AWS::SNS::Topic": {named("sns:", "TopicName"), "sns:CreateTopic", "sns:DeleteTopic", []string{"sns:Subscribe"}},
}

// TestReleaseCloudFormationRole: the role the function stack is deployed as may create each of
// the stack's resources, by name, and delete the ones not retained, never the retained ones.
func TestReleaseCloudFormationRole(t *testing.T) {
	fn, rel := loadTemplate(t), loadRelease(t)
	role := rel.serviceRole(t)
	sts := allows(rel.Resources[role])
	for _, id := range slices.Sorted(maps.Keys(fn.Resources)) {
		r := fn.Resources[id]
		p := props(r)
		if r["Type"] == "AWS::Lambda::EventSourceMapping" || r["Type"] == "AWS::Serverless::Function" && p["PackageType"] != "Zip" {
			continue // the mapping: TestReleaseCloudFormationRoleIAM; the image variant: not deployed as the role
		}
		g, ok := stackGrants[r["Type"].(string)]
		if !ok {
			t.Errorf("%s: %s: the CloudFormation role has no grant for this type: add its permissions to release.yaml, and an entry to stackGrants", id, r["Type"])
			continue
		}
		name := g.name(fn, p)
		for _, a := range append([]string{g.create}, g.also...) {
			assert.NotEmpty(t, granting(sts, a, name), "%s: %s is not granted %s on %s", id, role, a, name)
		}
		if g.del != "" {
			retained := r["DeletionPolicy"] == "Retain"
			assert.Equal(t, !retained, len(granting(sts, g.del, name)) > 0,
				"%s (DeletionPolicy %v): %s granted %s on %s; a retained resource is never deleted by the stack, the others are", id, r["DeletionPolicy"], role, g.del, name)
		}
		if r["Type"] == "AWS::KMS::Key" {
			assert.Contains(t, canon(p["KeyPolicy"]), `{"Ref":"CloudFormationRoleArn"}`, "%s: its key policy names the role the stack is deployed as", id)
		}
	}
}

// TestReleaseParametersAreTheFunctionStacks: the names in the CloudFormation role's grants are
// parameters of both templates, with the same defaults.
func TestReleaseParametersAreTheFunctionStacks(t *testing.T) {
	fn, rel := loadTemplate(t), loadRelease(t)
	params := []string{"InputStreamName", "PredictionsStreamName", "DeadLetterStreamName", "OnFailureQueueName"}
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z]+)\}`).FindAllStringSubmatch(strings.Join(grants(allows(rel.Resources[rel.serviceRole(t)]), releaseName), "\n"), -1) {
		if _, ok := rel.Parameters[m[1]]; ok && m[1] != "FunctionStackName" && fn.Parameters[m[1]] != nil {
			params = append(params, m[1])
		}
	}
	for _, p := range params {
		require.Contains(t, rel.Parameters, p)
		assert.Equal(t, fn.Parameters[p]["Default"], rel.Parameters[p]["Default"], "parameter %s: template.yaml's and release.yaml's defaults", p)
	}
}

// TestReleaseCloudFormationRoleIAM: the role maps only the function's event sources, creates the
// function's role only with the boundary, never changes a role's trust or boundary, and passes
// roles to Lambda only.
func TestReleaseCloudFormationRoleIAM(t *testing.T) {
	rel := loadRelease(t)
	sts := allows(rel.Resources[rel.serviceRole(t)])
	boundary := canon(map[string]any{"Ref": rel.theOne(t, "AWS::IAM::ManagedPolicy")})

	create := granting(sts, "lambda:CreateEventSourceMapping", "lambda:event-source-mapping:*")
	require.NotEmpty(t, create, "lambda:CreateEventSourceMapping")
	for _, st := range create {
		assert.Equal(t, "lambda:function:${AWS::StackName}", releaseName(get(st, "Condition", "StringEquals", "lambda:FunctionArn")),
			"lambda:CreateEventSourceMapping's lambda:FunctionArn condition")
	}

	// condition[action]: the condition every statement granting it carries; "": never granted.
	condition := map[string]struct{ key, want string }{
		"iam:CreateRole":                    {"iam:PermissionsBoundary", boundary},
		"iam:PutRolePolicy":                 {"iam:PermissionsBoundary", boundary},
		"iam:AttachRolePolicy":              {"iam:PermissionsBoundary", boundary},
		"iam:DeleteRolePolicy":              {"iam:PermissionsBoundary", boundary},
		"iam:DetachRolePolicy":              {"iam:PermissionsBoundary", boundary},
		"iam:PutRolePermissionsBoundary":    {"iam:PermissionsBoundary", boundary},
		"iam:PassRole":                      {"iam:PassedToService", `"lambda.amazonaws.com"`},
		"iam:UpdateAssumeRolePolicy":        {}, // the function's role stays assumable by lambda.amazonaws.com only
		"iam:DeleteRolePermissionsBoundary": {}, // the boundary stays on the function's role
		"iam:CreatePolicyVersion":           {}, // the boundary stays as release.yaml wrote it
		"iam:SetDefaultPolicyVersion":       {},
	}
	for _, st := range sts {
		for _, a := range items(get(st, "Action")) {
			c, ok := condition[a.(string)]
			switch {
			case !ok:
			case c.key == "":
				t.Errorf("%s is granted (%s)", a, canon(st))
			default:
				assert.Equal(t, c.want, canon(get(st, "Condition", "StringEquals", c.key)), "%s: its %s condition", a, c.key)
			}
		}
	}
}

// TestReleaseDeployRole: CD's deploy role may do what `make deploy-built deploy-verify
// stack-outputs` calls, and nothing else: its actions are the AWS calls cmd/deploy makes
// (deploy -n prints each as service:Operation, the IAM action of the same name); it creates
// change sets only as the CloudFormation role, and passes that role only to CloudFormation.
func TestReleaseDeployRole(t *testing.T) {
	rel := loadRelease(t)
	out := deployDryRun(t, "deploy-built", "deploy-verify", "stack-outputs", "CFN_ROLE_ARN=arn:aws:iam::123456789012:role/cfn")
	var want []string
	for _, m := range regexp.MustCompile(`(?m)^([a-z0-9]+):([A-Za-z]+)\b(.*)$`).FindAllStringSubmatch(out, -1) {
		if m[1]+":"+m[2] == "sts:GetCallerIdentity" { // AWS_ACCOUNT_ID's default: no permission needed
			continue
		}
		want = append(want, m[1]+":"+m[2])
		if strings.Contains(m[3], " RoleARN=") {
			want = append(want, "iam:PassRole")
		}
	}
	sort.Strings(want)
	want = slices.Compact(want)
	require.Contains(t, want, "cloudformation:CreateChangeSet", "deploy -n:\n%s", out)

	var deploy string
	for id, o := range rel.Outputs {
		if strings.Contains(o["Description"].(string), "AWS_DEPLOY_ROLE_ARN") {
			deploy = getAttArn(o["Value"])
			t.Logf("deploy role: %s (output %s)", deploy, id)
		}
	}
	require.NotEmpty(t, deploy, "no output names AWS_DEPLOY_ROLE_ARN")
	sts := allows(rel.Resources[deploy])
	assert.Equal(t, want, actionsOf(sts), "%s's actions", deploy)

	cfnRole := canon(map[string]any{"Fn::GetAtt": []any{rel.serviceRole(t), "Arn"}})
	for _, st := range sts {
		actions, resources := items(get(st, "Action")), items(get(st, "Resource"))
		if slices.Contains(actions, any("iam:PassRole")) {
			assert.Equal(t, []string{cfnRole}, canonAll(resources), "iam:PassRole: the CloudFormation role only")
			assert.Equal(t, "cloudformation.amazonaws.com", get(st, "Condition", "StringEquals", "iam:PassedToService"), "iam:PassRole: to CloudFormation only")
		}
		if slices.Contains(actions, any("cloudformation:CreateChangeSet")) {
			onStack := slices.ContainsFunc(resources, func(r any) bool { return strings.HasPrefix(releaseName(r), "cloudformation:stack/") })
			if onStack {
				assert.Equal(t, cfnRole, canon(get(st, "Condition", "StringEquals", "cloudformation:RoleArn")), "CreateChangeSet on the stack: as the CloudFormation role only")
			} else {
				assert.Equal(t, []string{"arn:${AWS::Partition}:cloudformation:${AWS::Region}:aws:transform/Serverless-2016-10-31"},
					subsOf(resources), "CreateChangeSet without the role condition: on the SAM transform only")
			}
		}
		for _, r := range resources {
			n := releaseName(r)
			if canon(r) != cfnRole && !slices.Contains([]string{
				"cloudformation:stack/${AWS::StackName}/*", "s3:${CodeBucket}/${AWS::StackName}/*", "lambda:function:${AWS::StackName}",
				"cloudformation:transform/Serverless-2016-10-31",
			}, n) {
				t.Errorf("%s: grants on %s: want only the function stack, its code and its function", deploy, n)
			}
		}
	}
}

func canonAll(l []any) []string {
	var s []string
	for _, v := range l {
		s = append(s, canon(v))
	}
	return s
}

func subsOf(l []any) []string {
	var s []string
	for _, v := range l {
		sub, _ := get(v, "Fn::Sub").(string)
		s = append(s, sub)
	}
	return s
}

// The condition keys STS sets from a GitHub Actions token (AWS's Service Authorization
// Reference, AWS Security Token Service, AssumeRoleWithWebIdentity): aud and sub, and the
// GitHub claims actor, actor_id, enterprise_id, environment, job_workflow_ref, ref,
// repository, repository_id, repository_owner_id and workflow. ref_type is none of them.
const gh = "token.actions.githubusercontent.com:"

// wantTrust is the whole Condition of each GitHub role's trust statement. CD's fetch job runs
// on a workflow_dispatch of main (no environment: the default sub carries the ref); its deploy
// job runs in the production environment (the default sub carries the environment only) for a
// v* tag, as a job of cd.yml.
var wantTrust = map[string]map[string]map[string]any{
	"ModelReadRole": {
		"StringEquals": {
			gh + "aud": "sts.amazonaws.com",
			gh + "sub": map[string]any{"Fn::Sub": "repo:${GitHubRepository}:ref:refs/heads/main"},
		},
	},
	"DeployRole": {
		"StringEquals": {
			gh + "aud":         "sts.amazonaws.com",
			gh + "sub":         map[string]any{"Fn::Sub": "repo:${GitHubRepository}:environment:production"},
			gh + "repository":  map[string]any{"Ref": "GitHubRepository"},
			gh + "environment": "production",
		},
		"StringLike": {
			gh + "ref":              "refs/tags/v*",
			gh + "job_workflow_ref": map[string]any{"Fn::Sub": "${GitHubRepository}/.github/workflows/cd.yml@refs/tags/v*"},
		},
	},
}

// trustProblems lists what is wrong with the trust policies of a release template's roles: a
// GitHub role's Condition is exactly its wantTrust (no other operator, key or value: an
// IfExists or ForAllValues form, a missing key or a wider pattern is a problem); the
// CloudFormation role is assumed by CloudFormation only.
func trustProblems(tpl template) []string {
	var found []string
	provider := canon(map[string]any{"Fn::If": []any{"CreateOIDCProvider", map[string]any{"Ref": "GitHubOIDCProvider"}, map[string]any{"Ref": "GitHubOIDCProviderArn"}}})
	for id := range wantTrust {
		if tpl.Resources[id]["Type"] != "AWS::IAM::Role" {
			found = append(found, id+": no such role")
		}
	}
	for _, id := range tpl.ofType("AWS::IAM::Role") {
		sts := items(get(props(tpl.Resources[id]), "AssumeRolePolicyDocument", "Statement"))
		if len(sts) != 1 {
			found = append(found, id+": want one trust statement")
			continue
		}
		st := sts[0]
		if get(st, "Effect") != "Allow" || get(st, "NotPrincipal") != nil || get(st, "NotAction") != nil {
			found = append(found, id+": want a plain Allow")
		}
		principal, action := canon(get(st, "Principal")), get(st, "Action")
		switch principal {
		case `{"Federated":` + provider + `}`:
			want, ok := wantTrust[id]
			if !ok {
				found = append(found, id+": trusts GitHub's OIDC provider, but is none of CD's roles (wantTrust)")
			}
			if action != "sts:AssumeRoleWithWebIdentity" {
				found = append(found, id+": action "+canon(action)+", want sts:AssumeRoleWithWebIdentity")
			}
			if got := canon(get(st, "Condition")); got != canon(want) {
				found = append(found, id+": condition "+got+", want "+canon(want))
			}
		case `{"Service":"cloudformation.amazonaws.com"}`:
			if action != "sts:AssumeRole" {
				found = append(found, id+": action "+canon(action)+", want sts:AssumeRole")
			}
		default:
			found = append(found, id+": trusts "+principal+"; want GitHub's OIDC provider or cloudformation.amazonaws.com")
		}
	}
	// The repository is compared exactly: the parameter takes no pattern.
	pattern, _ := tpl.Parameters["GitHubRepository"]["AllowedPattern"].(string)
	re, err := regexp.Compile(pattern)
	if err != nil || pattern == "" || re.MatchString("owner/*") || re.MatchString("*") || !re.MatchString("owner/repo") {
		found = append(found, "parameter GitHubRepository: AllowedPattern "+canon(pattern)+" must take owner/repo and no pattern")
	}
	return found
}

// TestReleaseTrust: each role's trust policy (trustProblems).
func TestReleaseTrust(t *testing.T) {
	for _, p := range trustProblems(loadRelease(t)) {
		t.Error(p)
	}
}

// TestTrustProblemsSeen guards the test above: each way of loosening a trust policy, put into
// release.yaml, is found.
func TestTrustProblemsSeen(t *testing.T) {
	src, err := os.ReadFile(releasePath)
	require.NoError(t, err)
	for _, c := range []struct{ name, old, new, want string }{
		{"a sub pattern", "sub: !Sub repo:${GitHubRepository}:environment:production", "sub: !Sub repo:${GitHubRepository}:*", "DeployRole: condition"},
		{"no aud", "                token.actions.githubusercontent.com:aud: sts.amazonaws.com\n", "", "ModelReadRole: condition"},
		{"another audience", "aud: sts.amazonaws.com", "aud: https://github.com/owner", "ModelReadRole: condition"},
		{"any branch", ":ref:refs/heads/main", ":ref:refs/heads/*", "ModelReadRole: condition"},
		{"deploys from main, unapproved", ":environment:production", ":ref:refs/heads/main", "DeployRole: condition"},
		{"any ref", "ref: refs/tags/v*", "ref: refs/*", "DeployRole: condition"},
		{"a branch's workflow", "cd.yml@refs/tags/v*", "cd.yml@*", "DeployRole: condition"},
		{"any workflow", "/.github/workflows/cd.yml@", "/.github/workflows/*@", "DeployRole: condition"},
		{"no ref", "                token.actions.githubusercontent.com:ref: refs/tags/v*\n", "", "DeployRole: condition"},
		{"a ref only if present", "              StringLike:\n                token.actions.githubusercontent.com:ref:",
			"              StringLikeIfExists:\n                token.actions.githubusercontent.com:ref:", "DeployRole: condition"},
		{"another environment", "environment: production\n", "environment: staging\n", "DeployRole: condition"},
		{"any repository", `AllowedPattern: "^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"`, `AllowedPattern: ".+"`, "parameter GitHubRepository"},
		{"another service", " Service: cloudformation.amazonaws.com", " Service: lambda.amazonaws.com", "CloudFormationRole: trusts"},
	} {
		t.Run(c.name, func(t *testing.T) {
			broken := strings.Replace(string(src), c.old, c.new, 1)
			require.NotEqual(t, string(src), broken, "release.yaml has no %q to break", c.old)
			tpl, err := parseTemplate([]byte(broken))
			require.NoError(t, err)
			assert.Contains(t, strings.Join(trustProblems(tpl), "\n"), c.want)
		})
	}
}

// TestReleaseCodeBucket: the bucket the zips are uploaded to: versioned, owned by its account
// (ACLs off), never public, encrypted, reached over TLS only, kept when the stack goes.
func TestReleaseCodeBucket(t *testing.T) {
	rel := loadRelease(t)
	id := rel.theOne(t, "AWS::S3::Bucket")
	b := rel.Resources[id]
	p := props(b)
	assert.Equal(t, "Enabled", get(p, "VersioningConfiguration", "Status"))
	assert.Equal(t, `[{"ObjectOwnership":"BucketOwnerEnforced"}]`, canon(get(p, "OwnershipControls", "Rules")))
	assert.Equal(t, map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
		p["PublicAccessBlockConfiguration"])
	sse := items(get(p, "BucketEncryption", "ServerSideEncryptionConfiguration"))
	require.Len(t, sse, 1)
	assert.Contains(t, []any{"AES256", "aws:kms", "aws:kms:dsse"}, get(sse[0], "ServerSideEncryptionByDefault", "SSEAlgorithm"))
	assert.Equal(t, "Retain", b["DeletionPolicy"])

	tls := false
	for _, pid := range rel.ofType("AWS::S3::BucketPolicy") {
		pp := props(rel.Resources[pid])
		if refTo(pp["Bucket"]) != id {
			continue
		}
		for _, st := range items(get(pp, "PolicyDocument", "Statement")) {
			tls = tls || tlsOnly(st, "s3", map[string]any{"Fn::GetAtt": []any{id, "Arn"}}, map[string]any{"Fn::Sub": "${" + id + ".Arn}/*"})
		}
	}
	assert.True(t, tls, "no bucket policy on %s denies s3:* on it and its objects to everyone when aws:SecureTransport is false", id)
}

// TestReleaseOutputsNameCDVariables: every role ARN CD's workflow takes from a repository
// variable is an output of the release stack whose description names that variable.
func TestReleaseOutputsNameCDVariables(t *testing.T) {
	rel := loadRelease(t)
	cd, err := os.ReadFile(filepath.Join(testenv.Root(t), ".github", "workflows", "cd.yml"))
	require.NoError(t, err)
	vars := regexp.MustCompile(`vars\.(AWS_[A-Z_]+_ARN)`).FindAllStringSubmatch(string(cd), -1)
	require.GreaterOrEqual(t, len(vars), 3, "cd.yml's role variables")
	for _, v := range vars {
		var role string
		for _, o := range rel.Outputs {
			if strings.Contains(o["Description"].(string), v[1]) {
				role = getAttArn(o["Value"])
			}
		}
		if rel.Resources[role]["Type"] != "AWS::IAM::Role" {
			t.Errorf("cd.yml uses vars.%s: no output of release.yaml names it in its description with a role's ARN as its value", v[1])
		}
	}
}

// TestReleaseMakefile: make deploy-built uploads to the release stack's bucket, in the
// caller's account only, and gives the function's role the release stack's boundary, and
// the alarm topic's key that role as its manager, when it deploys as a CloudFormation role; make deploy-release deploys release.yaml for the function
// stack and the MLflow experiment, and wants the repository.
func TestReleaseMakefile(t *testing.T) {
	rel := loadRelease(t)
	names := strings.NewReplacer("${FunctionStackName}", "rides-dev", "${AWS::AccountId}", "123456789012", "${AWS::Region}", "eu-west-1")
	bucket := names.Replace(get(props(rel.Resources[rel.theOne(t, "AWS::S3::Bucket")]), "BucketName", "Fn::Sub").(string))
	policy := names.Replace(get(props(rel.Resources[rel.theOne(t, "AWS::IAM::ManagedPolicy")]), "ManagedPolicyName", "Fn::Sub").(string))

	out := deployDryRun(t, "deploy-built", "STACK_NAME=rides-dev", "CFN_ROLE_ARN=arn:aws:iam::123456789012:role/rides-dev-release-CloudFormationRole-X")
	assert.Contains(t, out, "s3:PutObject Bucket="+bucket+" ")
	assert.Contains(t, out, " ExpectedBucketOwner=123456789012")
	assert.Contains(t, out, " Parameter:CodeBucket="+bucket+" ")
	assert.Contains(t, out, " Parameter:PermissionsBoundary=arn:aws:iam::123456789012:policy/"+policy)
	assert.Contains(t, out, " RoleARN=arn:aws:iam::123456789012:role/rides-dev-release-CloudFormationRole-X ")
	assert.Contains(t, out, " Parameter:CloudFormationRoleArn=arn:aws:iam::123456789012:role/rides-dev-release-CloudFormationRole-X", "the alarm topic's key names the role")
	assert.NotRegexp(t, `s3:(CreateBucket|CopyObject)`, out, "deploy-built makes no bucket and uploads with PutObject")

	out = deployDryRun(t, "deploy-built", "STACK_NAME=rides-dev", "CFN_ROLE_ARN=")
	assert.Regexp(t, `(?m)\sParameter:PermissionsBoundary=(\s|$)`, out, "no boundary unless deploying as a CloudFormation role: set empty, not left at an earlier deploy's")
	assert.NotContains(t, out, "RoleARN=")
	assert.Regexp(t, `(?m)\sParameter:CloudFormationRoleArn=(\s|$)`, out, "set, empty: a role named by an earlier deploy is not kept")

	out = deployDryRun(t, "deploy-release", "STACK_NAME=rides-dev", "GITHUB_REPOSITORY=owner/repo", "MLFLOW_ARTIFACTS=s3://mlflow/exp/4")
	assert.Regexp(t, `cloudformation:CreateChangeSet StackName=rides-dev-release TemplateFile=lambda/release.yaml `, out)
	for _, p := range []string{"GitHubRepository=owner/repo", "FunctionStackName=rides-dev", "MlflowArtifactBucket=mlflow", "MlflowArtifactPrefix=exp/4"} {
		assert.Contains(t, out, p)
		assert.Contains(t, rel.Parameters, strings.SplitN(p, "=", 2)[0])
	}

	for _, c := range []struct{ name, arg, want string }{
		{"no repository", "GITHUB_REPOSITORY=", "make deploy-release: set GITHUB_REPOSITORY=<owner>/<repo>"},
		{"no experiment prefix", "MLFLOW_ARTIFACTS=s3://mlflow", "make deploy-release: MLFLOW_ARTIFACTS=s3://mlflow: want s3://<bucket>/<prefix>"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// No endpoint, no credentials: the check stops cmd/deploy before any call.
			out, err := testenv.Make(t, testenv.Root(t), []string{"GO=" + testenv.GoTool(t)}, "deploy-release",
				"AWS_REGION=eu-west-1", "GITHUB_REPOSITORY=owner/repo", c.arg)
			require.Error(t, err)
			assert.Equal(t, 2, testenv.ExitCode(err), "%s", out)
			assert.Contains(t, out, c.want)
			assert.NotContains(t, out, "cloudformation")
		})
	}
}

// TestCDDeployJob: in cd.yml, deploys wait for each other in a group of their own, apart from
// model runs, and are never stopped half way; the deploy job runs in the environment the deploy
// role trusts, and checks its tag before it asks for credentials; a deploy that did not run
// fails its run.
func TestCDDeployJob(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(testenv.Root(t), ".github", "workflows", "cd.yml"))
	require.NoError(t, err)
	var cd struct {
		Concurrency struct {
			Group            string
			CancelInProgress any `yaml:"cancel-in-progress"`
		}
		Jobs map[string]struct {
			Needs       any
			If          string
			Environment any
			Concurrency struct {
				Group            string
				CancelInProgress any `yaml:"cancel-in-progress"`
			}
			Steps []struct{ Name, Uses string }
		}
	}
	require.NoError(t, yaml.Unmarshal(src, &cd))
	deploy, ok := cd.Jobs["deploy"]
	require.True(t, ok, "cd.yml has no deploy job")
	check, credentials := -1, -1
	for i, s := range deploy.Steps {
		if strings.Contains(s.Name, "on a commit of the default branch") {
			check = i
		}
		if strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@") {
			credentials = i
		}
	}
	superseded := cd.Jobs["superseded"]
	for _, c := range []struct {
		what string
		ok   bool
	}{
		{"the deploy job's group is deploy-<stack>", strings.HasPrefix(deploy.Concurrency.Group, "deploy-")},
		{"a deploy is never cancelled by another", deploy.Concurrency.CancelInProgress == false},
		{"a run's group is not the deploys'", cd.Concurrency.Group != "" && !strings.HasPrefix(cd.Concurrency.Group, "deploy-")},
		{"a run is never cancelled by another", cd.Concurrency.CancelInProgress == false},
		{"the deploy job runs in production (DeployRole's environment condition)", deploy.Environment == "production"},
		{"the tag is checked before the credentials are asked for", check >= 0 && credentials > check},
		{"the superseded job fails the run of a cancelled deploy", superseded.Needs == "deploy" && strings.Contains(superseded.If, "needs.deploy.result == 'cancelled'")},
	} {
		assert.True(t, c.ok, "cd.yml: %s", c.what)
	}
}
