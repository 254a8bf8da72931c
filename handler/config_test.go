package handler

import (
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
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"PREDICTIONS_STREAM_NAME", "DEAD_LETTER_STREAM_NAME", "TEST_RUN", "DEADLINE_MARGIN"} {
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
