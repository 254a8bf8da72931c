// Package capacity sizes the deployment on paper: for a target rate of
// rides per second, the Kinesis shards of both streams, the event-source
// mapping's ParallelizationFactor, the Lambda concurrency and the cost per
// million rides, from measured figures and stated assumptions (Figures).
// cmd/capacity prints the table of docs/capacity.md with it, so the table can be
// redone when a figure changes.
package capacity

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Kinesis and Lambda limits (provisioned mode, per shard; Lambda's mapping).
const (
	ShardRecordsPerSec = 1000    // writes, per shard
	ShardBytesPerSec   = 1 << 20 // writes, per shard
	PutRecordsMax      = 500     // records per PutRecords call
	PutPayloadUnit     = 25 << 10
	MaxParallelization = 10     // ParallelizationFactor
	MBPerVCPU          = 1769.0 // Lambda gives a function one full vCPU at 1,769 MB
)

// Prices are list prices in USD, us-east-1.
type Prices struct {
	Date             string  // when they were taken, and from where
	ShardHour        float64 // provisioned Kinesis, per shard-hour
	PutUnitsMillion  float64 // per million PUT payload units (25 KB each)
	LambdaGBSecond   float64 // per GB-s (the function's architecture)
	LambdaRequestsMn float64 // per million invocations
}

// Figures describe one design: what it does per ride and per batch.
type Figures struct {
	Name string
	// RideEventBytes and PredictionBytes are the records' sizes on the streams.
	RideEventBytes, PredictionBytes int
	// CPUPerRide is the function's CPU time per ride at one full vCPU:
	// read the event, parse, predict, encode, write the response (the Go
	// function: BenchmarkInvoke100 in lambda/ / 100).
	CPUPerRide float64 // seconds
	// PutCallsPerRide is how many write calls a ride costs: 1/500 for one
	// PutRecords call per 500 predictions, 1 for a PutRecord per ride.
	PutCallsPerRide float64
	// PutLatency is one write call's round trip from Lambda to Kinesis.
	PutLatency float64 // seconds
	MemoryMB   int     // the function's memory, which sets its CPU share
	BatchSize  int     // records per invocation (the mapping's BatchSize)
	Prices     Prices
}

// Plan is the deployment for one rate.
type Plan struct {
	Rate                 float64 // rides per second
	InShards, OutShards  int
	Parallelization      int // ParallelizationFactor; 0: not reachable with one stream per shard count
	Concurrency          int // Lambda concurrent executions at that rate
	BatchSeconds         float64
	RidesPerInvocationPS float64 // what one concurrent invocation sustains, rides/s
	CostPerMillion       float64 // USD: Kinesis (shards, PUT units) + Lambda (GB-s, requests)
	KinesisPerMillion    float64
	LambdaPerMillion     float64
}

// BatchSeconds is one invocation's duration for a full batch: the CPU
// work at the function's share of a vCPU, plus the write round trips.
func (f Figures) BatchSeconds() float64 {
	share := math.Min(1, float64(f.MemoryMB)/MBPerVCPU)
	b := float64(f.BatchSize)
	return b*f.CPUPerRide/share + math.Ceil(b*f.PutCallsPerRide)*f.PutLatency
}

// shards is the shard count that takes rate records/s of size bytes.
func shards(rate float64, bytes int) int {
	return int(math.Ceil(math.Max(rate/ShardRecordsPerSec, rate*float64(bytes)/ShardBytesPerSec)))
}

// PlanFor sizes the deployment for rate rides/s. The input stream's shards
// are what its writes need; if the function cannot keep up with a shard's
// rate even at ParallelizationFactor 10, more input shards are used, as
// the mapping's concurrency is per shard.
func (f Figures) PlanFor(rate float64) Plan {
	p := Plan{Rate: rate, BatchSeconds: f.BatchSeconds()}
	p.RidesPerInvocationPS = float64(f.BatchSize) / p.BatchSeconds
	p.InShards = max(shards(rate, f.RideEventBytes), int(math.Ceil(rate/(MaxParallelization*p.RidesPerInvocationPS))))
	p.OutShards = shards(rate, f.PredictionBytes)
	perShard := rate / float64(p.InShards)
	p.Parallelization = max(1, int(math.Ceil(perShard/p.RidesPerInvocationPS)))
	p.Concurrency = p.InShards * p.Parallelization

	hours := 1e6 / rate / 3600 // to carry a million rides at this rate
	units := math.Ceil(float64(f.RideEventBytes)/PutPayloadUnit) + math.Ceil(float64(f.PredictionBytes)/PutPayloadUnit)
	p.KinesisPerMillion = float64(p.InShards+p.OutShards)*hours*f.Prices.ShardHour + units*f.Prices.PutUnitsMillion
	invocations := 1e6 / float64(f.BatchSize)
	billed := math.Ceil(p.BatchSeconds*1000) / 1000 // Lambda bills by the millisecond
	p.LambdaPerMillion = invocations*billed*float64(f.MemoryMB)/1024*f.Prices.LambdaGBSecond +
		invocations/1e6*f.Prices.LambdaRequestsMn
	p.CostPerMillion = p.KinesisPerMillion + p.LambdaPerMillion
	return p
}

// Rates are the rates the table of docs/capacity.md is drawn for.
var Rates = []float64{1e3, 1e4, 1e5, 1e6}

// WriteTable writes a markdown table of the designs' plans at each rate.
func WriteTable(w io.Writer, rates []float64, designs ...Figures) {
	fmt.Fprintln(w, "| design | rides/s | input shards | output shards | ParallelizationFactor | Lambda concurrency | batch duration | USD per million rides (Kinesis + Lambda) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, f := range designs {
		for _, r := range rates {
			p := f.PlanFor(r)
			fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %s | %.1f ms | %.4f (%.4f + %.4f) |\n",
				f.Name, thousands(r), thousands(float64(p.InShards)), thousands(float64(p.OutShards)),
				p.Parallelization, thousands(float64(p.Concurrency)), p.BatchSeconds*1000,
				p.CostPerMillion, p.KinesisPerMillion, p.LambdaPerMillion)
		}
	}
}

// thousands writes n with thin separators: 1,000,000.
func thousands(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
