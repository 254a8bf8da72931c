// Command bootstrap is the Lambda function's entry point for the
// provided.al2023 runtime: it reads the configuration once, at init, and
// hands the handler to the Lambda runtime loop.
//
// Build: CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags="-s -w" (make package).
package main

import (
	"context"
	"log/slog"
	"os"

	awslambda "github.com/aws/aws-lambda-go/lambda"

	"github.com/rideduration/rideduration/lambda"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := lambda.ConfigFromEnv()
	if err != nil {
		// Exiting during init fails the init: Lambda reports Runtime.ExitError
		// and this line is the first thing in the function's log.
		log.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	client, err := lambda.NewKinesisClient(context.Background())
	if err != nil {
		log.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	cfg.Logger = log
	log.Info("init", "predictions_stream", cfg.PredictionsStream, "dead_letter_stream", cfg.DeadLetterStream,
		"version", cfg.Version, "test_run", cfg.TestRun)
	awslambda.Start(lambda.New(cfg, client).Handle)
}
