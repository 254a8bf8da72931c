package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// standInTemplate writes a template with the function template's parameters
// and one queue, in dir, and returns its path. moto's CloudFormation does
// not expand the SAM transform (its CreateChangeSet fails with "Missing
// FunctionName"), so a deploy reaches it with this stand-in: the CLI reads
// the parameters from it, as from the real one, and moto keeps their values.
func standInTemplate(t *testing.T, dir string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"AWSTemplateFormatVersion": "2010-09-09",
		"Parameters":               loadTemplate(t).Parameters,
		"Resources":                map[string]any{"Queue": map[string]any{"Type": "AWS::SQS::Queue"}},
	})
	require.NoError(t, err)
	p := filepath.Join(dir, "stand-in.json")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// awsAgainst writes, in dir, the command make runs as AWS: the AWS CLI v2
// against endpoint, with the function template swapped for tpl.
func awsAgainst(t *testing.T, dir, endpoint, tpl string) string {
	t.Helper()
	p := filepath.Join(dir, "aws")
	script := `#!/bin/sh
prev=
for a do
	shift
	if [ "$prev" = --template-file ] && [ "$a" = lambda/template.yaml ]; then set -- "$@" '` + tpl + `'; else set -- "$@" "$a"; fi
	prev=$a
done
exec ` + testenv.AWSCLI + ` --endpoint-url '` + endpoint + `' "$@"
`
	require.NoError(t, os.WriteFile(p, []byte(script), 0o755))
	return p
}

// Every deploy sets RunId: the run id given, or empty, which the template
// turns into an unset RUN_ID, so that the function reports the compiled
// model's own version. `aws cloudformation deploy` keeps a parameter it is
// not given at its previous value: a deploy of model B after one with
// RUN_ID=A would otherwise label B's events "A". The real AWS CLI v2 deploys
// twice to moto's CloudFormation, and the stack's parameters are read back;
// the CLI sends RunId= as an empty value, which CloudFormation keeps.
func TestDeploySetsRunIdEveryTime(t *testing.T) {
	moto := testenv.Moto(t)
	dir := t.TempDir()
	aws := awsAgainst(t, dir, moto, standInTemplate(t, dir))
	zip := filepath.Join(dir, "function-arm64.zip")
	require.NoError(t, os.WriteFile(zip, []byte("PK\x05\x06"+strings.Repeat("\x00", 18)), 0o644))
	testenv.AWS(t, moto, "s3api", "create-bucket", "--bucket", "rides-code")

	env := append(testenv.AWSEnv(moto), "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "RUN_ID=")
	deploy := func(args ...string) map[string]string {
		t.Helper()
		out, err := testenv.Make(t, testenv.Root(t), env, append([]string{"deploy-built", "AWS=" + aws,
			"AWS_REGION=" + testenv.Region, "AWS_ACCOUNT_ID=123456789012", "STACK_NAME=rides",
			"ARTIFACT_BUCKET=rides-code", "DEPLOY_ZIP=" + zip}, args...)...)
		require.NoError(t, err, "make deploy-built %s:\n%s", strings.Join(args, " "), out)
		var params []struct{ ParameterKey, ParameterValue string }
		require.NoError(t, json.Unmarshal(testenv.AWS(t, moto, "cloudformation", "describe-stacks", "--stack-name", "rides",
			"--query", "Stacks[0].Parameters", "--output", "json"), &params))
		got := map[string]string{}
		for _, p := range params {
			got[p.ParameterKey] = p.ParameterValue
		}
		return got
	}
	const runA = "0e4f1d1c5a3b4d8f9e2a7b6c5d4e3f21"
	assert.Equal(t, runA, deploy("RUN_ID=" + runA)["RunId"], "RUN_ID=%s", runA)
	assert.Equal(t, "", deploy()["RunId"], "a deploy without RUN_ID: the compiled model's own version")
}

// Each variant's deploy (zip and image) passes RunId, empty without RUN_ID.
func TestEveryDeployPassesRunId(t *testing.T) {
	out := strings.ReplaceAll(makeDryRun(t, "deploy-built", "deploy-image", "RUN_ID="), "\\\n", "")
	deploys := regexp.MustCompile(`(?m)^.*cloudformation deploy .*--template-file lambda/template\.yaml.*$`).FindAllString(out, -1)
	require.Len(t, deploys, 2, "deploy-built's and deploy-image's cloudformation deploy:\n%s", out)
	for _, d := range deploys {
		assert.Regexp(t, `\sRunId=(\s|$)`, d, "RunId set, empty")
		assert.Regexp(t, `\sPermissionsBoundary=(\s|$)`, d, "PermissionsBoundary set, empty")
	}
}
