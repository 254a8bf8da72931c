package testenv

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// CheckEMF takes the specification's own example and refuses documents
// that break its rules.
func TestCheckEMF(t *testing.T) {
	const example = `{"_aws":{"Timestamp":1574109732004,"CloudWatchMetrics":[{"Namespace":"lambda-function-metrics",` +
		`"Dimensions":[["functionVersion"]],"Metrics":[{"Name":"time","Unit":"Milliseconds"}]}]},` +
		`"functionVersion":"$LATEST","time":100,"requestId":"989ffbf8-9ace-4817-a57c-e4dd734019ee"}`
	_, err := checkEMF(example)
	assert.NoError(t, err)
	distribution := strings.Replace(example, `"time":100`, `"time":{"Values":[1,2],"Counts":[3,1],"Max":2,"Min":1,"Count":4,"Sum":5}`, 1)
	_, err = checkEMF(distribution)
	assert.NoError(t, err)

	many := `[` + strings.TrimSuffix(strings.Repeat("1,", 101), ",") + `]`
	for name, bad := range map[string]string{
		"not JSON":               example[:40],
		"data after":             example + ` x`,
		"no timestamp":           strings.Replace(example, `"Timestamp":1574109732004,`, ``, 1),
		"timestamp in seconds":   strings.Replace(example, `1574109732004`, `1574109732.004`, 1),
		"unknown unit":           strings.Replace(example, `"Milliseconds"`, `"Minutes"`, 1),
		"no value":               strings.Replace(example, `"time":100,`, ``, 1),
		"a string value":         strings.Replace(example, `"time":100`, `"time":"100"`, 1),
		"101 values":             strings.Replace(example, `"time":100`, `"time":`+many, 1),
		"a dimension not string": strings.Replace(example, `"$LATEST"`, `1`, 1),
		"a dimension missing":    strings.Replace(example, `"functionVersion":"$LATEST",`, ``, 1),
		"an empty metric name":   strings.Replace(example, `"Name":"time"`, `"Name":""`, 1),
		"an extra member":        strings.Replace(example, `"Namespace"`, `"Extra":1,"Namespace"`, 1),
		"counts unlike values":   strings.Replace(distribution, `"Counts":[3,1]`, `"Counts":[3]`, 1),
		"count unlike counts":    strings.Replace(distribution, `"Count":4`, `"Count":5`, 1),
	} {
		_, err := checkEMF(bad)
		assert.Error(t, err, name)
	}
}
