package handler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/faultproxy"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/putrecords"
)

// The deadline test: the output streams never accept anything (a proxy in
// front of moto throttles half the calls whole and fails every entry of the
// others, as a saturated stream does), and the invocation has a deadline.
// The handler resends until its margin, then answers before the deadline
// with every record reported: the bad record too, as its dead letter was
// not written either. The client is built as in production, from the
// environment, with the SDK's retryer configured: the writer makes each
// call a single attempt, so that every wait is its own, inside its time.
func TestHandleDeadline(t *testing.T) {
	moto := testenv.Moto(t)
	direct := testenv.Kinesis(t, moto)
	testenv.CreateStream(t, direct, "predictions", 1)
	testenv.CreateStream(t, direct, "dead_letters", 1)
	p := faultproxy.Start(t, moto, 1)
	p.Set("PutRecords", faultproxy.Faults{EntryFailure: 1, Throttle: 0.5})
	for _, kv := range testenv.AWSEnv(p.URL) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	c, err := putrecords.NewClient(context.Background())
	require.NoError(t, err)

	data := make([][]byte, 600)
	for i := range data {
		data[i] = rideRecord(i)
	}
	data[42] = []byte("not a ride")
	ev := kinesisEvent(data...)
	all := make([]int, len(data))
	for i := range all {
		all[i] = i
	}

	for _, timeout := range []time.Duration{3 * time.Second, 800 * time.Millisecond} {
		t.Run(fmt.Sprint(timeout), func(t *testing.T) {
			var logs logLines
			h := New(Config{PredictionsStream: "predictions", DeadLetterStream: "dead_letters", Logger: logs.logger()}, tiny("v"), c)
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			deadline, _ := ctx.Deadline()
			resp, err := h.Handle(ctx, ev)
			assert.True(t, time.Now().Before(deadline), "answered after the deadline")
			require.NoError(t, err)
			assert.Len(t, resp.Predictions, 599)
			assert.Equal(t, failures(ev, all...), resp.BatchItemFailures, "every record, in order")
			batch := logs.withMsg(t, "batch")
			require.Len(t, batch, 1)
			assert.Equal(t, map[string]any{"failed": 599.0, "dead_letter_failed": 1.0, "out_of_time": true, "level": "ERROR"},
				pick(batch[0], "failed", "dead_letter_failed", "out_of_time", "level"))
			if timeout > time.Second {
				assert.Greater(t, batch[0]["calls"], 2.0, "resent while time allowed")
			}
		})
	}
	assert.Empty(t, testenv.ReadStream(t, direct, "predictions"))
	assert.Empty(t, testenv.ReadStream(t, direct, "dead_letters"))
}
