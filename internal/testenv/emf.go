package testenv

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
)

// EMF rules: the Amazon CloudWatch User Guide's "Specification: Embedded
// metric format" and the limits of CloudWatch's PutMetricData (MetricDatum,
// Dimension), which the metrics extracted from a document must meet.
const (
	emfMaxBytes      = 256 << 10 // a CloudWatch Logs event
	emfMaxMetrics    = 100       // MetricDefinitions in a directive
	emfMaxDimensions = 30        // keys in a DimensionSet
	emfMaxValues     = 100       // members of a metric's array (or of Values and Counts)
	emfMaxName       = 255       // a metric name, a dimension key, a namespace
	emfMaxDimValue   = 1024      // a dimension value
)

// emfUnits are the units CloudWatch takes (MetricDatum.Unit; the EMF JSON
// schema's MetricUnit pattern).
var emfUnits = []string{
	"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
	"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
	"Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}

// EMFLines returns the EMF documents among the lines of a log (the lines
// with an "_aws" member), each checked with CheckEMF.
func EMFLines(t testing.TB, log string) []map[string]any {
	t.Helper()
	var docs []map[string]any
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"_aws"`) {
			docs = append(docs, CheckEMF(t, line))
		}
	}
	return docs
}

// CheckEMF checks that line is an EMF document CloudWatch can extract
// every metric of, and returns it decoded (numbers as json.Number):
//
//   - one JSON object, nothing before or after it, at most 256 KB;
//   - "_aws" holds an integer Timestamp (ms) and CloudWatchMetrics, an
//     array of directives, and nothing else; a directive holds Namespace,
//     Dimensions and Metrics, and nothing else;
//   - names (namespace, metric names, dimension keys) have 1 to 255
//     characters; a directive has at most 100 metrics, a dimension set at
//     most 30 keys; a metric's Unit is one of CloudWatch's units;
//   - each dimension key is a member of the root with a string value of 1
//     to 1024 characters;
//   - each metric named in Metrics is a member of the root whose value is a
//     number, an array of at most 100 numbers, or a values-and-counts
//     object: Values and Counts, arrays of numbers of the same length, at
//     most 100, and optionally the statistic set Max, Min, Count (then the
//     sum of Counts) and Sum, numbers. The specification's text names the
//     first two forms; the third is the one AWS's OpenTelemetry EMF
//     exporter (awsemfexporter) writes for a distribution.
func CheckEMF(t testing.TB, line string) map[string]any {
	t.Helper()
	doc, err := checkEMF(line)
	if err != nil {
		t.Fatalf("not a valid EMF document: %v\n%s", err, line)
	}
	return doc
}

func checkEMF(line string) (map[string]any, error) {
	if len(line) > emfMaxBytes {
		return nil, fmt.Errorf("%d bytes, more than a log event's %d", len(line), emfMaxBytes)
	}
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if err := dec.Decode(new(any)); err != io.EOF {
		return nil, fmt.Errorf("data after the object (%v)", err)
	}
	aws, ok := doc["_aws"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("_aws: want an object")
	}
	if err := only(aws, "_aws", "Timestamp", "CloudWatchMetrics"); err != nil {
		return nil, err
	}
	if ts, ok := aws["Timestamp"].(json.Number); !ok || !integer(ts) {
		return nil, fmt.Errorf("_aws.Timestamp %v: want an integer (ms since the epoch)", aws["Timestamp"])
	}
	directives, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(directives) == 0 {
		return nil, fmt.Errorf("_aws.CloudWatchMetrics: want an array of directives")
	}
	for i, d := range directives {
		if err := checkDirective(doc, d); err != nil {
			return nil, fmt.Errorf("_aws.CloudWatchMetrics[%d]: %w", i, err)
		}
	}
	return doc, nil
}

func checkDirective(doc map[string]any, d any) error {
	dir, ok := d.(map[string]any)
	if !ok {
		return fmt.Errorf("want an object")
	}
	if err := only(dir, "directive", "Namespace", "Dimensions", "Metrics"); err != nil {
		return err
	}
	if err := name("Namespace", dir["Namespace"]); err != nil {
		return err
	}
	sets, ok := dir["Dimensions"].([]any)
	if !ok || len(sets) == 0 {
		return fmt.Errorf("member Dimensions: want an array of dimension sets")
	}
	for _, s := range sets {
		keys, ok := s.([]any)
		if !ok || len(keys) > emfMaxDimensions {
			return fmt.Errorf("dimension set %v: want an array of at most %d keys", s, emfMaxDimensions)
		}
		for _, k := range keys {
			if err := name("dimension key", k); err != nil {
				return err
			}
			v, ok := doc[k.(string)].(string)
			if !ok || v == "" || len(v) > emfMaxDimValue {
				return fmt.Errorf("dimension %s: want a root member with a string of 1 to %d characters, got %#v", k, emfMaxDimValue, doc[k.(string)])
			}
		}
	}
	metrics, ok := dir["Metrics"].([]any)
	if !ok || len(metrics) > emfMaxMetrics {
		return fmt.Errorf("member Metrics: want an array of at most %d metric definitions", emfMaxMetrics)
	}
	for _, m := range metrics {
		def, ok := m.(map[string]any)
		if !ok {
			return fmt.Errorf("metric definition %v: want an object", m)
		}
		if err := only(def, "metric definition", "Name", "Unit", "StorageResolution"); err != nil {
			return err
		}
		if err := name("metric name", def["Name"]); err != nil {
			return err
		}
		if u, ok := def["Unit"]; ok && !slices.Contains(emfUnits, fmt.Sprint(u)) {
			return fmt.Errorf("metric %s: unit %v is not one of CloudWatch's", def["Name"], u)
		}
		if r, ok := def["StorageResolution"]; ok && r != json.Number("1") && r != json.Number("60") {
			return fmt.Errorf("metric %s: StorageResolution %v: want 1 or 60", def["Name"], r)
		}
		if err := metricValue(doc[def["Name"].(string)]); err != nil {
			return fmt.Errorf("metric %s: %w", def["Name"], err)
		}
	}
	return nil
}

// metricValue checks a metric's root member.
func metricValue(v any) error {
	switch v := v.(type) {
	case json.Number:
		return finite(v)
	case []any:
		if len(v) == 0 || len(v) > emfMaxValues {
			return fmt.Errorf("%d values: want 1 to %d", len(v), emfMaxValues)
		}
		for _, x := range v {
			if n, ok := x.(json.Number); !ok || finite(n) != nil {
				return fmt.Errorf("value %v: want a number", x)
			}
		}
		return nil
	case map[string]any:
		if err := only(v, "values-and-counts", "Values", "Counts", "Max", "Min", "Count", "Sum"); err != nil {
			return err
		}
		values, vok := v["Values"].([]any)
		counts, cok := v["Counts"].([]any)
		if !vok || !cok || len(values) != len(counts) || len(values) == 0 || len(values) > emfMaxValues {
			return fmt.Errorf("members Values and Counts: want arrays of the same length, 1 to %d", emfMaxValues)
		}
		total := 0.0
		for i := range values {
			n, ok := values[i].(json.Number)
			c, cok := counts[i].(json.Number)
			if !ok || !cok || finite(n) != nil || finite(c) != nil {
				return fmt.Errorf("members Values[%d] and Counts[%d]: want numbers", i, i)
			}
			f, _ := c.Float64()
			total += f
		}
		for _, k := range []string{"Max", "Min", "Count", "Sum"} {
			if x, ok := v[k]; ok {
				if n, ok := x.(json.Number); !ok || finite(n) != nil {
					return fmt.Errorf("%s %v: want a number", k, x)
				}
			}
		}
		if c, ok := v["Count"].(json.Number); ok {
			if f, _ := c.Float64(); f != total {
				return fmt.Errorf("member Count %v: the Counts add up to %v", c, total)
			}
		}
		return nil
	}
	return fmt.Errorf("value %#v: want a number, an array of numbers or Values and Counts (a root member)", v)
}

func name(what string, v any) error {
	s, ok := v.(string)
	if !ok || s == "" || len(s) > emfMaxName {
		return fmt.Errorf("%s %#v: want a string of 1 to %d characters", what, v, emfMaxName)
	}
	return nil
}

// only checks that an object the specification defines has no other members.
func only(obj map[string]any, what string, members ...string) error {
	for k := range obj {
		if !slices.Contains(members, k) {
			return fmt.Errorf("%s: member %q is not in the specification", what, k)
		}
	}
	return nil
}

func integer(n json.Number) bool {
	_, err := n.Int64()
	return err == nil
}

func finite(n json.Number) error {
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Errorf("%v: not a finite number", n)
	}
	return nil
}
