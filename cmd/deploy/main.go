// Command deploy runs the deployment steps of the Makefile (make deploy-zip,
// deploy-built, deploy-image, push, ecr-repo, deploy-verify, stack-outputs,
// stack-delete, deploy-release, sbom):
//
//	deploy [-n] <step>
//
// It reads its values from the environment (make passes its variables
// there: STACK_NAME, ARCH, RUN_ID, DEPLOY_PARAMS, ...; docs/deploy.md lists
// them) and checks each one, given or derived (AWS_REGION from
// AWS_DEFAULT_REGION or the AWS configuration, AWS_ACCOUNT_ID from STS,
// IMAGE_TAG from git), before it calls anything. AWS is called through the
// SDK (its standard configuration, AWS_ENDPOINT_URL included); the tools
// it runs (git, make, CONTAINER, cyclonedx-gomod) get their values as
// arguments, never through a shell.
//
// With -n it prints the AWS calls and the commands a step would make and
// makes none of them; the lookups of derived values still run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// steps are the subcommands, each a make target of the same name.
var steps = map[string]func(*deployer, context.Context) error{
	"deploy-built":   (*deployer).deployBuilt,
	"deploy-image":   (*deployer).deployImage,
	"push":           (*deployer).push,
	"ecr-repo":       (*deployer).ecrRepo,
	"deploy-verify":  (*deployer).verify,
	"stack-outputs":  (*deployer).stackOutputs,
	"stack-delete":   (*deployer).stackDelete,
	"deploy-release": (*deployer).deployRelease,
	"sbom":           (*deployer).sbom,
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	d := &deployer{env: os.Getenv, stdout: stdout, stderr: stderr}
	flags := flag.NewFlagSet("deploy", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.BoolVar(&d.dryRun, "n", false, "print the AWS calls and commands, make none")
	flags.StringVar(&d.template, "template", "lambda/template.yaml", "the function's stack template")
	flags.StringVar(&d.releaseTemplate, "release-template", "lambda/release.yaml", "the release stack's template")
	flags.StringVar(&d.trainingMonth, "training-month", "cmd/predict/training_month.json", "the training month's statistics (the dashboard's reference lines)")
	flags.Usage = func() {
		names := make([]string, 0, len(steps))
		for n := range steps {
			names = append(names, n)
		}
		fmt.Fprintf(stderr, "usage: deploy [-n] <step>: one of %s\n", strings.Join(sorted(names), ", "))
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}
	step, ok := steps[flags.Arg(0)]
	if flags.NArg() != 1 || !ok {
		flags.Usage()
		return 2
	}
	name := flags.Arg(0)
	if err := step(d, ctx); err != nil {
		fmt.Fprintf(stderr, "make %s: %v\n", name, err)
		if errors.As(err, new(*usageError)) {
			return 2
		}
		return 1
	}
	return 0
}

// usageError is a value refused before anything ran.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// refuse wraps a check's error as a usage error.
func refuse(err error) error {
	if err == nil {
		return nil
	}
	if errors.As(err, new(*usageError)) {
		return err
	}
	return &usageError{err}
}
