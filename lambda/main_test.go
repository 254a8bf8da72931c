package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/generated"
)

// runIDWarning is the message of the start-up line that says RUN_ID is not
// the compiled model's version.
const runIDWarning = "RUN_ID differs from the compiled model's version"

// startLog is what the function logs at start with RUN_ID set to runID,
// a JSON document per line.
func startLog(t *testing.T, runID string) []map[string]any {
	t.Helper()
	t.Setenv("RUN_ID", runID)
	t.Setenv("TEST_RUN", "True")
	t.Setenv("PREDICTIONS_STREAM_NAME", "")
	t.Setenv("DEAD_LETTER_STREAM_NAME", "")
	var log bytes.Buffer
	_, err := newHandler(context.Background(), slog.New(slog.NewJSONHandler(&log, nil)), io.Discard)
	require.NoError(t, err)
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var doc map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &doc), "a JSON log line: %s", l)
		lines = append(lines, doc)
	}
	return lines
}

// A RUN_ID other than the compiled model's version (the course's Test123,
// or a run id left from another model's deploy) is honoured, and said once
// at start, with both values; none is said when RUN_ID is unset or the
// model's own.
func TestStartSaysRunIDIsNotTheModels(t *testing.T) {
	var warnings []map[string]any
	for _, l := range startLog(t, "Test123") {
		if l["msg"] == runIDWarning {
			warnings = append(warnings, l)
		}
		if l["msg"] == "init" {
			assert.Equal(t, "Test123", l["version"], "the events' version")
		}
	}
	require.Len(t, warnings, 1, "one %q line", runIDWarning)
	assert.Equal(t, "WARN", warnings[0]["level"])
	assert.Equal(t, "Test123", warnings[0]["run_id"])
	assert.Equal(t, generated.Version, warnings[0]["model_version"])

	for _, runID := range []string{"", generated.Version} {
		for _, l := range startLog(t, runID) {
			assert.NotEqual(t, runIDWarning, l["msg"], "RUN_ID=%q", runID)
			if l["msg"] == "init" {
				assert.Equal(t, generated.Version, l["version"], "RUN_ID=%q: the events' version", runID)
			}
		}
	}
}
