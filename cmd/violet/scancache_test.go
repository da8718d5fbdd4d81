package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// violet scan --cache DIR: the second scan of the same bytes takes the
// result from the folder and reports the same verdict; --allow changes the
// key; a folder open to others is refused (exit 2).
func TestScanCache(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	v1, v2 := t.TempDir(), t.TempDir()
	write(t, v1, "model.pkl", evil)
	write(t, v2, "model.pkl", evil)
	if code, _, errOut := violet(t, "scan", "-q", "--cache", cache, v1); code != 1 {
		t.Fatalf("first scan: exit %d, %s", code, errOut)
	}
	code, out, errOut := violet(t, "--log-level", "debug", "scan", "-f", "json", "--cache", cache, v2)
	if code != 1 || !strings.Contains(errOut, "result taken from the scan cache") || !strings.Contains(out, filepath.Join(v2, "model.pkl")) {
		t.Fatalf("second scan: exit %d\n%s\n%s", code, out, errOut)
	}
	code, _, errOut = violet(t, "--log-level", "debug", "scan", "--allow", "posix.system", "--cache", cache, v2)
	if code != 0 || strings.Contains(errOut, "result taken from the scan cache") {
		t.Fatalf("with --allow: exit %d\n%s", code, errOut)
	}
	if runtime.GOOS == "windows" {
		return // no Unix modes
	}
	open := t.TempDir()
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := violet(t, "scan", "--cache", open, v1); code != 2 || !strings.Contains(errOut, "open to others") {
		t.Fatalf("open folder: exit %d, %s", code, errOut)
	}
}
