//go:build linux

package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// TestDiscoverUnreadableFolder: a folder under PATH that cannot be read
// makes violet discover exit 2, listed in the report, while everything
// else is still inventoried.
func TestDiscoverUnreadableFolder(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "requirements.txt", []byte("torch==2.3.1\n"))
	locked := tu.UnreadableDir(t, dir, map[string]string{"requirements.txt": "transformers\n"})
	rel, _ := filepath.Rel(dir, locked)
	rel = filepath.ToSlash(rel)

	code, out, errOut := violet(t, "discover", "--no-git", dir)
	if code != 2 || !strings.Contains(out, "requirements.txt") || !strings.Contains(out, "Incomplete") || !strings.Contains(out, rel) ||
		!strings.Contains(errOut, "could not be read") {
		t.Errorf("text: exit %d (want 2)\n%s\n%s", code, out, errOut)
	}
	code, out, _ = violet(t, "discover", "--no-git", "--format", "json", dir)
	var doc struct {
		Summary    map[string]int `json:"summary"`
		Unreadable []struct {
			Path  string `json:"path"`
			Error string `json:"error"`
		} `json:"unreadable"`
	}
	if code != 2 || json.Unmarshal([]byte(out), &doc) != nil || doc.Summary["dependency-file"] != 1 || len(doc.Unreadable) != 1 ||
		doc.Unreadable[0].Path != rel || doc.Unreadable[0].Error == "" {
		t.Errorf("json: exit %d (want 2), %+v", code, doc)
	}
	if code, out, _ := violet(t, "discover", "--no-git", "--format", "cyclonedx", dir); code != 2 || !strings.Contains(out, `"violet:unreadable"`) {
		t.Errorf("cyclonedx: exit %d (want 2)\n%s", code, out)
	}
}
