package main

import (
	"fmt"
	"os"
	"syscall"
)

// emulatorPath is where the image keeps the Lambda Runtime Interface
// Emulator: where AWS's base images keep theirs.
const emulatorPath = "/usr/local/bin/aws-lambda-rie"

// execEmulatorOutsideLambda replaces the process with the emulator running
// this binary when it is started outside Lambda (no AWS_LAMBDA_RUNTIME_API)
// next to an emulator: the container image run locally. This is what the
// entrypoint script of AWS's base images does. The emulator serves the
// invoke API on port 8080 and starts this binary again, with
// AWS_LAMBDA_RUNTIME_API set. In Lambda, and wherever there is no emulator
// (the zip), it returns at once.
func execEmulatorOutsideLambda() {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		return
	}
	if _, err := os.Stat(emulatorPath); err != nil {
		return
	}
	self, err := os.Executable()
	if err == nil {
		err = syscall.Exec(emulatorPath, []string{emulatorPath, self}, os.Environ())
	}
	fmt.Fprintf(os.Stderr, "start %s: %v\n", emulatorPath, err)
	os.Exit(1)
}
