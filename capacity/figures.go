package capacity

// ListPrices are the us-east-1 list prices assumed here (provisioned
// Kinesis; Lambda arm64 or x86_64). They were not fetched live: check them
// against aws.amazon.com/kinesis/data-streams/pricing and
// aws.amazon.com/lambda/pricing before relying on a figure.
func ListPrices(arm bool) Prices {
	p := Prices{
		Date:             "us-east-1 list prices as assumed on 2026-11-25",
		ShardHour:        0.015,
		PutUnitsMillion:  0.014,
		LambdaGBSecond:   0.0000166667,
		LambdaRequestsMn: 0.20,
	}
	if arm {
		p.LambdaGBSecond = 0.0000133334
	}
	return p
}

// PutLatency is the assumed round trip of one PutRecords (or PutRecord)
// call from a Lambda function to Kinesis in the same region. It is an
// assumption, not a measurement: no AWS account is used here.
const PutLatency = 0.020

// Go is this project's function as lambda/template.yaml deploys it.
var Go = Figures{
	Name: "this (Go)",
	// The original's ride event, compact (91 B), and its prediction event
	// with a 32-character run id (151 B): each far below a 1 KB write and
	// a 25 KB PUT payload unit, so shards are bound by records/s.
	RideEventBytes:  91,
	PredictionBytes: 151,
	// BenchmarkInvoke100 in lambda/ (one 100-record invocation as the
	// runtime makes it: the event's JSON read, 100 rides parsed, predicted
	// by the compiled model and encoded, the response written; TEST_RUN) on
	// a 2-vCPU AMD EPYC machine: 284 µs/op (docs/performance.md). Reading
	// the event is part of it: through aws-lambda-go's encoding/json it
	// would take 15 µs a ride.
	CPUPerRide:      2.84e-6,
	PutCallsPerRide: 1.0 / PutRecordsMax, // one PutRecords call per 500 predictions
	PutLatency:      PutLatency,
	MemoryMB:        128, // template: MemorySize
	BatchSize:       100, // template: BatchSize default
	Prices:          ListPrices(true),
}

// Original is the Python original's design: for each ride, sklearn's
// predict on a one-row frame, then a synchronous PutRecord.
var Original = Figures{
	Name:            "original (Python)",
	RideEventBytes:  91,
	PredictionBytes: 151,
	// sklearn's single-ride predict, measured on the same machine: 2.3 ms.
	CPUPerRide:      2.3e-3,
	PutCallsPerRide: 1, // kinesis_client.put_record per ride
	PutLatency:      PutLatency,
	// Its walkthrough sets no memory; loading the pickle peaks at 130 MiB
	// RSS (measured), so 256 MB is the least that runs it with headroom.
	MemoryMB:  256,
	BatchSize: 100, // Lambda's default for Kinesis
	Prices:    ListPrices(false),
}
