// Command bootstrap is the Lambda function's entry point for the
// provided.al2023 runtime: it reads the configuration once, at init, wires
// the compiled model into the handler and hands it to the Lambda runtime
// loop.
//
// Build: CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags="-s -w" (make package).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rideduration/rideduration/cmd/internal/compiled"
	"github.com/rideduration/rideduration/handler"
	"github.com/rideduration/rideduration/putrecords"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := newHandler(context.Background(), log)
	if err != nil {
		// Exiting during init fails the init: Lambda reports Runtime.ExitError
		// and this line is the first thing in the function's log.
		log.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h) // h.Invoke: the event read without reflection
}

// newHandler is the function as configured by its environment.
func newHandler(ctx context.Context, log *slog.Logger) (*handler.Handler, error) {
	cfg, err := handler.ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	client, err := putrecords.NewClient(ctx)
	if err != nil {
		return nil, err
	}
	cfg.Logger = log
	m := compiled.Model()
	log.Info("init", "predictions_stream", cfg.PredictionsStream, "dead_letter_stream", cfg.DeadLetterStream,
		"model", m.Name, "version", m.Version, "test_run", cfg.TestRun)
	return handler.New(cfg, m, client), nil
}
