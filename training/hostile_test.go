package training

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// A variable a user or a workflow input sets reaches no shell, and make
// itself runs nothing it holds: make stops before any recipe, naming the
// variable. RUN_ID comes from CD's workflow_dispatch input.
func TestMakeRefusesHostileVariables(t *testing.T) {
	pwned := filepath.Join(t.TempDir(), "PWNED")
	run := "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"RUN_ID quote", []string{"model", "RUN_ID=x'; touch " + pwned + "; echo '"}, nil, `RUN_ID="x'; touch`},
		{"RUN_ID make function", []string{"model", "RUN_ID=$(shell touch " + pwned + ")"}, nil, `RUN_ID="$(shell touch`},
		{"RUN_ID not a run id", []string{"model", "RUN_ID=0123456789ABCDEF0123456789abcdef"}, nil,
			`RUN_ID="0123456789ABCDEF0123456789abcdef": want an MLflow run id, 32 hex digits (0-9, a-f)`},
		{"RUN_ID in the environment", []string{"model"}, []string{"RUN_ID=$(shell touch " + pwned + ")"},
			"make model: set RUN_ID=<MLflow run id> (32 hex digits)"},
		{"MODEL_URI command substitution", []string{"model", "RUN_ID=" + run, "MODEL_URI=s3://b/$(touch" + pwned + ")"}, nil,
			`MODEL_URI="s3://b/$(touch` + pwned + `)": use only letters, digits and . _ - / : @ = + , (a name, number, path or URI)`},
		{"PREPROCESSOR_URI backquotes", []string{"model", "RUN_ID=" + run, "PREPROCESSOR_URI=s3://b/`touch`"}, nil,
			"PREPROCESSOR_URI=\"s3://b/`touch`\": use only letters"},
		{"STACK_NAME in the environment", []string{"-n", "deploy-zip"}, []string{"STACK_NAME=x;touch"}, `STACK_NAME="x;touch": use only letters`},
		{"DEPLOY_PARAMS", []string{"-n", "deploy-zip", "DEPLOY_PARAMS=A=1 B=$(touch)"}, nil, `DEPLOY_PARAMS="A=1 B=$(touch)": use only letters`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := makeEnv(t, "..", "", tc.env, tc.args...)
			require.Error(t, err)
			assert.Contains(t, out, tc.want)
			assert.Equal(t, 2, testenv.ExitCode(err), "make stops at once")
			assert.NotContains(t, out, "==>", "no recipe ran")
			_, err = os.Stat(pwned)
			assert.True(t, os.IsNotExist(err), "the hostile command ran")
			assert.False(t, strings.Contains(out, "go build"), "no recipe ran")
		})
	}
}
