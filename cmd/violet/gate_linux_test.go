//go:build linux

package main

import (
	"strings"
	"testing"

	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// TestGateUnreadableFolder: a folder of the model that cannot be read does
// not abort the gate: the rest is judged, and the unread folder is a reason
// to deny (the scan of it is incomplete), named in the output.
func TestGateUnreadableFolder(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "model.pkl", clean)
	locked := tu.UnreadableDir(t, dir, map[string]string{"evil.pkl": string(evil)})
	code, out, errOut := violet(t, "gate", dir)
	if code != 1 || !strings.Contains(out, "SCAN-INCOMPLETE") || !strings.Contains(out, locked[len(dir)+1:][:20]) {
		t.Errorf("exit %d (want 1, a denial naming the unread folder)\n%s%s", code, out, errOut)
	}
}
