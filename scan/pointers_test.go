package scan

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/report"
)

// TestPlaceholders checks that content never fetched (Git LFS pointers,
// git-annex links and pointers, DVC outputs never pulled) is reported as
// CONTENT-NOT-FETCHED and makes the scan incomplete, while the content
// itself, once there, is scanned.
func TestPlaceholders(t *testing.T) {
	lfs := []byte("version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	cases := map[string]func(dir string) string{
		"LFS pytorch_model.bin": func(dir string) string {
			p := filepath.Join(dir, "pytorch_model.bin")
			must(os.WriteFile(p, lfs, 0o644))
			return p
		},
		"LFS model.safetensors": func(dir string) string {
			p := filepath.Join(dir, "model.safetensors")
			must(os.WriteFile(p, lfs, 0o644))
			return p
		},
		"annex pointer": func(dir string) string {
			p := filepath.Join(dir, "model.pt")
			must(os.WriteFile(p, []byte("/annex/objects/SHA256E-s1234--abcd.pt\n"), 0o644))
			return p
		},
		"annex link": func(dir string) string {
			must(os.Symlink("../.git/annex/objects/Xx/Yy/SHA256E-s1--ab.pt/SHA256E-s1--ab.pt", filepath.Join(dir, "model.pt")))
			return filepath.Join(dir, "model.pt")
		},
		"DVC output": func(dir string) string {
			must(os.WriteFile(filepath.Join(dir, "model.pt.dvc"), []byte("outs:\n- md5: 0123456789abcdef0123456789abcdef\n  size: 1234\n  hash: md5\n  path: model.pt\n"), 0o644))
			return filepath.Join(dir, "model.pt")
		},
	}
	for name, make := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := make(dir)
			r := scanOne(t, dir)
			found := false
			for _, f := range r.AllFindings() {
				found = found || f.Rule == finding.ContentNotFetched && f.Location.Path == path
			}
			if !found || r.ExitCode(finding.High) != report.ExitIncomplete {
				t.Errorf("exit %d, %v", r.ExitCode(finding.High), r.AllFindings())
			}
		})
	}
	t.Run("DVC output pulled", func(t *testing.T) {
		dir := t.TempDir()
		must(os.WriteFile(filepath.Join(dir, "model.pt.dvc"), []byte("outs:\n- path: model.pt\n"), 0o644))
		must(os.WriteFile(filepath.Join(dir, "model.pt"), tu.NewPickle(2).Call("posix", "system", "id").Stop().Bytes(), 0o644))
		r := scanOne(t, dir)
		if hasRule(r.AllFindings(), finding.ContentNotFetched) || !hasRule(r.AllFindings(), finding.PickleProcess) {
			t.Errorf("%v", r.AllFindings())
		}
	})
}
