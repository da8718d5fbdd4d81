package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLinkOutEveryVerb: a model folder holding a link to a malicious
// pickle outside it is never judged clean by any verb: each either reports
// the link as not read (exit 2), denies, or refuses to sign or hash it.
func TestLinkOutEveryVerb(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	if err := os.Mkdir(model, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, model, "weights.pkl", clean)
	outside := write(t, dir, "evil.pkl", evil)
	reqs := write(t, dir, "requirements.txt", []byte("torchtriton==3.0.0\n"))
	for link, target := range map[string]string{"evil.pkl": outside, "requirements.txt": reqs} {
		if err := os.Symlink(target, filepath.Join(model, link)); err != nil {
			t.Skip("no symbolic links:", err)
		}
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"scan", model}, 2},
		{[]string{"deps", model}, 2},
		{[]string{"bom", model}, 2},
		{[]string{"discover", model}, 2},
		{[]string{"gate", model}, 1},
		{[]string{"hash", model}, 2},
	} {
		if code, out, errOut := violet(t, c.args...); code != c.code {
			t.Errorf("violet %v: exit %d, want %d\n%.600s%.600s", c.args, code, c.code, out, errOut)
		}
	}
}
