// Package check holds the checks of the values the commands take from
// make's variables, each with the message the user reads.
package check

import (
	"fmt"
	"regexp"
)

var runIDForm = regexp.MustCompile(`^[0-9a-f]{32}$`)

// RunID checks an MLflow run id (RUN_ID): a uuid4's 32 hex digits.
func RunID(id string) error {
	if !runIDForm.MatchString(id) {
		return fmt.Errorf("RUN_ID=%q: want an MLflow run id, 32 hex digits (0-9, a-f)", id)
	}
	return nil
}

// Values checks a run id (none when empty) and paths, given as
// variable name, value pairs: the first error.
func Values(runID string, paths ...string) error {
	if runID != "" {
		if err := RunID(runID); err != nil {
			return err
		}
	}
	for i := 0; i+1 < len(paths); i += 2 {
		if err := Path(paths[i], paths[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// Path checks a file or directory name a variable gives (name): set, and
// not starting with '-', which a tool would read as an option.
func Path(name, path string) error {
	if path == "" {
		return fmt.Errorf("%s is empty: want a path", name)
	}
	if path[0] == '-' {
		return fmt.Errorf("%s=%q: want a path that does not start with '-' (./%s)", name, path, path)
	}
	return nil
}
