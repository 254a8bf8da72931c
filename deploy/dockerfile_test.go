package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// No Docker engine runs in CI, so the image cannot be built there: these are plain checks of
// the Dockerfile's text against what the provided.al2023 base image and Lambda expect.

type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, ...
	args string
}

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, l := range strings.Split(string(src), "\n") {
		trimmed := strings.TrimSpace(l)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{start, strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := readDockerfile(t)
	var stages [][]instruction
	for _, in := range ins {
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("line %d: %s before the first FROM", in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	if len(stages) != 2 {
		t.Fatalf("%d stages, want 2 (build, then the Lambda base image)", len(stages))
	}
	build, final := stages[0], stages[1]

	if !strings.Contains(build[0].args, "golang:1.26 AS build") {
		t.Errorf("build stage: FROM %s, want golang:1.26 AS build", build[0].args)
	}
	var goBuild string
	hasTargetArch := false
	for _, in := range build {
		if in.cmd == "ARG" && strings.Contains(in.args, "TARGETARCH") {
			hasTargetArch = true
		}
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			goBuild = in.args
		}
	}
	if !hasTargetArch {
		t.Error("build stage does not declare ARG TARGETARCH")
	}
	for _, want := range []string{"CGO_ENABLED=0", "GOARCH=${TARGETARCH}", "-tags lambda.norpc", "-trimpath", `-ldflags="-s -w"`, "./cmd/bootstrap"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("go build command %q lacks %s", goBuild, want)
		}
	}

	if final[0].args != "public.ecr.aws/lambda/provided:al2023" {
		t.Errorf("final stage: FROM %s, want public.ecr.aws/lambda/provided:al2023", final[0].args)
	}
	var copied, cmd bool
	for _, in := range final {
		switch in.cmd {
		case "COPY":
			copied = copied || (strings.HasPrefix(in.args, "--from=build ") && strings.HasSuffix(in.args, " /var/runtime/bootstrap"))
		case "CMD":
			// /lambda-entrypoint.sh exits unless it gets exactly one argument (the handler name).
			cmd = in.args == `["bootstrap"]`
		case "ENTRYPOINT":
			t.Errorf("line %d: ENTRYPOINT replaces the base image's /lambda-entrypoint.sh", in.line)
		case "RUN":
			t.Errorf("line %d: RUN in the final stage; it only needs the binary", in.line)
		}
	}
	if !copied {
		t.Error("final stage does not COPY --from=build the binary to /var/runtime/bootstrap")
	}
	if !cmd {
		t.Error(`final stage lacks CMD ["bootstrap"]`)
	}
}

// TestDockerignoreKeepsSources: the build context must still hold what `go build` needs.
func TestDockerignoreKeepsSources(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	needed := []string{"go.mod", "go.sum", "cmd", "cmd/bootstrap", "cmd/bootstrap/main.go", "handler", "wire", "generated", "generated/table.bin", "generated/vocabulary.bin"}
	for _, p := range strings.Split(string(src), "\n") {
		p = strings.TrimSpace(p)
		if p == "" || strings.HasPrefix(p, "#") || strings.HasPrefix(p, "!") {
			continue
		}
		for _, n := range needed {
			// Docker's ** also matches no directory at all.
			a, _ := filepath.Match(p, n)
			b, _ := filepath.Match(strings.TrimPrefix(p, "**/"), n)
			if a || b {
				t.Errorf(".dockerignore pattern %q excludes %s", p, n)
			}
		}
	}
}
