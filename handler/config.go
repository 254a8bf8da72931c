package handler

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// DefaultPredictionsStream is the stream written when PREDICTIONS_STREAM_NAME
// is unset: the original's default, the stream its walkthrough creates.
const DefaultPredictionsStream = "ride_prediction"

// Config is the function's configuration. ConfigFromEnv fills the fields
// named after a variable; the rest have working defaults and exist so that
// lambda, tests and the local event-source mapping can set them. The
// version the events carry (RUN_ID) is the model's: see model.Model.
type Config struct {
	PredictionsStream string // PREDICTIONS_STREAM_NAME
	DeadLetterStream  string // DEAD_LETTER_STREAM_NAME; "" means bad records are only logged
	TestRun           bool   // TEST_RUN=True: predict and encode, write nothing
	// DeadlineMargin (DEADLINE_MARGIN): the handler resends the entries
	// PutRecords failed until this long before the invocation's deadline,
	// then reports what is left in batchItemFailures. 0 means
	// putrecords.DefaultMargin (500ms); see putrecords.Writer.Margin.
	DeadlineMargin time.Duration

	// Attempts bounds the PutRecords calls made for one entry. 0 means no
	// bound: the invocation's time is the bound.
	Attempts int
	// MaxBackoff caps the jittered wait between resends. 0 means 1s.
	MaxBackoff time.Duration
	// Logger receives the JSON log lines. nil means JSON on stdout.
	Logger *slog.Logger

	// Metrics receives the metrics, a line per document in CloudWatch's
	// embedded metric format (see metrics.go): the function's log, stdout.
	// nil means none.
	Metrics io.Writer
	// Namespace (POWERTOOLS_METRICS_NAMESPACE) is the metrics' CloudWatch
	// namespace; "" means DefaultNamespace.
	Namespace string
	// Service (POWERTOOLS_SERVICE_NAME) is the service dimension of the
	// ColdStart metric; "" means DefaultService.
	Service string
	// FunctionName (AWS_LAMBDA_FUNCTION_NAME, which Lambda sets) is the
	// function dimension of the metrics; "" means "unknown".
	FunctionName string
	// OnBatch, when set, is given each invocation's figures, the values of
	// its metrics, before Handle returns.
	OnBatch func(Figures)
}

// validStreamName reports whether s can name a Kinesis stream: 1 to 128 of
// a-z A-Z 0-9 _ . - (a loop, not a regexp compiled at init: start-up counts).
func validStreamName(s string) bool {
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// ConfigFromEnv reads the configuration from the environment, once, at init.
// Empty variables count as unset. Anything it cannot use is an error that
// names the variable: the function must not start half-configured (a
// TEST_RUN=true that silently wrote to production would be the worst case).
func ConfigFromEnv() (Config, error) {
	cfg := Config{
		PredictionsStream: os.Getenv("PREDICTIONS_STREAM_NAME"),
		DeadLetterStream:  os.Getenv("DEAD_LETTER_STREAM_NAME"),
		Namespace:         os.Getenv("POWERTOOLS_METRICS_NAMESPACE"),
		Service:           os.Getenv("POWERTOOLS_SERVICE_NAME"),
		FunctionName:      os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
	}
	if cfg.PredictionsStream == "" {
		cfg.PredictionsStream = DefaultPredictionsStream
	}
	if v := os.Getenv("DEADLINE_MARGIN"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("DEADLINE_MARGIN=%q: want a positive duration such as 500ms or 2s", v)
		}
		cfg.DeadlineMargin = d
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

// validNamespace reports whether s can name a CloudWatch namespace: 1 to
// 255 printable ASCII characters, not only spaces, not starting with ":"
// or with "AWS/" (AWS's own namespaces).
func validNamespace(s string) bool {
	return len(s) <= 255 && printable(s) && s[0] != ':' && !strings.HasPrefix(s, "AWS/")
}

// validDimensionValue reports whether s can be a CloudWatch dimension
// value: 1 to 1024 printable ASCII characters, not only spaces.
func validDimensionValue(s string) bool { return len(s) <= 1024 && printable(s) }

// printable reports whether s is printable ASCII, and not only spaces.
func printable(s string) bool {
	for _, c := range []byte(s) {
		if c < ' ' || c > '~' {
			return false
		}
	}
	return strings.TrimSpace(s) != ""
}

// Validate checks the stream names and the metrics' namespace and service.
func (c Config) Validate() error {
	if !validStreamName(c.PredictionsStream) {
		return fmt.Errorf("PREDICTIONS_STREAM_NAME=%q: not a Kinesis stream name (1-128 of a-z A-Z 0-9 _ . -)", c.PredictionsStream)
	}
	if c.DeadLetterStream != "" && !validStreamName(c.DeadLetterStream) {
		return fmt.Errorf("DEAD_LETTER_STREAM_NAME=%q: not a Kinesis stream name (1-128 of a-z A-Z 0-9 _ . -)", c.DeadLetterStream)
	}
	if c.DeadLetterStream == c.PredictionsStream {
		return fmt.Errorf("DEAD_LETTER_STREAM_NAME=%q: must differ from PREDICTIONS_STREAM_NAME", c.DeadLetterStream)
	}
	if c.Namespace != "" && !validNamespace(c.Namespace) {
		return fmt.Errorf("POWERTOOLS_METRICS_NAMESPACE=%q: not a CloudWatch namespace (1-255 printable ASCII characters, not starting with : or AWS/), e.g. %s", c.Namespace, DefaultNamespace)
	}
	if c.Service != "" && !validDimensionValue(c.Service) {
		return fmt.Errorf("POWERTOOLS_SERVICE_NAME=%q: not a CloudWatch dimension value (1-1024 printable ASCII characters), e.g. %s", c.Service, DefaultService)
	}
	return nil
}
