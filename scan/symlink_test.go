package scan

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// TestSymlinks: links inside the folder and Hugging Face cache snapshots
// are followed; a link out of the folder is reported and not read.
func TestSymlinks(t *testing.T) {
	dir := t.TempDir()
	payload := tu.NewPickle(2).Call("posix", "system", "id").Stop().Bytes()
	repo := filepath.Join(dir, "hub", "models--org--model")
	blob := filepath.Join(repo, "blobs", "0123abcd")
	snap := filepath.Join(repo, "snapshots", "rev1")
	outside := filepath.Join(dir, "elsewhere.pkl")
	for _, d := range []string{filepath.Dir(blob), snap} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for path, data := range map[string][]byte{blob: payload, outside: payload} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("../../blobs/0123abcd", filepath.Join(snap, "pytorch_model.bin")))
	must(os.Symlink(outside, filepath.Join(snap, "stolen.bin")))

	r := scanOne(t, snap)
	rules := map[string]string{}
	for _, f := range r.AllFindings() {
		rules[filepath.Base(f.Location.Path)] = f.Rule
	}
	if rules["pytorch_model.bin"] != finding.PickleProcess {
		t.Errorf("snapshot link into blobs/ not followed: %v", r.AllFindings())
	}
	if rules["stolen.bin"] != finding.SymlinkOutside {
		t.Errorf("link out of the cache: %v", r.AllFindings())
	}
}
