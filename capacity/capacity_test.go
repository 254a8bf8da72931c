package capacity

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPlanFor(t *testing.T) {
	f := Figures{
		RideEventBytes: 100, PredictionBytes: 100, CPUPerRide: 1e-6, PutCallsPerRide: 1.0 / 500,
		PutLatency: 0.02, MemoryMB: 1769, BatchSize: 100,
		Prices: Prices{ShardHour: 0.015, PutUnitsMillion: 0.014, LambdaGBSecond: 0.00001, LambdaRequestsMn: 0.2},
	}
	p := f.PlanFor(1000)
	assert.InDelta(t, 0.0201, p.BatchSeconds, 1e-12, "100 µs of CPU at one vCPU + one 20 ms call")
	assert.Equal(t, Plan{Rate: 1000, InShards: 1, OutShards: 1, Parallelization: 1, Concurrency: 1}, Plan{
		Rate: p.Rate, InShards: p.InShards, OutShards: p.OutShards, Parallelization: p.Parallelization, Concurrency: p.Concurrency})
	// 2 shards for 1,000 s, and 2 PUT units per ride; 10,000 invocations of 21 ms at 1,769 MB.
	assert.InDelta(t, 2*1000.0/3600*0.015+2*0.014, p.KinesisPerMillion, 1e-12)
	assert.InDelta(t, 1e4*0.021*1769/1024*0.00001+1e4/1e6*0.2, p.LambdaPerMillion, 1e-12)

	// Bytes bind before records: 2 KB events fill a shard's 1 MB/s at 512/s.
	big := f
	big.RideEventBytes = 2048
	assert.Equal(t, 2, big.PlanFor(1000).InShards)

	// A function too slow for a shard at ParallelizationFactor 10 needs more shards.
	slow := f
	slow.CPUPerRide, slow.PutCallsPerRide = 0, 1 // 100 × 20 ms = 2 s a batch: 50 rides/s an invocation
	p = slow.PlanFor(1000)
	assert.Equal(t, 2, p.InShards, "1,000/s over 500/s a shard (10 × 50)")
	assert.Equal(t, 10, p.Parallelization)
	assert.Equal(t, 20, p.Concurrency)

	// A small function gets its share of a vCPU.
	small := f
	small.MemoryMB = 128
	assert.InDelta(t, 100e-6*MBPerVCPU/128+0.02, small.BatchSeconds(), 1e-12)
}

// The table of docs/capacity.md is this package's output with the
// committed figures: change a figure, run `go run ./cmd/capacity`, paste.
func TestDocsTable(t *testing.T) {
	var b bytes.Buffer
	WriteTable(&b, Rates, Go, Original)
	page, err := os.ReadFile("../docs/capacity.md")
	require.NoError(t, err)
	assert.Contains(t, string(page), b.String(), "docs/capacity.md's table is stale: go run ./cmd/capacity")
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n")[2:] {
		assert.NotContains(t, line, "NaN")
		assert.NotContains(t, line, "Inf")
	}
	assert.False(t, math.IsNaN(Go.BatchSeconds()))
}
