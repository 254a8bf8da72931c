package lambda

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rideduration/rideduration/generated"
)

// DefaultPredictionsStream is the stream written when PREDICTIONS_STREAM_NAME is unset.
const DefaultPredictionsStream = "ride_predictions"

// Config is the function's configuration. ConfigFromEnv fills the first four
// fields; the rest have working defaults and exist so that tests and the
// local event-source mapping can tune them.
type Config struct {
	PredictionsStream string // PREDICTIONS_STREAM_NAME
	DeadLetterStream  string // DEAD_LETTER_STREAM_NAME; "" means bad records are only logged
	Version           string // RUN_ID, else generated.Version
	TestRun           bool   // TEST_RUN=True: predict and encode, write nothing

	// Attempts bounds the PutRecords calls made for one entry when the call
	// succeeds but fails that entry (throttling, InternalFailure). 0 means 4.
	Attempts int
	// MaxBackoff caps the jittered wait between those calls. 0 means 1s.
	MaxBackoff time.Duration
	// Logger receives the JSON log lines. nil means JSON on stdout.
	Logger *slog.Logger
}

// Kinesis stream names: 1 to 128 of these characters.
var streamName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,128}$`)

// ConfigFromEnv reads the configuration from the environment, once, at init.
// Empty variables count as unset. Anything it cannot use is an error that
// names the variable: the function must not start half-configured (a
// TEST_RUN=true that silently wrote to production would be the worst case).
func ConfigFromEnv() (Config, error) {
	cfg := Config{
		PredictionsStream: os.Getenv("PREDICTIONS_STREAM_NAME"),
		DeadLetterStream:  os.Getenv("DEAD_LETTER_STREAM_NAME"),
		Version:           os.Getenv("RUN_ID"),
	}
	if cfg.PredictionsStream == "" {
		cfg.PredictionsStream = DefaultPredictionsStream
	}
	if cfg.Version == "" {
		cfg.Version = generated.Version
	}
	switch v := os.Getenv("TEST_RUN"); v {
	case "True":
		cfg.TestRun = true
	case "", "False":
	default:
		// The original tested == 'True'; "true" or "1" would have meant a
		// real run there, which is surely not what was asked for.
		return Config{}, fmt.Errorf("TEST_RUN=%q: want True or False (or unset)", v)
	}
	return cfg, cfg.Validate()
}

// Validate checks the stream names.
func (c Config) Validate() error {
	if !streamName.MatchString(c.PredictionsStream) {
		return fmt.Errorf("PREDICTIONS_STREAM_NAME=%q: not a Kinesis stream name (1-128 of a-z A-Z 0-9 _ . -)", c.PredictionsStream)
	}
	if c.DeadLetterStream != "" && !streamName.MatchString(c.DeadLetterStream) {
		return fmt.Errorf("DEAD_LETTER_STREAM_NAME=%q: not a Kinesis stream name (1-128 of a-z A-Z 0-9 _ . -)", c.DeadLetterStream)
	}
	if c.DeadLetterStream == c.PredictionsStream {
		return fmt.Errorf("DEAD_LETTER_STREAM_NAME=%q: must differ from PREDICTIONS_STREAM_NAME", c.DeadLetterStream)
	}
	if c.Version == "" {
		return fmt.Errorf("RUN_ID: empty version")
	}
	return nil
}

// NewKinesisClient returns a Kinesis client configured the standard way
// (region, credentials and endpoint from the environment: AWS_ENDPOINT_URL_KINESIS
// or AWS_ENDPOINT_URL point it at a local Kinesis with no code change).
// Transport errors and throttled calls are retried by the SDK's standard
// retryer: bounded attempts, exponential backoff with jitter.
func NewKinesisClient(ctx context.Context) (*kinesis.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.MaxBackoff = 2 * time.Second
		})
	}))
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return kinesis.NewFromConfig(cfg), nil
}
