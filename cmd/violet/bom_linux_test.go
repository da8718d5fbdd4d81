//go:build linux

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// TestBOMIncomplete: a model folder with an unreadable folder or a link
// out of it still gets its BOM (every other file listed), and violet bom
// exits 2 naming what it could not read, instead of aborting (unreadable)
// or leaving it out silently (link).
func TestBOMIncomplete(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "config.json", []byte(`{"model_type": "llama"}`))
	write(t, dir, "model.safetensors", []byte("weights"))
	outside := write(t, t.TempDir(), "adapter.bin", evil)
	if err := os.Symlink(outside, filepath.Join(dir, "adapter.bin")); err != nil {
		t.Fatal(err)
	}
	locked := tu.UnreadableDir(t, dir, map[string]string{"tokenizer.json": "{}"})
	for _, args := range [][]string{{"bom", dir}, {"bom", "--check", dir}} {
		code, out, errOut := violet(t, args...)
		if code != 2 || !strings.Contains(errOut, "adapter.bin") || !strings.Contains(errOut, "outside the model folder") ||
			!strings.Contains(errOut, filepath.Base(locked)) {
			t.Errorf("violet %v: exit %d (want 2)\n%s", args, code, errOut)
		}
		if args[1] == "--check" {
			continue
		}
		var doc struct{ Components []struct{ Name string } }
		if err := json.Unmarshal([]byte(out), &doc); err != nil || !strings.Contains(out, "model.safetensors") || strings.Contains(out, `"adapter.bin"`) {
			t.Errorf("the BOM of the readable files: %v\n%.400s", err, out)
		}
	}
}
