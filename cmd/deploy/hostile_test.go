package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
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

// payloads are values that would run `touch marker` (or become an option)
// if any of them reached a shell as text.
func payloads(marker string) map[string]string {
	return map[string]string{
		"newline":       "x\ntouch " + marker,
		"$(…)":          "$(touch " + marker + ")",
		"make function": "$(shell touch " + marker + ")",
		"backquotes":    "`touch " + marker + "`",
		";":             "x;touch " + marker + ";",
		"|":             "x|touch " + marker,
		"&&":            "x&&touch " + marker,
		"leading -":     "--role-arn=" + marker,
		"${IFS}":        "x;touch${IFS}" + marker + ";",
	}
}

// uses is the step of cmd/deploy that reads each variable.
var uses = map[string]string{
	"STACK_NAME": "stack-outputs", "ARCH": "deploy-built", "ECR_REPO": "push", "ECR_REGISTRY": "push",
	"IMAGE": "push", "IMAGE_TAG": "push", "ARTIFACT_BUCKET": "deploy-built", "AWS_REGION": "stack-outputs",
	"AWS_DEFAULT_REGION": "stack-outputs", "AWS_ACCOUNT_ID": "deploy-built", "SHARD_COUNT": "deploy-built",
	"BATCH_SIZE": "deploy-built", "PARALLELIZATION_FACTOR": "deploy-built", "STARTING_POSITION": "deploy-built",
	"RESERVED_CONCURRENCY": "deploy-built", "RECORD_RETENTION_DAYS": "deploy-built", "DEPLOY_PARAMS": "deploy-built",
	"CFN_ROLE_ARN": "deploy-built", "PERMISSIONS_BOUNDARY_ARN": "deploy-built", "RELEASE_STACK_NAME": "deploy-release",
	"GITHUB_REPOSITORY": "deploy-release", "GITHUB_OIDC_PROVIDER_ARN": "deploy-release", "RELEASE_PARAMS": "deploy-release",
	"MLFLOW_ARTIFACTS": "deploy-release", "RUN_ID": "deploy-built", "DEPLOY_ZIP": "deploy-verify", "CONTAINER": "push",
}

// asData are the variables whose value may hold any of the payloads as
// data: a file name (DEPLOY_ZIP) and a command name (CONTAINER) are
// passed to the system as they are, never to a shell; a space in a command
// name is refused.
var asData = map[string]bool{"DEPLOY_ZIP": true, "CONTAINER": true}

// options are the only arguments starting with '-' that cmd/deploy gives
// its tools.
var options = map[string]bool{"--no-print-directory": true, "--username": true, "--password-stdin": true,
	"-json": true, "-std": true, "-notimestamp": true, "-serial": true, "-version": true, "-output": true}

// baseEnv is a valid environment for every step (deploy -n makes no call;
// the values given leave nothing to look up).
func baseEnv(t *testing.T) []string {
	return []string{"AWS_REGION=eu-west-1", "AWS_ACCOUNT_ID=123456789012", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true", "GITHUB_REPOSITORY=owner/repo",
		"IMAGE_TAG=v1.0.0", "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing"}
}

// runDeploy runs the built cmd/deploy in dir with env (and nothing of the
// test's own AWS settings).
func runDeploy(t *testing.T, bin, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "IMAGE_TAG=") && !strings.HasPrefix(kv, "RUN_ID=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// checkOptions fails the test if a command deploy -n printed gets an
// argument starting with '-' that is not one of options.
func checkOptions(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "exec: ") {
			continue
		}
		for _, a := range strings.Fields(line)[2:] {
			if strings.HasPrefix(a, "-") && !options[a] {
				t.Errorf("an unexpected option %q reaches a tool: %s", a, line)
			}
		}
	}
}

// noMarker fails the test if the marker file exists.
func noMarker(t *testing.T, marker string) {
	t.Helper()
	_, err := os.Stat(marker)
	assert.True(t, os.IsNotExist(err), "a payload ran: %s exists", marker)
}

// Every variable cmd/deploy reads, given each payload: the step that uses
// it refuses it, naming the variable, before it calls or runs anything, or
// (asData) passes it as one argument. No payload runs, and no tool gets an
// option it was not meant to.
func TestEveryVariableRefusesCode(t *testing.T) {
	bin := testenv.GoBuild(t, ".", "deploy", nil)
	root := testenv.Root(t)
	marker := filepath.Join(t.TempDir(), "PWNED")
	for name, step := range uses {
		for what, payload := range payloads(marker) {
			t.Run(name+"/"+what, func(t *testing.T) {
				env := append(baseEnv(t), name+"="+payload)
				if name == "AWS_DEFAULT_REGION" {
					env = append(env, "AWS_REGION=")
				}
				out, err := runDeploy(t, bin, root, env, "-n", step)
				noMarker(t, marker)
				checkOptions(t, out)
				if asData[name] && err == nil {
					return
				}
				require.Error(t, err, "deploy -n %s took %s=%q:\n%s", step, name, payload, out)
				assert.Equal(t, 2, testenv.ExitCode(err), "refused before anything ran:\n%s", out)
				shown := name
				if name == "AWS_DEFAULT_REGION" {
					shown = "(from AWS_DEFAULT_REGION)"
				}
				assert.Contains(t, out, shown, "the message names the variable")
				assert.NotRegexp(t, `(?m)^(exec:|[a-z0-9]+:[A-Z])`, out, "nothing called before the check")
			})
		}
	}
}

// The rows, through make itself: each value given on the command
// line and in the environment, with the AWS SDK pointed at a closed port
// (nothing may be reached). Make runs the target's one program; the
// program refuses the value.
func TestMakeRowsRunNoCode(t *testing.T) {
	root := testenv.Root(t)
	marker := filepath.Join(t.TempDir(), "PWNED")
	closed := fmt.Sprintf("http://127.0.0.1:%d", testenv.UnusedPort(t))
	base := []string{"GO=" + testenv.GoTool(t), "AWS_ENDPOINT_URL=" + closed, "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ACCOUNT_ID=123456789012", "IMAGE_TAG=v1.0.0", "GITHUB_REPOSITORY=owner/repo", "RUN_ID=0123456789abcdef0123456789abcdef"}
	rows := []struct {
		target, name, value, want string
	}{
		{"deploy-built", "DEPLOY_PARAMS", "AlarmEmail=a@b.c\ntouch " + marker, `DEPLOY_PARAMS: "touch": want Key=Value`},
		{"deploy-release", "RELEASE_PARAMS", "FunctionStackName=x\ntouch " + marker, `RELEASE_PARAMS: "touch": want Key=Value`},
		{"stack-outputs", "AWS_DEFAULT_REGION", "us-east-1;touch " + marker + ";", `(from AWS_DEFAULT_REGION): want an AWS region`},
		{"deploy-built", "DEPLOY_PARAMS", "--role-arn=arn:aws:iam::1:role/x", `DEPLOY_PARAMS: "--role-arn=arn:aws:iam::1:role/x": want Key=Value`},
		{"deploy-built", "DEPLOY_PARAMS", "AlarmEmail=--role-arn=x", `want a value that does not start with '-'`},
		{"push", "IMAGE_TAG", "v1;touch${IFS}" + marker + ";", `IMAGE_TAG="v1;touch${IFS}`},
		{"deploy-built", "STACK_NAME", "$(shell touch " + marker + ")", `STACK_NAME="$(shell touch`},
		{"model", "RUN_ID", "x'; touch " + marker + "; echo '", `RUN_ID="x'; touch`},
		{"model", "MODEL_URI", "s3://b/$(touch " + marker + ")", `make model: step 1/5 fetch failed`},
		{"model", "MODEL_DIR", "-rf", `fetch: MODEL_DIR="-rf": want a path that does not start with '-'`},
	}
	for _, r := range rows {
		for _, where := range []string{"command line", "environment"} {
			t.Run(r.target+"/"+r.name+"/"+where, func(t *testing.T) {
				env, args := append([]string{}, base...), []string{r.target}
				if r.name == "AWS_DEFAULT_REGION" {
					env = append(env, "AWS_REGION=")
				} else {
					env = append(env, "AWS_REGION=eu-west-1")
				}
				if where == "environment" {
					env = append(env, r.name+"="+r.value)
				} else {
					args = append(args, r.name+"="+r.value)
				}
				out, err := testenv.Make(t, root, env, args...)
				noMarker(t, marker)
				require.Error(t, err, "make %s took %s=%q:\n%s", r.target, r.name, r.value, out)
				assert.Contains(t, out, r.want)
			})
		}
	}
}

// Every payload in every variable at once, given to make on the command
// line and in the environment: make itself expands none of them (a
// $(shell …) would run as make reads the Makefile), and the first check
// stops the target.
func TestMakeExpandsNoValue(t *testing.T) {
	root := testenv.Root(t)
	marker := filepath.Join(t.TempDir(), "PWNED")
	vars := []string{"RUN_ID", "MODEL_URI", "PREPROCESSOR_URI", "MODEL_DIR", "MLFLOW_ARTIFACTS", "PYTHON", "ENV_MANAGER",
		"TRAIN", "VALID", "TLC_URL", "BACKFILL_OUT", "REPORT_DIR", "REPLAY_LIMIT", "REPLAY_RATE", "SOAK_RIDES", "MOTO_PORT", "RIE_PORT"}
	for v := range uses {
		vars = append(vars, v)
	}
	for what, payload := range payloads(marker) {
		for _, target := range []string{"deploy-built", "model"} {
			t.Run(what+"/"+target, func(t *testing.T) {
				var args, env []string
				for _, v := range vars {
					args = append(args, v+"="+payload)
					env = append(env, v+"="+payload)
				}
				out, err := testenv.Make(t, root, []string{"GO=" + testenv.GoTool(t)}, append([]string{target}, args...)...)
				noMarker(t, marker)
				require.Error(t, err, "make %s:\n%s", target, out)
				out, err = testenv.Make(t, root, append(env, "GO="+testenv.GoTool(t)), target)
				noMarker(t, marker)
				require.Error(t, err, "make %s:\n%s", target, out)
			})
		}
	}
}

// Derived values are checked as given ones: the region of the AWS
// configuration, the account STS answers, the tag git describes.
func TestDerivedValuesAreChecked(t *testing.T) {
	bin := testenv.GoBuild(t, ".", "deploy", nil)
	root := testenv.Root(t)
	marker := filepath.Join(t.TempDir(), "PWNED")
	env := func(kv ...string) []string {
		var e []string
		for _, b := range baseEnv(t) {
			if !strings.HasPrefix(b, "AWS_REGION=") && !strings.HasPrefix(b, "AWS_ACCOUNT_ID=") && !strings.HasPrefix(b, "IMAGE_TAG=") {
				e = append(e, b)
			}
		}
		return append(e, kv...)
	}

	t.Run("region from the AWS configuration", func(t *testing.T) {
		conf := filepath.Join(t.TempDir(), "config")
		require.NoError(t, os.WriteFile(conf, []byte("[default]\nregion = us-east-1;touch "+marker+";\n"), 0o644))
		out, err := runDeploy(t, bin, root, append(env("AWS_ACCOUNT_ID=123456789012"), "AWS_CONFIG_FILE="+conf), "-n", "stack-outputs")
		noMarker(t, marker)
		require.Error(t, err, out)
		assert.Contains(t, out, `AWS_REGION="us-east-1;touch `+marker+`;" (from the AWS configuration (aws configure get region)): want an AWS region`)
	})

	t.Run("account from STS", func(t *testing.T) {
		moto := testenv.Moto(t)
		out, err := runDeploy(t, bin, root, env("AWS_REGION=eu-west-1", "AWS_ENDPOINT_URL="+moto), "-n", "deploy-built")
		require.NoError(t, err, out)
		assert.Contains(t, out, "sts:GetCallerIdentity")
		assert.Contains(t, out, "ExpectedBucketOwner=123456789012", "moto's account")

		// A fake STS: no real STS answers with an account that is not 12
		// digits, and that answer is what is checked here.
		sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>`+
				`<Arn>arn:aws:iam::123456789012:user/x</Arn><UserId>X</UserId><Account>1;touch %s;</Account>`+
				`</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`, marker)
		}))
		t.Cleanup(sts.Close)
		out, err = runDeploy(t, bin, root, env("AWS_REGION=eu-west-1", "AWS_ENDPOINT_URL="+sts.URL), "-n", "deploy-built")
		noMarker(t, marker)
		require.Error(t, err, out)
		assert.Contains(t, out, `AWS_ACCOUNT_ID="1;touch `+marker+`;" (from STS GetCallerIdentity): want an AWS account id, 12 digits`)
	})

	t.Run("image tag from git", func(t *testing.T) {
		testenv.Tool(t, "git", "apt-get install git")
		repo := t.TempDir()
		git := func(args ...string) string {
			t.Helper()
			cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
			cmd.Dir = repo
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "git %v: %s", args, out)
			return strings.TrimSpace(string(out))
		}
		git("init", "-q")
		require.NoError(t, os.WriteFile(filepath.Join(repo, "f"), []byte("f\n"), 0o644))
		git("add", "f")
		git("commit", "-q", "-m", "f")
		short := git("rev-parse", "--short", "HEAD")
		base := env("AWS_REGION=eu-west-1", "AWS_ACCOUNT_ID=123456789012")

		out, err := runDeploy(t, bin, repo, base, "-n", "push")
		require.NoError(t, err, out)
		assert.Contains(t, out, "/ride-duration:"+short+"\n", "no v* tag: the commit hash")

		git("tag", "-a", "-m", "v1.2.3", "v1.2.3")
		out, err = runDeploy(t, bin, repo, base, "-n", "push")
		require.NoError(t, err, out)
		assert.Contains(t, out, "/ride-duration:v1.2.3\n")

		for _, tag := range []string{"v1;touch${IFS}" + marker + ";", "v9$(touch${IFS}" + marker + ")", "v9`touch${IFS}" + marker + "`", "v9|touch${IFS}" + marker} {
			// The nearest tag: on a commit after v1.2.3's.
			git("commit", "-q", "--allow-empty", "-m", "next")
			git("tag", "-a", "-m", "x", tag)
			for _, step := range []string{"push", "deploy-image", "sbom"} {
				out, err := runDeploy(t, bin, repo, base, "-n", "-template", filepath.Join(root, "lambda/template.yaml"),
					"-training-month", filepath.Join(root, "cmd/predict/training_month.json"), step)
				noMarker(t, marker)
				require.Error(t, err, "tag %q, deploy -n %s:\n%s", tag, step, out)
				assert.Equal(t, 2, testenv.ExitCode(err))
				assert.Contains(t, out, fmt.Sprintf("IMAGE_TAG=%q (from git describe --always --dirty --match 'v[0-9]*'): want v<major>.<minor>.<patch>", tag))
				assert.NotRegexp(t, regexp.MustCompile(`(?m)^exec:`), out, "nothing ran")
			}
			git("tag", "-d", tag)
		}
	})
}

// The Makefile's own constants that recipes paste are not values: one of
// the same name from the user leaves the recipe's text as the Makefile
// writes it (make -n prints the recipes and runs none).
func TestMakeConstantsAreNotValues(t *testing.T) {
	root := testenv.Root(t)
	marker := filepath.Join(t.TempDir(), "PWNED")
	constants := map[string]string{
		"DEB_PACKAGES":      "deps",
		"BOOTSTRAP_FLAGS":   "package",
		"RIE_MODULE":        "rie",
		"RIE_VERSION":       "rie",
		"IMAGE_BUILD_FLAGS": "image",
		"DEPLOY":            "stack-outputs",
		"MODEL_KEPT":        "model",
		"MODEL_CHANGED":     "model",
	}
	for name, target := range constants {
		want, err := testenv.Make(t, root, []string{"GO=" + testenv.GoTool(t)}, "-n", target)
		require.NoError(t, err, "make -n %s:\n%s", target, want)
		for what, payload := range payloads(marker) {
			t.Run(name+"/"+what, func(t *testing.T) {
				out, err := testenv.Make(t, root, []string{"GO=" + testenv.GoTool(t)}, "-n", target, name+"="+payload)
				require.NoError(t, err, "make -n %s:\n%s", target, out)
				assert.Equal(t, want, out, "%s from the command line changed the recipe", name)
				noMarker(t, marker)
			})
		}
	}
}
