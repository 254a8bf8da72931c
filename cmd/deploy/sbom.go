package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
)

// sbomTool is cyclonedx-gomod, built from the module proxy at a pinned
// version into build/tools.
const sbomTool = "github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0"

var commitForm = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// sbom writes the software bill of materials (CycloneDX JSON) of each
// zip's bootstrap, dist/function-<arch>.cdx.json: the modules Go recorded
// in the binary and the standard library at the toolchain's version
// (-std). The main component carries the bootstrap's SHA-256; the serial
// number and the timestamp are the commit's (a UUID named by the commit and
// the architecture, the commit's time), so two SBOMs of one commit are the
// same bytes.
func (d *deployer) sbom(context.Context) error {
	tag, err := d.tag()
	if err != nil {
		return refuse(err)
	}
	commit, err := d.output("git", "rev-parse", "HEAD")
	if err != nil {
		return fmt.Errorf("git rev-parse HEAD: %v", err)
	}
	commit = strings.TrimSpace(commit)
	if !commitForm.MatchString(commit) {
		return fmt.Errorf("git rev-parse HEAD printed %q, not a commit hash", commit)
	}
	when, err := d.output("git", "show", "-s", "--format=%cI", commit)
	if err != nil {
		return fmt.Errorf("git show %s: %v", commit, err)
	}
	at, err := time.Parse(time.RFC3339, strings.TrimSpace(when))
	if err != nil {
		return fmt.Errorf("git show %s: the commit time %q: %v", commit, strings.TrimSpace(when), err)
	}
	goTool := d.value("GO", "go")
	tools, err := filepath.Abs("build/tools")
	if err != nil {
		return err
	}
	tool := filepath.Join(tools, "cyclonedx-gomod")
	if err := os.MkdirAll(tools, 0o755); err != nil {
		return err
	}
	if err := d.commandEnv([]string{"GOBIN=" + tools, "GOFLAGS="}, nil, goTool, "install", sbomTool); err != nil {
		return err
	}
	for _, arch := range []string{"amd64", "arm64"} {
		bin := filepath.Join("dist", arch, "bootstrap")
		out := filepath.Join("dist", "function-"+arch+".cdx.json")
		serial := uuid.NewSHA1(uuid.NameSpaceURL, []byte("git:"+commit+"/function-"+arch))
		// The standard library's component is labelled with go env's GOOS and GOARCH: the binary's.
		if err := d.commandEnv([]string{"GOOS=linux", "GOARCH=" + arch, "GOFLAGS="}, nil, tool, "bin", "-json", "-std", "-notimestamp", "-serial", serial.String(),
			"-version", tag, "-output", out, bin); err != nil {
			return err
		}
		if d.dryRun {
			continue
		}
		if err := finishSBOM(out, bin, at); err != nil {
			return fmt.Errorf("%s: %v", out, err)
		}
	}
	return nil
}

// finishSBOM adds, to the SBOM at path, its timestamp and the main
// component's hash (the binary's SHA-256).
func finishSBOM(path, bin string, at time.Time) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var bom map[string]any
	if err := dec.Decode(&bom); err != nil {
		return err
	}
	meta, ok := bom["metadata"].(map[string]any)
	if !ok {
		return fmt.Errorf("no metadata")
	}
	main, ok := meta["component"].(map[string]any)
	if !ok {
		return fmt.Errorf("no metadata.component (the main component)")
	}
	sum := sha256.Sum256(exe)
	main["hashes"] = []any{map[string]any{"alg": "SHA-256", "content": hex.EncodeToString(sum[:])}}
	meta["timestamp"] = at.UTC().Format(time.RFC3339)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(bom); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
