package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/drift"
	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/handler"
	"github.com/rideduration/rideduration/internal/compiled"
	"github.com/rideduration/rideduration/internal/testenv"
	"github.com/rideduration/rideduration/tlc"
)

// The metrics AWS publishes for the resources the alarms and the dashboard read, with their
// dimensions (Amazon CloudWatch User Guide, "AWS services that publish CloudWatch metrics":
// Lambda's function metrics, Kinesis Data Streams' stream-level metrics, SQS's queue metrics).
var awsMetrics = map[string]struct {
	names     []string
	dimension string // the one dimension the template uses
	resource  string // the resource type it names
}{
	"AWS/Lambda":  {[]string{"Invocations", "Errors", "Throttles", "Duration", "IteratorAge", "ConcurrentExecutions"}, "FunctionName", "AWS::Serverless::Function"},
	"AWS/Kinesis": {[]string{"IncomingRecords", "IncomingBytes", "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "GetRecords.IteratorAgeMilliseconds"}, "StreamName", "AWS::Kinesis::Stream"},
	"AWS/SQS":     {[]string{"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage", "NumberOfMessagesSent"}, "QueueName", "AWS::SQS::Queue"},
}

// emfProduced runs the function's handler, as main configures it, on the original's event
// and returns what its EMF documents name: per namespace, each metric's dimension names.
func emfProduced(t *testing.T) (namespace string, metrics map[string][]string) {
	t.Helper()
	t.Setenv("RUN_ID", "Test123")
	t.Setenv("TEST_RUN", "True")
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "ride-duration")
	cfg, err := handler.ConfigFromEnv()
	require.NoError(t, err)
	var out bytes.Buffer
	cfg.Metrics = &out
	cfg.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := handler.New(cfg, compiled.Model(), nil)
	b, err := os.ReadFile(fixture)
	require.NoError(t, err)
	var ev events.KinesisEvent
	require.NoError(t, json.Unmarshal(b, &ev))
	_, err = h.Handle(context.Background(), ev)
	require.NoError(t, err)

	metrics = map[string][]string{}
	// Each document is checked against the specification's rules on the way.
	for _, doc := range testenv.EMFLines(t, out.String()) {
		for _, d := range doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any) {
			d := d.(map[string]any)
			namespace = d["Namespace"].(string)
			sets := d["Dimensions"].([]any)
			require.Len(t, sets, 1)
			var dims []string
			for _, k := range sets[0].([]any) {
				dims = append(dims, k.(string))
			}
			for _, m := range d["Metrics"].([]any) {
				metrics[m.(map[string]any)["Name"].(string)] = dims
			}
		}
	}
	require.Contains(t, metrics, "BatchItemFailures", "the function's EMF:\n%s", out.String())
	return namespace, metrics
}

// A metricRead is one metric an alarm or a dashboard widget reads: where it is read, the
// namespace (a name, or !Ref MetricsNamespace), the metric and its dimensions' values (a name,
// !Ref X or !GetAtt X.QueueName).
type metricRead struct {
	where  string
	ns     any
	metric string
	dims   map[string]any
}

// theFunction is how the template names whichever function variant it deploys.
var theFunction = map[string]any{"Fn::If": []any{"IsImage", map[string]any{"Ref": "ImageFunction"}, map[string]any{"Ref": "ZipFunction"}}}

// alarmReads lists the metric each alarm of the template reads.
func alarmReads(tpl template) []metricRead {
	var reads []metricRead
	for _, id := range tpl.ofType("AWS::CloudWatch::Alarm") {
		p := props(tpl.Resources[id])
		dims := map[string]any{}
		for _, d := range asList(p["Dimensions"]) {
			dims[get(d, "Name").(string)] = get(d, "Value")
		}
		reads = append(reads, metricRead{id, p["Namespace"], p["MetricName"].(string), dims})
	}
	return reads
}

// dashboardReads lists the metrics the dashboard's widgets read: its body's !Sub done with the
// parameters' defaults and the zip function, a metric in the function's EMF namespace written
// as !Ref MetricsNamespace.
func dashboardReads(t *testing.T, tpl template, namespace string) []metricRead {
	t.Helper()
	sub := asList(get(props(tpl.Resources[tpl.theOne(t, "AWS::CloudWatch::Dashboard")]), "DashboardBody", "Fn::Sub"))
	require.Len(t, sub, 2)
	require.Equal(t, canon(theFunction), canon(get(sub[1], "Fn")))
	body := regexp.MustCompile(`\$\{([A-Za-z0-9:]+)\}`).ReplaceAllStringFunc(sub[0].(string), func(m string) string {
		name := m[2 : len(m)-1]
		switch {
		case name == "Fn":
			return "fn:ZipFunction"
		case name == "AWS::Region":
			return "us-east-1"
		case tpl.Resources[name] != nil:
			return "ref:" + name
		case tpl.Parameters[name] != nil:
			switch d := tpl.Parameters[name]["Default"].(type) {
			case float64:
				return strconv.FormatFloat(d, 'f', -1, 64)
			case string:
				return d
			}
			return "1" // a Number the deployment passes (TrainingP50Seconds)
		}
		t.Errorf("dashboard: ${%s} is neither a parameter nor a resource", name)
		return m
	})
	var dash struct {
		Widgets []struct {
			Properties struct {
				Title   string
				Metrics [][]any
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(body), &dash), "the dashboard's body is JSON:\n%s", body)
	require.Len(t, dash.Widgets, 6)
	var reads []metricRead
	for _, w := range dash.Widgets {
		require.NotEmpty(t, w.Properties.Metrics, w.Properties.Title)
		for _, m := range w.Properties.Metrics {
			var parts []string // namespace, metric, then dimension name and value pairs; the options object is left out
			for _, x := range m {
				if s, ok := x.(string); ok {
					parts = append(parts, s)
				}
			}
			require.True(t, len(parts) >= 2 && len(parts)%2 == 0, "%s: %v", w.Properties.Title, m)
			dims := map[string]any{}
			for i := 2; i+1 < len(parts); i += 2 {
				switch v := parts[i+1]; {
				case v == "fn:ZipFunction":
					dims[parts[i]] = theFunction
				case strings.HasPrefix(v, "ref:"):
					dims[parts[i]] = map[string]any{"Ref": strings.TrimPrefix(v, "ref:")}
				default:
					dims[parts[i]] = v
				}
			}
			var ns any = parts[0]
			if parts[0] == namespace {
				ns = map[string]any{"Ref": "MetricsNamespace"}
			}
			reads = append(reads, metricRead{w.Properties.Title, ns, parts[1], dims})
		}
	}
	return reads
}

// checkMetricRead: r reads a metric that exists: one the function writes in EMF, with the
// dimensions it writes, or one AWS publishes for a resource of the template, by that
// resource's name.
func checkMetricRead(t *testing.T, tpl template, emf map[string][]string, r metricRead) {
	t.Helper()
	if refTo(r.ns) == "MetricsNamespace" {
		want, ok := emf[r.metric]
		if !assert.True(t, ok, "%s: the function writes no EMF metric %s (it writes %v)", r.where, r.metric, slices.Sorted(maps.Keys(emf))) {
			return
		}
		assert.ElementsMatch(t, want, slices.Collect(maps.Keys(r.dims)), "%s: %s's dimensions", r.where, r.metric)
		assert.Equal(t, canon(theFunction), canon(r.dims["FunctionName"]), "%s: FunctionName", r.where)
		assert.Equal(t, "InputStream", refTo(r.dims["StreamName"]), "%s: StreamName is the input stream's", r.where)
		return
	}
	known, ok := awsMetrics[r.ns.(string)]
	if !assert.True(t, ok, "%s: namespace %v", r.where, r.ns) {
		return
	}
	assert.Contains(t, known.names, r.metric, "%s: %s publishes no %s", r.where, r.ns, r.metric)
	require.Len(t, r.dims, 1, "%s: dimensions", r.where)
	v := r.dims[known.dimension]
	if known.dimension == "FunctionName" {
		assert.Equal(t, canon(theFunction), canon(v), "%s: FunctionName", r.where)
		return
	}
	id := refTo(v)
	if arn := get(v, "Fn::GetAtt"); arn != nil {
		id = asList(arn)[0].(string)
	}
	assert.Equal(t, known.resource, tpl.Resources[id]["Type"], "%s: %s %v names no %s of the template", r.where, known.dimension, canon(v), known.resource)
}

// The function writes its EMF metrics in the namespace the alarms and the dashboard read.
func TestMetricsNamespaceIsTheFunctions(t *testing.T) {
	tpl := loadTemplate(t)
	namespace, _ := emfProduced(t)
	require.NotNil(t, tpl.Parameters["MetricsNamespace"], "template parameter MetricsNamespace")
	assert.Equal(t, namespace, tpl.Parameters["MetricsNamespace"]["Default"], "the EMF namespace by default")
	env := get(tpl.Globals, "Function", "Environment", "Variables", "POWERTOOLS_METRICS_NAMESPACE")
	assert.Equal(t, "MetricsNamespace", refTo(env), "the function's POWERTOOLS_METRICS_NAMESPACE")
}

// Every alarm reads a metric that exists (checkMetricRead), against a threshold that is a
// parameter with a default, and notifies the topic when there is one.
func TestAlarmsReadRealMetrics(t *testing.T) {
	tpl := loadTemplate(t)
	_, emf := emfProduced(t)
	reads := alarmReads(tpl)
	assert.Len(t, reads, 7)
	for _, r := range reads {
		checkMetricRead(t, tpl, emf, r)
		p := props(tpl.Resources[r.where])
		if param := tpl.Parameters[refTo(p["Threshold"])]; assert.NotNil(t, param, "%s: Threshold is a parameter", r.where) {
			assert.Contains(t, param, "Default", "%s: its threshold's default", r.where)
		}
		assert.Equal(t, `{"Fn::If":["HasAlarmEmail",[{"Ref":"AlarmTopic"}],{"Ref":"AWS::NoValue"}]}`, canon(p["AlarmActions"]), "%s: AlarmActions", r.where)
	}
}

// Every dashboard widget reads metrics that exist (checkMetricRead).
func TestDashboardReadsRealMetrics(t *testing.T) {
	tpl := loadTemplate(t)
	namespace, emf := emfProduced(t)
	for _, r := range dashboardReads(t, tpl, namespace) {
		checkMetricRead(t, tpl, emf, r)
	}
}

// The dashboard's reference lines are the median and 90th percentile of the compiled model's
// predictions over its training month's rides, in seconds as the function writes them: what
// the deployment passes the template.
func TestTrainingPercentilesAreTheModels(t *testing.T) {
	var trips tlc.Trips
	require.NoError(t, tlc.ReadFile(filepath.Join("..", "testdata", "green_tripdata_2022-01.parquet"), &trips))
	m := compiled.Model()
	var secs []float64
	for i := 0; i < trips.Len(); i++ {
		d, err := trips.Duration(i)
		if err != nil || !feature.Keep(d) {
			continue
		}
		if f, err := trips.Features(i); err == nil {
			secs = append(secs, m.Predict(f)*60)
		}
	}
	sort.Float64s(secs)
	out := deployDryRun(t, "deploy-built", "AWS_REGION=us-east-1")
	for _, c := range []struct {
		param string
		q     float64
	}{{"TrainingP50Seconds", 0.5}, {"TrainingP90Seconds", 0.9}} {
		want := c.param + "=" + strconv.Itoa(int(math.Round(drift.Quantile(secs, c.q))))
		assert.Contains(t, out, want, "make deploy-built passes the quantile of %d rides' predictions", len(secs))
		assert.NotContains(t, loadTemplate(t).Parameters[c.param], "Default", "%s: the model's, passed by the deployment", c.param)
	}
}
