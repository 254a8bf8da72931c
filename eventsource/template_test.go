package eventsource

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestTemplate keeps Template equal to what lambda/template.yaml
// configures, so that the local mapping's defaults cannot drift from the
// deployed trigger's.
func TestTemplate(t *testing.T) {
	src, err := os.ReadFile("../lambda/template.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(src, &doc))
	root := doc.Content[0]
	props := lookup(t, root, "Resources", "RideEventsMapping", "Properties")
	// value resolves a property, following !Ref to a parameter's default.
	value := func(n *yaml.Node) *yaml.Node {
		if n.Tag == "!Ref" {
			return lookup(t, root, "Parameters", n.Value, "Default")
		}
		return n
	}
	number := func(path ...string) int {
		n, err := strconv.Atoi(value(lookup(t, props, path...)).Value)
		require.NoError(t, err, "%v", path)
		return n
	}
	responseTypes := lookup(t, props, "FunctionResponseTypes")
	var types []string
	for _, n := range responseTypes.Content {
		types = append(types, n.Value)
	}
	timeout, err := strconv.Atoi(lookup(t, root, "Globals", "Function", "Timeout").Value)
	require.NoError(t, err)

	got := Config{
		BatchSize:                  int32(number("BatchSize")),
		ReportBatchItemFailures:    len(types) == 1 && types[0] == "ReportBatchItemFailures",
		BisectBatchOnFunctionError: value(lookup(t, props, "BisectBatchOnFunctionError")).Value == "true",
		MaximumRetryAttempts:       number("MaximumRetryAttempts"),
		MaximumRecordAge:           time.Duration(number("MaximumRecordAgeInSeconds")) * time.Second,
		FunctionTimeout:            time.Duration(timeout) * time.Second,
	}
	assert.Equal(t, Template, got)
	require.NoError(t, Template.Validate())

	// What the local mapping does not do differently from the template:
	// one batch per shard at a time, the destination an SQS queue.
	assert.Equal(t, 1, number("ParallelizationFactor"), "the local mapping runs one batch per shard at a time")
	assert.Equal(t, "OnFailureQueue", lookup(t, props, "DestinationConfig", "OnFailure", "Destination").Value[:len("OnFailureQueue")])
	assert.Equal(t, "AWS::SQS::Queue", lookup(t, root, "Resources", "OnFailureQueue", "Type").Value)
}

// lookup follows keys down YAML mappings.
func lookup(t *testing.T, n *yaml.Node, keys ...string) *yaml.Node {
	t.Helper()
	for _, k := range keys {
		var next *yaml.Node
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		require.NotNil(t, next, "template has no %q in %v", k, keys)
		n = next
	}
	return n
}
