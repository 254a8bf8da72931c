package main

import (
	"encoding/json"
	"os"
	"os/exec"
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
// FunctionName"), so a deploy reaches it with this stand-in (cmd/deploy
// -template): it declares the same parameters, and moto keeps their values.
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

// deployTool builds cmd/deploy, the program the deployment targets run.
func deployTool(t *testing.T) string {
	t.Helper()
	return testenv.GoBuild(t, "../cmd/deploy", "deploy", nil)
}

// deployRun runs cmd/deploy (deploy, from deployTool) in the repository's
// root with args (flags, then the step), the environment plus env, and
// returns its combined output.
func deployRun(t *testing.T, deploy string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(deploy, args...)
	cmd.Dir = testenv.Root(t)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// deployDryRun prints what cmd/deploy would call (deploy -n) for each step
// among args; the args with '=' are its environment, in eu-west-1 and
// account 123456789012. It fails the test if a step fails.
func deployDryRun(t *testing.T, args ...string) string {
	t.Helper()
	deploy := deployTool(t)
	env := []string{"AWS_REGION=eu-west-1", "AWS_ACCOUNT_ID=123456789012", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	var steps []string
	for _, a := range args {
		if strings.Contains(a, "=") {
			env = append(env, a)
		} else {
			steps = append(steps, a)
		}
	}
	var all strings.Builder
	for _, step := range steps {
		out, err := deployRun(t, deploy, env, "-n", step)
		require.NoError(t, err, "deploy -n %s %s:\n%s", step, strings.Join(args, " "), out)
		all.WriteString(out)
	}
	return all.String()
}

// Every deploy sets RunId: the run id given, or empty, which the template
// turns into an unset RUN_ID, so that the function reports the compiled
// model's own version. A deploy keeps a parameter it is not given at its
// previous value: a deploy of model B after one with RUN_ID=A would
// otherwise label B's events "A". cmd/deploy (make deploy-built) deploys
// twice to moto's CloudFormation, and the stack's parameters are read back;
// RunId= is sent as an empty value, which CloudFormation keeps.
func TestDeploySetsRunIdEveryTime(t *testing.T) {
	moto := testenv.Moto(t)
	dir := t.TempDir()
	tpl := standInTemplate(t, dir)
	deployBin := deployTool(t)
	zip := filepath.Join(dir, "function-arm64.zip")
	require.NoError(t, os.WriteFile(zip, []byte("PK\x05\x06"+strings.Repeat("\x00", 18)), 0o644))
	testenv.AWS(t, moto, "s3api", "create-bucket", "--bucket", "rides-code")

	env := append(testenv.AWSEnv(moto), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_ACCOUNT_ID=123456789012", "STACK_NAME=rides", "ARTIFACT_BUCKET=rides-code", "DEPLOY_ZIP="+zip)
	deploy := func(args ...string) map[string]string {
		t.Helper()
		out, err := deployRun(t, deployBin, append(env, args...), "-template", tpl, "deploy-built")
		require.NoError(t, err, "deploy deploy-built %s:\n%s", strings.Join(args, " "), out)
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
	assert.Equal(t, "", deploy("RUN_ID=")["RunId"], "a deploy without RUN_ID: the compiled model's own version")
}

// Each variant's deploy (zip and image) passes RunId and
// PermissionsBoundary, empty without RUN_ID and CFN_ROLE_ARN.
func TestEveryDeployPassesRunId(t *testing.T) {
	out := deployDryRun(t, "deploy-built", "deploy-image", "RUN_ID=", "CFN_ROLE_ARN=", "IMAGE_TAG=v1.0.0")
	deploys := regexp.MustCompile(`(?m)^cloudformation:CreateChangeSet .*TemplateFile=lambda/template\.yaml.*$`).FindAllString(out, -1)
	require.Len(t, deploys, 2, "deploy-built's and deploy-image's change set:\n%s", out)
	for _, d := range deploys {
		assert.Regexp(t, `\sParameter:RunId=(\s|$)`, d, "RunId set, empty")
		assert.Regexp(t, `\sParameter:PermissionsBoundary=(\s|$)`, d, "PermissionsBoundary set, empty")
	}
}
