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

	"github.com/rideduration/rideduration/internal/golden"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/lambda"
)

// The original walkthrough, locally: moto_server as Kinesis, the AWS CLI v2
// for the ride in and the prediction out, and `predict -stream` as the
// event-source mapping running the function's handler. Then 1,000 February
// rides, each prediction checked against sklearn's.
func TestEndToEnd(t *testing.T) {
	endpoint := testenv.Moto(t)
	c := testenv.Kinesis(t, endpoint)
	testenv.CreateStream(t, c, "ride_events", 1)
	testenv.CreateStream(t, c, "ride_predictions", 1)

	// As the walkthrough sends it.
	testenv.AWS(t, endpoint, "kinesis", "put-record",
		"--stream-name", "ride_events",
		"--partition-key", "1",
		"--cli-binary-format", "raw-in-base64-out",
		"--data", `{
        "ride": {
            "PULocationID": 130,
            "DOLocationID": 205,
            "trip_distance": 3.66
        }, 
        "ride_id": 156
    }`)

	bin := testenv.GoBuild(t, ".", "predict", nil)
	cmd := exec.Command(bin, "-stream", "ride_events", "-poll", "100ms")
	cmd.Env = append(os.Environ(), testenv.AWSEnv(endpoint)...)
	cmd.Env = append(cmd.Env, "PREDICTIONS_STREAM_NAME=ride_predictions", "RUN_ID=e1efc53e9bd149078b0c12aeaa6365df", "TEST_RUN=False")
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

	// As the walkthrough reads it.
	var records []struct{ Data []byte }
	waitFor(t, func() bool {
		iter := strings.TrimSpace(string(testenv.AWS(t, endpoint, "kinesis", "get-shard-iterator",
			"--shard-id", "shardId-000000000000",
			"--shard-iterator-type", "TRIM_HORIZON",
			"--stream-name", "ride_predictions",
			"--query", "ShardIterator", "--output", "text")))
		var res struct{ Records []struct{ Data []byte } } // the CLI prints Data in base64
		require.NoError(t, json.Unmarshal(testenv.AWS(t, endpoint, "kinesis", "get-records", "--shard-iterator", iter), &res))
		records = res.Records
		return len(records) > 0
	})
	require.Len(t, records, 1)
	var got lambda.PredictionEvent
	require.NoError(t, json.Unmarshal(records[0].Data, &got))
	assert.Equal(t, "ride_duration_prediction_model", got.Model)
	assert.Equal(t, "e1efc53e9bd149078b0c12aeaa6365df", got.Version)
	assert.Equal(t, "156", string(got.Prediction.RideID))
	assert.Equal(t, math.Float64bits(golden.TestRide.Prediction), math.Float64bits(got.Prediction.RideDuration),
		"ride_duration %v", got.Prediction.RideDuration)

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
		preds = testenv.ReadStream(t, c, "ride_predictions")
		return len(preds) >= 1+len(rows)
	})
	require.Len(t, preds, 1+len(rows), "each ride once")
	for _, r := range preds[1:] {
		var p lambda.PredictionEvent
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
	assert.NotContains(t, stderr.String(), `"level":"ERROR"`)
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
