package handler

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigFromEnv(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want Config
		err  string
	}{
		{name: "defaults", want: Config{PredictionsStream: "ride_prediction"}},
		{name: "the original's", env: map[string]string{
			"PREDICTIONS_STREAM_NAME": "ride_prediction", "TEST_RUN": "True"},
			want: Config{PredictionsStream: "ride_prediction", TestRun: true}},
		{name: "dead letters", env: map[string]string{"DEAD_LETTER_STREAM_NAME": "ride_events_dead", "TEST_RUN": "False"},
			want: Config{PredictionsStream: "ride_prediction", DeadLetterStream: "ride_events_dead"}},
		{name: "empty means unset", env: map[string]string{"PREDICTIONS_STREAM_NAME": "", "DEAD_LETTER_STREAM_NAME": "", "TEST_RUN": ""},
			want: Config{PredictionsStream: "ride_prediction"}},
		{name: "TEST_RUN lower case", env: map[string]string{"TEST_RUN": "true"}, err: `TEST_RUN="true": want True or False`},
		{name: "TEST_RUN 1", env: map[string]string{"TEST_RUN": "1"}, err: `TEST_RUN="1"`},
		{name: "bad stream name", env: map[string]string{"PREDICTIONS_STREAM_NAME": "ride prediction"}, err: `PREDICTIONS_STREAM_NAME="ride prediction": not a Kinesis stream name`},
		{name: "bad dead-letter name", env: map[string]string{"DEAD_LETTER_STREAM_NAME": "arn:aws:kinesis:x"}, err: `DEAD_LETTER_STREAM_NAME="arn:aws:kinesis:x": not a Kinesis stream name`},
		{name: "deadline margin", env: map[string]string{"DEADLINE_MARGIN": "2s"},
			want: Config{PredictionsStream: "ride_prediction", DeadlineMargin: 2 * time.Second}},
		{name: "deadline margin without unit", env: map[string]string{"DEADLINE_MARGIN": "500"}, err: `DEADLINE_MARGIN="500": want a positive duration such as 500ms or 2s`},
		{name: "deadline margin zero", env: map[string]string{"DEADLINE_MARGIN": "0s"}, err: `DEADLINE_MARGIN="0s"`},
		{name: "deadline margin negative", env: map[string]string{"DEADLINE_MARGIN": "-1s"}, err: `DEADLINE_MARGIN="-1s"`},
		{name: "dead letters into predictions", env: map[string]string{"DEAD_LETTER_STREAM_NAME": "ride_prediction"}, err: "must differ from PREDICTIONS_STREAM_NAME"},
		{name: "metrics", env: map[string]string{"POWERTOOLS_METRICS_NAMESPACE": "Rides/Prod", "POWERTOOLS_SERVICE_NAME": "rides",
			"AWS_LAMBDA_FUNCTION_NAME": "ride-duration-ZipFunction-1A2B3C"},
			want: Config{PredictionsStream: "ride_prediction", Namespace: "Rides/Prod", Service: "rides", FunctionName: "ride-duration-ZipFunction-1A2B3C"}},
		{name: "an AWS namespace", env: map[string]string{"POWERTOOLS_METRICS_NAMESPACE": "AWS/Lambda"},
			err: `POWERTOOLS_METRICS_NAMESPACE="AWS/Lambda": not a CloudWatch namespace (1-255 printable ASCII characters, not starting with : or AWS/), e.g. RideDuration`},
		{name: "a namespace with a colon first", env: map[string]string{"POWERTOOLS_METRICS_NAMESPACE": ":rides"}, err: `POWERTOOLS_METRICS_NAMESPACE=":rides"`},
		{name: "a namespace not ASCII", env: map[string]string{"POWERTOOLS_METRICS_NAMESPACE": "Durée"}, err: `POWERTOOLS_METRICS_NAMESPACE="Durée"`},
		{name: "a namespace too long", env: map[string]string{"POWERTOOLS_METRICS_NAMESPACE": strings.Repeat("n", 256)}, err: "POWERTOOLS_METRICS_NAMESPACE="},
		{name: "a blank namespace", env: map[string]string{"POWERTOOLS_METRICS_NAMESPACE": "  "}, err: `POWERTOOLS_METRICS_NAMESPACE="  "`},
		{name: "a service with a tab", env: map[string]string{"POWERTOOLS_SERVICE_NAME": "ride\tduration"},
			err: `POWERTOOLS_SERVICE_NAME="ride\tduration": not a CloudWatch dimension value (1-1024 printable ASCII characters), e.g. ride-duration`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"PREDICTIONS_STREAM_NAME", "DEAD_LETTER_STREAM_NAME", "TEST_RUN", "DEADLINE_MARGIN",
				"POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_SERVICE_NAME", "AWS_LAMBDA_FUNCTION_NAME"} {
				t.Setenv(k, tc.env[k])
			}
			got, err := ConfigFromEnv()
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
