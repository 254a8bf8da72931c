// Command lambda is the ride duration function as deployed: the bootstrap of
// a Lambda function on the OS-only runtime (provided.al2023, zip or container
// image). It reads its configuration once, at init, wires the compiled model
// into the handler and hands it to the Lambda runtime loop.
//
// Outside Lambda, in its container image, it starts under the Runtime
// Interface Emulator the image carries, as AWS's base images do: the
// original's `docker run -p 8080:8080 …` serves the invoke API on port 8080.
//
// Build: CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags="-s -w" -o bootstrap ./lambda
// (make package, make image).
package main

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	// CA roots for a container image that has no system bundle (FROM scratch);
	// used only where the system has none, so the zip on provided.al2023 keeps
	// the runtime's own.
	_ "golang.org/x/crypto/x509roots/fallback"

	"github.com/rideduration/rideduration/handler"
	"github.com/rideduration/rideduration/internal/compiled"
	"github.com/rideduration/rideduration/putrecords"
)

func main() {
	execEmulatorOutsideLambda()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	// The log and the metrics (EMF documents) go to stdout, the function's
	// log, where CloudWatch Logs extracts the metrics.
	h, err := newHandler(context.Background(), log, os.Stdout)
	if err != nil {
		// Exiting during init fails the init: Lambda reports Runtime.ExitError
		// and this line is the first thing in the function's log.
		log.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h) // h.Invoke: the event read without reflection
}

// newHandler is the function as configured by its environment, logging to
// log and writing its metrics to metrics.
func newHandler(ctx context.Context, log *slog.Logger, metrics io.Writer) (*handler.Handler, error) {
	cfg, err := handler.ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	client, err := putrecords.NewClient(ctx)
	if err != nil {
		return nil, err
	}
	cfg.Logger = log
	cfg.Metrics = metrics
	m := compiled.Model()
	log.Info("init", "predictions_stream", cfg.PredictionsStream, "dead_letter_stream", cfg.DeadLetterStream,
		"model", m.Name, "version", m.Version, "test_run", cfg.TestRun, "metrics_namespace", cmp.Or(cfg.Namespace, handler.DefaultNamespace))
	if m.Version != compiled.Version {
		// RUN_ID is honoured (the course's integration test sets Test123),
		// and said once: a run id left from another model's deploy would
		// label this model's events with that model's run.
		log.Warn("RUN_ID differs from the compiled model's version", "run_id", m.Version, "model_version", compiled.Version)
	}
	return handler.New(cfg, m, client), nil
}
