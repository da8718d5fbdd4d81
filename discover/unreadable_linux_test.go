//go:build linux

package discover

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// TestDiscoverUnreadableFolder: a folder that cannot be read is listed
// with its path and why, counted, and said in the text report; the rest
// of the tree is still inventoried.
func TestDiscoverUnreadableFolder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "requirements.txt", "torch==2.3.1\n")
	locked := tu.UnreadableDir(t, dir, map[string]string{"requirements.txt": "transformers\n"})
	res, err := Discover(context.Background(), dir, Options{NoGit: true})
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(dir, locked)
	if res.Stats.Unreadable != 1 || len(res.Unreadable) != 1 || res.Unreadable[0].Path != filepath.ToSlash(rel) || res.Unreadable[0].Error == "" ||
		strings.Contains(res.Unreadable[0].Error, dir) {
		t.Fatalf("unreadable: %d %+v, want %s", res.Stats.Unreadable, res.Unreadable, rel)
	}
	if find(res, KindDependency, "requirements.txt") == nil {
		t.Error("the readable part was not inventoried")
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, res); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "Incomplete: 1 files or folders could not be read") || !strings.Contains(out, filepath.ToSlash(rel)) {
		t.Errorf("the text report does not say so:\n%s", out)
	}
}
