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

// TestProjectLinks: a DVC or git-annex link into the project's content
// store is followed and scanned; a link to a file or a folder outside the
// scanned folder is reported and makes the scan incomplete (exit 2), never
// a pass.
func TestProjectLinks(t *testing.T) {
	payload := tu.NewPickle(2).Call("posix", "system", "id").Stop().Bytes()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	project := t.TempDir()
	for _, d := range []string{".git/annex/objects/ab/cd", ".dvc/cache/files/md5/12", "models", "elsewhere/sub"} {
		must(os.MkdirAll(filepath.Join(project, d), 0o755))
	}
	must(os.WriteFile(filepath.Join(project, ".dvc/cache/files/md5/12/3456"), payload, 0o644))
	must(os.WriteFile(filepath.Join(project, ".git/annex/objects/ab/cd/SHA256E-s1--x.pt"), payload, 0o644))
	must(os.WriteFile(filepath.Join(project, "elsewhere/sub/evil.pkl"), payload, 0o644))
	models := filepath.Join(project, "models")
	must(os.Symlink("../.dvc/cache/files/md5/12/3456", filepath.Join(models, "dvc.pt")))
	must(os.Symlink("../.git/annex/objects/ab/cd/SHA256E-s1--x.pt", filepath.Join(models, "annex.pt")))

	r := scanOne(t, models)
	got := map[string]string{}
	for _, f := range r.AllFindings() {
		got[filepath.Base(f.Location.Path)] = f.Rule
	}
	if got["dvc.pt"] != finding.PickleProcess || got["annex.pt"] != finding.PickleProcess {
		t.Errorf("links into the project's content stores not followed: %v", r.AllFindings())
	}

	for name, target := range map[string]string{"file": "../elsewhere/sub/evil.pkl", "folder": "../elsewhere/sub"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(project, "only-"+name)
			must(os.MkdirAll(dir, 0o755))
			must(os.Symlink(target, filepath.Join(dir, "link")))
			r := scanOne(t, dir)
			if !hasRule(r.AllFindings(), finding.SymlinkOutside) || r.ExitCode(finding.High) != 2 {
				t.Errorf("a link out of the folder: exit %d, %v", r.ExitCode(finding.High), r.AllFindings())
			}
		})
	}
}
