package model

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/rideduration/rideduration/internal/testenv"
)

// The layout's rule: the compiled model (package generated) is wired in by
// the mains (through internal/compiled), never imported by a library
// package, so that libraries and their tests take a model as a value. And no
// package shadows aws-lambda-go's lambda.
func TestOnlyMainsImportGenerated(t *testing.T) {
	const module = "github.com/rideduration/rideduration"
	out, err := exec.Command(testenv.GoTool(t), "list", "-f", "{{.ImportPath}} {{.Name}} {{join .Imports \",\"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line + " ")
		path, name := f[0], f[1]
		var imports []string
		if len(f) > 2 {
			imports = strings.Split(f[2], ",")
		}
		if name == "lambda" {
			t.Errorf("%s is named lambda, as aws-lambda-go's runtime package is: name it after its job", path)
		}
		// The mains (cmd/..., lambda) and the package that hands them the model.
		mayImport := name == "main" || path == module+"/internal/compiled"
		for _, imp := range imports {
			if imp == module+"/generated" && !mayImport {
				t.Errorf("%s imports generated: only the mains and internal/compiled may; take a model.Model", path)
			}
		}
	}
}
