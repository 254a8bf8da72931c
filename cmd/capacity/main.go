// Command capacity prints the table of docs/capacity.md: for 1k to 1M rides/s,
// the shards, ParallelizationFactor, Lambda concurrency and cost per million
// rides of this function and of the Python original, from the figures in
// package capacity. Flags override the Go function's figures, so the table
// can be redone when a measurement or the deployment changes:
//
//	capacity -cpu-per-ride 2us -latency 15ms -memory 256 -batch-size 500
package main

import (
	"flag"
	"os"
	"time"

	"github.com/rideduration/rideduration/capacity"
)

func main() {
	f := capacity.Go
	cpu := flag.Duration("cpu-per-ride", time.Duration(f.CPUPerRide*1e9), "the function's CPU time per ride at one vCPU (BenchmarkInvoke100 in lambda/ / 100)")
	latency := flag.Duration("latency", time.Duration(f.PutLatency*1e9), "one PutRecords round trip (both designs)")
	flag.IntVar(&f.MemoryMB, "memory", f.MemoryMB, "the function's memory in MB (its CPU share)")
	flag.IntVar(&f.BatchSize, "batch-size", f.BatchSize, "records per invocation (the event-source mapping's BatchSize)")
	flag.Parse()
	f.CPUPerRide, f.PutLatency = cpu.Seconds(), latency.Seconds()
	orig := capacity.Original
	orig.PutLatency = f.PutLatency
	capacity.WriteTable(os.Stdout, capacity.Rates, f, orig)
}
