package testenv

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Browser is Debian's headless Chromium (package chromium), run once per
// call with a fresh profile and no network: a page that fetches anything
// from the network shows it as not loaded.
type Browser struct {
	bin string
}

// Chromium finds the browser. Without it the test is skipped; with CI set
// it fails: make deps (CI) installs it.
func Chromium(t testing.TB) *Browser {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return &Browser{bin: p}
		}
	}
	Missing(t, "chromium (apt-get install -y chromium; make deps installs it)")
	return nil
}

// DumpDOM loads url and returns the DOM after the page's load event, as
// serialised HTML: what its scripts made of it.
func (b *Browser) DumpDOM(t testing.TB, url string) string {
	t.Helper()
	return string(b.run(t, "--dump-dom", url))
}

// Screenshot loads url in a window of width × height CSS pixels and returns
// what it shows.
func (b *Browser) Screenshot(t testing.TB, url string, width, height int) image.Image {
	t.Helper()
	out := filepath.Join(t.TempDir(), "screenshot.png")
	b.run(t, "--hide-scrollbars", "--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), "--screenshot="+out, url)
	f, err := os.Open(out)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("chromium's screenshot: %v", err)
	}
	return img
}

// run runs the browser with args and returns its stdout. Root needs
// --no-sandbox; the other flags keep it from reaching out (updates, sync,
// QUIC) and make every name resolve to nothing.
func (b *Browser) run(t testing.TB, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--host-resolver-rules=MAP * ~NOTFOUND",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, b.bin, append(flags, args...)...)
	// Chromium starts helper processes: on timeout, end the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.Bytes())
	}
	return stdout.Bytes()
}
