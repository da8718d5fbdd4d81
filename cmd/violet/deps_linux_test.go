//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// TestDepsUnreadableFolder: one folder that cannot be read does not stop
// violet deps: it is reported with its path, every other file is
// checked, and the exit code is 2 (1 when another file has a finding at
// or above --fail-on).
func TestDepsUnreadableFolder(t *testing.T) {
	db := filepath.Join("..", "..", "deps", "testdata", "osv")
	dir := t.TempDir()
	write(t, dir, "requirements.txt", []byte("numpy>=2\n"))
	if err := os.MkdirAll(filepath.Join(dir, "svc"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "svc"), "Pipfile", []byte("[packages]\nrequests = \"*\"\n"))
	locked := tu.UnreadableDir(t, dir, map[string]string{"requirements.txt": "torchtriton\n"})
	code, out, errOut := violet(t, "deps", "--osv-db", db, "--format", "json", dir)
	if code != 2 || !strings.Contains(out, locked) || !strings.Contains(out, "DEPS-MALFORMED") ||
		!strings.Contains(out, "numpy is not pinned") || !strings.Contains(out, "requests is not pinned") {
		t.Errorf("exit %d (want 2)\n%s\n%s", code, out, errOut)
	}
	write(t, dir, "requirements-gpu.txt", []byte("torchtriton==3.0.0\n"))
	if code, out, _ := violet(t, "deps", "--osv-db", db, dir); code != 1 || !strings.Contains(out, "DEPS-MALFORMED") || !strings.Contains(out, "torchtriton") {
		t.Errorf("with a malicious package: exit %d (want 1)\n%s", code, out)
	}
}
