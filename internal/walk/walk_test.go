package walk

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
)

func mustWrite(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustLink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// collect walks root and returns "rel kind" lines, sorted.
func collect(t *testing.T, root string, o Options) (map[string]Entry, []string) {
	t.Helper()
	got := map[string]Entry{}
	var lines []string
	err := Walk(root, o, func(e Entry) error {
		got[e.Rel] = e
		lines = append(lines, e.Rel+" "+e.Kind.String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return got, lines
}

// TestLinkRules: the one set of link rules every verb walks by.
func TestLinkRules(t *testing.T) {
	base := t.TempDir()
	project := filepath.Join(base, "project")
	outside := filepath.Join(base, "outside")
	mustWrite(t, filepath.Join(outside, "evil.pkl"), "x")
	mustWrite(t, filepath.Join(outside, "dir", "a.bin"), "x")
	if err := os.MkdirAll(filepath.Join(project, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(project, ".dvc", "cache", "files", "md5", "ab", "cdef"), "weights")
	mustWrite(t, filepath.Join(project, ".git", "annex", "objects", "xx", "yy", "SHA256E-s7--00.bin", "SHA256E-s7--00.bin"), "weights")
	model := filepath.Join(project, "model")
	mustWrite(t, filepath.Join(model, "config.json"), "{}")
	mustWrite(t, filepath.Join(model, "sub", "w.bin"), "w")
	mustLink(t, "config.json", filepath.Join(model, "inside-link.json"))
	mustLink(t, "sub", filepath.Join(model, "inside-dir"))
	mustLink(t, "../.dvc/cache/files/md5/ab/cdef", filepath.Join(model, "dvc.pt"))
	mustLink(t, "../.git/annex/objects/xx/yy/SHA256E-s7--00.bin/SHA256E-s7--00.bin", filepath.Join(model, "annex.bin"))
	mustLink(t, filepath.Join(outside, "evil.pkl"), filepath.Join(model, "stolen.pkl"))
	mustLink(t, filepath.Join(outside, "dir"), filepath.Join(model, "outdir"))
	mustLink(t, "../.git/annex/objects/zz/missing.bin", filepath.Join(model, "missing.bin"))
	mustLink(t, "../.git/config", filepath.Join(model, "gitconfig"))
	if runtime.GOOS != "windows" {
		if err := syscall.Mkfifo(filepath.Join(model, "fifo"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(project, ".git", "config"), "[core]\n")

	got, lines := collect(t, model, Options{SkipDir: func(_, name string) bool { return VCSDirs[name] }})
	want := []string{
		"annex.bin file", "config.json file", "dvc.pt file", "fifo special file", "gitconfig link outside",
		"inside-link.json file", "missing.bin broken link", "outdir link outside", "stolen.pkl link outside", "sub/w.bin file",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, name := range []string{"annex.bin", "dvc.pt", "inside-link.json", "sub/w.bin"} {
		f, _, err := got[name].Open()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		f.Close()
	}
	if _, _, err := got["stolen.pkl"].Open(); err == nil {
		t.Error("a link out of the folder was opened")
	}
	if got["missing.bin"].LinkText == "" || got["stolen.pkl"].Target != filepath.Join(outside, "evil.pkl") {
		t.Errorf("link text %q, target %q", got["missing.bin"].LinkText, got["stolen.pkl"].Target)
	}
}

// TestHFCacheLinks: snapshot links into the cache repository's blobs are
// followed; out of the repository they are not.
func TestHFCacheLinks(t *testing.T) {
	base := t.TempDir()
	repo := filepath.Join(base, "hub", "models--org--name")
	mustWrite(t, filepath.Join(repo, "blobs", "0123"), "weights")
	mustWrite(t, filepath.Join(base, "hub", "models--org--other", "blobs", "4567"), "other")
	snap := filepath.Join(repo, "snapshots", "rev")
	mustLink(t, "../../blobs/0123", filepath.Join(snap, "model.safetensors"))
	mustLink(t, "../../../models--org--other/blobs/4567", filepath.Join(snap, "other.bin"))
	_, lines := collect(t, snap, Options{})
	if want := "model.safetensors file\nother.bin link outside"; strings.Join(lines, "\n") != want {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(lines, "\n"), want)
	}
}

// TestOpenSwapped: a file replaced after the walk (by a FIFO, by a link
// inside the folder, by a link out of it, by a folder) is refused by Open,
// which never blocks.
func TestOpenSwapped(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret")
	mustWrite(t, outside, "secret")
	swaps := map[string]func(dir, path string) error{
		"fifo": func(_, path string) error { return syscall.Mkfifo(path, 0o600) },
		"link inside": func(dir, path string) error {
			mustWrite(t, filepath.Join(dir, "other"), "other")
			return os.Symlink("other", path)
		},
		"link outside": func(_, path string) error { return os.Symlink(outside, path) },
		"folder":       func(_, path string) error { return os.Mkdir(path, 0o755) },
	}
	for name, swap := range swaps {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "model.bin")
			mustWrite(t, path, "weights")
			got, _ := collect(t, dir, Options{})
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := swap(dir, path); err != nil {
				t.Skip(err)
			}
			f, _, err := got["model.bin"].Open()
			if err == nil {
				f.Close()
				t.Fatalf("swapped for a %s: opened", name)
			}
			if name != "link outside" && !errors.Is(err, ErrNotRegular) {
				t.Errorf("swapped for a %s: %v", name, err)
			}
		})
	}
}

// TestUnreadable: a folder that cannot be listed is an Unreadable entry
// and the walk goes on; an unreadable root is an error.
func TestUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads folders of mode 000 (internal/testutil.UnreadableDir covers root in the verbs' tests)")
	}
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "a", "x.bin"), "x")
	mustWrite(t, filepath.Join(dir, "b", "y.bin"), "y")
	if err := os.Chmod(filepath.Join(dir, "a"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Chmod(filepath.Join(dir, "a"), 0o755); err != nil {
			t.Error(err)
		}
	})
	got, _ := collect(t, dir, Options{})
	if got["a"].Kind != Unreadable || got["a"].Err == nil || got["b/y.bin"].Kind != File {
		t.Errorf("%+v", got)
	}
	if err := Walk(filepath.Join(dir, "missing"), Options{}, func(Entry) error { return nil }); err == nil {
		t.Error("a missing root: no error")
	}
}
