package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/generated"
	"github.com/rideduration/rideduration/internal/golden"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/wire"
)

// The original's walkthrough, verbatim from the README (steps 5 and 6 of
// ../shared/original/walkthrough.txt, only --endpoint-url added), run by
// bash as the README's second terminal runs it (an AWS CLI v1 first on
// PATH, then the README's export line) against moto_server, with `predict
// stream ride_events` as the event-source mapping running the function with
// its default configuration. Then the original's step 4, as it writes it
// and as the README does, and 1,000 February rides, each prediction checked
// against sklearn's.
func TestWalkthrough(t *testing.T) {
	endpoint := testenv.Moto(t)
	c := testenv.Kinesis(t, endpoint)
	testenv.CreateStream(t, c, "ride_events", 1)
	testenv.CreateStream(t, c, "ride_prediction", 1)

	bin := testenv.GoBuild(t, ".", "predict", nil)
	cmd := exec.Command(bin, "stream", "-poll", "100ms", "ride_events")
	cmd.Env = append(os.Environ(), testenv.AWSEnv(endpoint)...)
	cmd.Env = append(cmd.Env, "PREDICTIONS_STREAM_NAME=", "RUN_ID=", "TEST_RUN=", "DEAD_LETTER_STREAM_NAME=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("predict stderr:\n%s", stderr.String())
		}
	})

	testenv.SecondTerminal(t, endpoint, testenv.ReadmeBlock(t, "<!-- walkthrough: step 5 -->"))
	waitFor(t, func() bool { return len(testenv.ReadStream(t, c, "ride_prediction")) > 0 })
	out := testenv.SecondTerminal(t, endpoint, testenv.ReadmeBlock(t, "<!-- walkthrough: step 6 -->"))

	// The last thing printed is jq's pretty print of the prediction event.
	i := strings.LastIndex(out, "\n{\n")
	require.GreaterOrEqual(t, i, 0, "no pretty-printed JSON in:\n%s", out)
	printed := out[i+1:]
	var got wire.PredictionEvent
	require.NoError(t, json.Unmarshal([]byte(printed), &got))
	assert.Equal(t, "ride_duration_prediction_model", got.Model)
	assert.Equal(t, generated.Version, got.Version)
	assert.Equal(t, "123", string(got.Prediction.RideID))
	assert.Equal(t, math.Float64bits(golden.TestRide.Prediction), math.Float64bits(got.Prediction.RideDuration),
		"ride_duration %v", got.Prediction.RideDuration)
	// The README shows what the walkthrough prints.
	// The README shows what the walkthrough prints with the committed model;
	// after `make model` brings in another run, its example is of the model
	// it documents, and only its shape is checked.
	example := []byte(testenv.ReadmeBlock(t, "which ends with the prediction:"))
	var documented wire.PredictionEvent
	require.NoError(t, json.Unmarshal(example, &documented))
	if documented.Version == generated.Version {
		assert.JSONEq(t, string(example), printed)
	} else {
		t.Logf("the README's example is of model %s, this build's is %s: shape checked only", documented.Version, generated.Version)
		assert.Equal(t, got.Model, documented.Model)
		assert.Equal(t, string(got.Prediction.RideID), string(documented.Prediction.RideID))
	}

	// The original's step 4 as it writes it: the CLI refuses its data, and
	// nothing reaches the stream; the README says so in the CLI's words.
	refused, err := testenv.AWSCmd(t, endpoint, "kinesis", "put-record",
		"--stream-name", "ride_events", "--partition-key", "1", "--data", "Hi test 1").CombinedOutput()
	assert.Equal(t, 255, testenv.ExitCode(err), "%s", refused)
	assert.Equal(t, `Invalid base64: "Hi test 1"`, strings.TrimSpace(string(refused)))
	// The README's step 4, with --cli-binary-format: a bad record, logged
	// with its reason; the rides after it are all predicted.
	testenv.SecondTerminal(t, endpoint, testenv.ReadmeBlock(t, "<!-- walkthrough: step 4 -->"))

	// 1,000 February rides, with ride ids 1000..1999.
	rows, err := golden.Load()
	require.NoError(t, err)
	rows = rows[:1000]
	for start := 0; start < len(rows); start += 500 {
		var entries []types.PutRecordsRequestEntry
		for i := start; i < start+500; i++ {
			entries = append(entries, types.PutRecordsRequestEntry{
				Data: []byte(rideJSON(rows[i], 1000+i)), PartitionKey: aws.String(strconv.Itoa(i))})
		}
		out, err := c.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String("ride_events"), Records: entries})
		require.NoError(t, err)
		require.Zero(t, aws.ToInt32(out.FailedRecordCount))
	}
	var preds []types.Record
	waitFor(t, func() bool {
		preds = testenv.ReadStream(t, c, "ride_prediction")
		return len(preds) >= 1+len(rows)
	})
	require.Len(t, preds, 1+len(rows), "each ride once")
	for _, r := range preds[1:] {
		var p wire.PredictionEvent
		require.NoError(t, json.Unmarshal(r.Data, &p))
		id, err := strconv.Atoi(string(p.Prediction.RideID))
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa(id), aws.ToString(r.PartitionKey), "partition key = ride id")
		want := rows[id-1000]
		require.Equal(t, math.Float64bits(want.Prediction), math.Float64bits(p.Prediction.RideDuration),
			"ride %d (%v): %v, want %v", id, want.Features, p.Prediction.RideDuration, want.Prediction)
	}

	// Ctrl-C: a clean stop.
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err = cmd.Wait()
	stopped = true
	require.NoError(t, err, "exit status after Ctrl-C; stderr:\n%s", stderr.String())
	assert.Equal(t, 1+len(rows), strings.Count(stdout.String(), "\n"), "each prediction printed once")
	assert.Contains(t, stderr.String(), `"msg":"bad record"`)
	// The README shows that log line, as it is but for its time.
	var logged []map[string]any
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, `"msg":"bad record"`) {
			logged = append(logged, withoutTime(t, line))
		}
	}
	assert.Equal(t, []map[string]any{withoutTime(t, testenv.ReadmeBlock(t, "<!-- walkthrough: step 4 log -->"))}, logged)
	assert.Contains(t, stderr.String(), `"reason":"record: not valid JSON: invalid character 'H' at start of value"`)
	assert.NotContains(t, stderr.String(), `"level":"ERROR"`)
}

// withoutTime is the JSON log line line, without its time.
func withoutTime(t *testing.T, line string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &m), "%s", line)
	delete(m, "time")
	return m
}

// waitFor polls cond until it holds, within a generous bound (not a timed
// assertion: only a hang fails it).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
	}
}
