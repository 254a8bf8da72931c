package training

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// A variable a user or a workflow input sets reaches no shell as text, and
// make itself runs nothing it holds: the program of the step that uses the
// value refuses it, naming the variable. RUN_ID comes from CD's
// workflow_dispatch input.
func TestMakeRefusesHostileVariables(t *testing.T) {
	pwned := filepath.Join(t.TempDir(), "PWNED")
	run := "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"RUN_ID quote", []string{"model", "RUN_ID=x'; touch " + pwned + "; echo '"}, nil, `fetch: RUN_ID="x'; touch`},
		{"RUN_ID make function", []string{"model", "RUN_ID=$(shell touch " + pwned + ")"}, nil, `fetch: RUN_ID="$(shell touch`},
		{"RUN_ID not a run id", []string{"model", "RUN_ID=0123456789ABCDEF0123456789abcdef"}, nil,
			`RUN_ID="0123456789ABCDEF0123456789abcdef": want an MLflow run id, 32 hex digits (0-9, a-f)`},
		{"RUN_ID in the environment", []string{"model"}, []string{"RUN_ID=$(shell touch " + pwned + ")"}, `fetch: RUN_ID="$(shell touch`},
		{"RUN_ID newline, model-export", []string{"model-export", "RUN_ID=" + run + "\ntouch " + pwned}, nil, `export: RUN_ID="` + run + `\ntouch`},
		{"RUN_ID backquotes, model-import", []string{"model-import", "RUN_ID=`touch " + pwned + "`"}, nil, "packmodel: RUN_ID=\"`touch"},
		{"MODEL_DIR option", []string{"model", "RUN_ID=" + run, "MODEL_DIR=--help"}, nil, `fetch: MODEL_DIR="--help": want a path that does not start with '-'`},
		{"MODEL_URI option", []string{"model", "RUN_ID=" + run, "MODEL_URI=-h"}, nil, `fetch: MODEL_URI="-h": want a path that does not start with '-'`},
		{"STACK_NAME in the environment", []string{"deploy-built"}, []string{"STACK_NAME=x;touch " + pwned}, `STACK_NAME="x;touch`},
		{"DEPLOY_PARAMS", []string{"deploy-built", "DEPLOY_PARAMS=A=1 B=$(touch " + pwned + ")"}, nil, `DEPLOY_PARAMS: "` + pwned + `)": want Key=Value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := makeEnv(t, "..", "", append([]string{"GO=" + testenv.GoTool(t)}, tc.env...), tc.args...)
			require.Error(t, err)
			assert.Contains(t, out, tc.want)
			_, err = os.Stat(pwned)
			assert.True(t, os.IsNotExist(err), "the hostile command ran")
			if tc.args[0] == "model" {
				assert.NotContains(t, out, "==> model 2/5", "the first step stops")
			}
		})
	}
}
