package handler

import (
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rideduration/rideduration/wire"
)

// The handler's metrics are written in CloudWatch's embedded metric format
// (EMF; Amazon CloudWatch User Guide, "Specification: Embedded metric
// format"): a JSON object on a line of the function's log, whose "_aws"
// member names the metrics among its other members (Namespace, Dimensions,
// Metrics with their units) and dates them (Timestamp, ms since the epoch).
// CloudWatch Logs turns such a line into metrics; no API call is made.
//
// Each invocation writes one document: the figures of Figures, and the
// predicted durations as a distribution (PredictedDuration, in seconds), all
// with the dimensions FunctionName and StreamName. The first invocation of
// a process (a cold start) also writes a document of its own with the one
// metric ColdStart = 1 and the dimensions function_name and service, as
// Powertools for AWS Lambda does.

// DefaultNamespace is the metrics' CloudWatch namespace when
// POWERTOOLS_METRICS_NAMESPACE is unset.
const DefaultNamespace = "RideDuration"

// DefaultService is the service dimension of the ColdStart metric when
// POWERTOOLS_SERVICE_NAME is unset.
const DefaultService = "ride-duration"

// unknown stands for a dimension value that is missing: CloudWatch wants
// at least one character.
const unknown = "unknown"

// Figures is what one invocation did: its metrics' values, all counts.
type Figures struct {
	Records           int // RecordsIn: the Kinesis records of the event
	KPLUserRecords    int // KPLUserRecords: the user records of its KPL aggregates
	Predicted         int // RidesPredicted: rides predicted (a prediction event each)
	Bad               int // BadRecords: records (or user records) that are no ride event
	DeadLettered      int // DeadLettersWritten: bad records written to the dead-letter stream
	WriteFailures     int // WritesFailed: prediction events and dead letters left unwritten
	BatchItemFailures int // BatchItemFailures: records reported for Lambda to deliver again
	Calls             int // PutRecordsCalls: PutRecords calls, to both streams
	Resent            int // EntriesResent: entries sent again after a call failed them
}

// counters names the count metrics, in the order of Figures.counts.
var counters = [...]string{
	"RecordsIn", "KPLUserRecords", "RidesPredicted", "BadRecords", "DeadLettersWritten",
	"WritesFailed", "BatchItemFailures", "PutRecordsCalls", "EntriesResent",
}

func (f *Figures) counts() [len(counters)]int {
	return [...]int{f.Records, f.KPLUserRecords, f.Predicted, f.Bad, f.DeadLettered,
		f.WriteFailures, f.BatchItemFailures, f.Calls, f.Resent}
}

// MaxValues bounds the distinct values of PredictedDuration in a document:
// CloudWatch takes at most 100 values for a metric in one document (a
// metric's array "MUST NOT have more than 100 members").
const MaxValues = 100

// emf writes the documents. Their constant parts are encoded once.
type emf struct {
	w io.Writer
	// directives is what follows an invocation document's timestamp up to
	// its StreamName value: [0] without PredictedDuration (no ride
	// predicted), [1] with it.
	directives [2]string
	coldStart  string // the ColdStart document after its timestamp
}

func newEMF(cfg Config) *emf {
	ns := cfg.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	fn, svc := cfg.FunctionName, cfg.Service
	if fn == "" {
		fn = unknown
	}
	if svc == "" {
		svc = DefaultService
	}
	var metrics []string
	for _, name := range counters {
		metrics = append(metrics, `{"Name":"`+name+`","Unit":"Count"}`)
	}
	directive := func(metrics []string) string {
		return string(wire.AppendString([]byte(`,"CloudWatchMetrics":[{"Namespace":`), ns)) +
			`,"Dimensions":[["FunctionName","StreamName"]],"Metrics":[` + strings.Join(metrics, ",") + `]}]},"FunctionName":` +
			string(wire.AppendString(nil, fn)) + `,"StreamName":`
	}
	return &emf{
		w: cfg.Metrics,
		directives: [2]string{
			directive(metrics),
			directive(append(metrics, `{"Name":"PredictedDuration","Unit":"Seconds"}`)),
		},
		coldStart: string(wire.AppendString([]byte(`,"CloudWatchMetrics":[{"Namespace":`), ns)) +
			`,"Dimensions":[["function_name","service"]],"Metrics":[{"Name":"ColdStart","Unit":"Count"}]}]},"function_name":` +
			string(wire.AppendString(nil, fn)) + `,"service":` + string(wire.AppendString(nil, svc)) + `,"ColdStart":1}` + "\n",
	}
}

func appendTimestamp(b []byte, now time.Time) []byte {
	return strconv.AppendInt(append(b, `{"_aws":{"Timestamp":`...), now.UnixMilli(), 10)
}

// appendColdStart appends the ColdStart document, a line.
func (e *emf) appendColdStart(b []byte, now time.Time) []byte {
	return append(appendTimestamp(b, now), e.coldStart...)
}

// appendInvocation appends an invocation's document, a line. secs are the
// predicted durations in seconds, sorted. testRun and requestID are
// properties, not metrics: for CloudWatch Logs Insights.
func (e *emf) appendInvocation(b []byte, now time.Time, stream string, f *Figures, secs []float64, testRun bool, requestID string) []byte {
	b = appendTimestamp(b, now)
	if len(secs) == 0 {
		b = append(b, e.directives[0]...)
	} else {
		b = append(b, e.directives[1]...)
	}
	b = wire.AppendString(b, stream)
	for i, v := range f.counts() {
		b = append(append(append(b, `,"`...), counters[i]...), `":`...)
		b = strconv.AppendInt(b, int64(v), 10)
	}
	if len(secs) > 0 {
		b = appendDistribution(append(b, `,"PredictedDuration":`...), secs)
	}
	b = strconv.AppendBool(append(b, `,"test_run":`...), testRun)
	if requestID != "" {
		b = wire.AppendString(append(b, `,"request_id":`...), requestID)
	}
	return append(b, "}\n"...)
}

// appendDistribution appends the sorted values secs as a values-and-counts
// object: Values (distinct values) and Counts (how many of each), from
// which CloudWatch computes percentiles, as PutMetricData's MetricDatum
// takes them, and the statistic set Max, Min, Count and Sum, exact to the
// millisecond. The specification's text names a number or an array of
// numbers as a metric's value; this object is the form AWS's own EMF
// writer for distributions (the OpenTelemetry Collector's awsemfexporter)
// uses, and the only one that keeps a batch of more than 100 rides within
// an array's 100 members.
//
// Values are multiples of a resolution, each the multiple nearest to the
// predictions it counts (see resolution): 1 s, which holds a batch of up to
// MaxValues rides (the template's batch size is 100) exact to ±0.5 s.
func appendDistribution(b []byte, secs []float64) []byte {
	res := resolution(secs)
	var values [MaxValues]int64
	var counts [MaxValues]int
	n := 0
	for i := 0; i < len(secs); n++ {
		k := math.Round(secs[i] / res)
		j := i + 1
		for j < len(secs) && math.Round(secs[j]/res) == k {
			j++
		}
		values[n], counts[n], i = int64(k*res), j-i, j
	}
	b = append(b, `{"Values":[`...)
	for i, v := range values[:n] {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	b = append(b, `],"Counts":[`...)
	for i, c := range counts[:n] {
		if i > 0 {
			b = append(b, ',')
		}
		if c < 10 {
			b = append(b, byte('0'+c)) // most often 1: a batch's rides seldom share a second
			continue
		}
		b = strconv.AppendInt(b, int64(c), 10)
	}
	sum := 0.0
	for _, s := range secs {
		sum += s
	}
	b = strconv.AppendFloat(append(b, `],"Max":`...), secs[len(secs)-1], 'f', 3, 64)
	b = strconv.AppendFloat(append(b, `,"Min":`...), secs[0], 'f', 3, 64)
	b = strconv.AppendInt(append(b, `,"Count":`...), int64(len(secs)), 10)
	b = strconv.AppendFloat(append(b, `,"Sum":`...), sum, 'f', 3, 64)
	return append(b, '}')
}

// resolution is the whole number of seconds the sorted values secs are
// rounded to in a distribution: 1 when they round to at most MaxValues
// distinct values, or else a resolution r at which they do and at which
// r-1 does not (found by doubling, then bisecting). A value is then off by
// at most r/2: ±0.5 s for a batch of up to MaxValues rides, about ±37 s for
// one of thousands spread over two hours (TestMetricsDistribution).
func resolution(secs []float64) float64 {
	if len(secs) <= MaxValues || distinct(secs, 1) <= MaxValues {
		return 1
	}
	lo, hi := 1.0, 2.0 // too fine, maybe coarse enough
	for distinct(secs, hi) > MaxValues {
		lo, hi = hi, 2*hi
	}
	for hi-lo > 1 {
		mid := math.Floor((lo + hi) / 2)
		if distinct(secs, mid) > MaxValues {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// distinct counts the distinct multiples of res that the sorted values
// round to.
func distinct(secs []float64, res float64) int {
	n := 0
	last := math.NaN()
	for _, s := range secs {
		if k := math.Round(s / res); k != last {
			n, last = n+1, k
		}
	}
	return n
}

// inDistribution tells whether a predicted duration, in seconds, can be
// sent: CloudWatch refuses NaN and infinities, and the values are whole
// seconds in an int64. A model does not predict such durations; were it
// to, the ride would still count in RidesPredicted.
func inDistribution(secs float64) bool {
	return math.Abs(secs) < 1e15 // false for NaN too
}

// streamName is the stream of an eventSourceARN,
// arn:aws:kinesis:REGION:ACCOUNT:stream/NAME (an enhanced fan-out
// consumer's ARN goes on with /consumer/...), or "unknown".
func streamName(arn string) string {
	_, name, _ := strings.Cut(arn, ":stream/")
	name, _, _ = strings.Cut(name, "/")
	if !validStreamName(name) {
		return unknown
	}
	return name
}
