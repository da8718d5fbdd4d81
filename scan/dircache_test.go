package scan

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// A DirCache serves a second scan from files of its own (0600 in 0700
// folders), refuses keys that are not the engine's, and keeps its bound.
func TestDirCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c, err := OpenDirCache(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	models := t.TempDir()
	writeIn(t, filepath.Join(models, "v1"), "model.pkl", cacheEvil)
	writeIn(t, filepath.Join(models, "v2"), "model.pkl", cacheEvil)
	opts, _ := cacheOptions(c)
	scanWith(t, opts, filepath.Join(models, "v1"))
	c2, err := OpenDirCache(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	opts, stats := cacheOptions(c2)
	r := scanWith(t, opts, filepath.Join(models, "v2"))
	if stats.Hits.Load() != 1 || !fileHas(r.Files[0], "PICKLE-PROCESS") {
		t.Fatalf("%s %+v", counts(stats), r.Files[0].Findings)
	}
	if c2.used.Load() == 0 {
		t.Fatal("the size of the values was not counted")
	}
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, _ := d.Info()
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if runtime.GOOS != "windows" && info.Mode().Perm() != want {
			t.Errorf("%s: mode %v", path, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, key := range []string{"../../etc/passwd", "ab/../x", "", "ABCD", "zz"} {
		if err := c.Put(ctx, key, []byte("x")); err == nil {
			t.Errorf("Put %q accepted", key)
		}
		if _, _, err := c.Get(ctx, key); err == nil {
			t.Errorf("Get %q accepted", key)
		}
	}
	small, err := OpenDirCache(filepath.Join(t.TempDir(), "small"), 10)
	if err != nil {
		t.Fatal(err)
	}
	_ = small.Put(ctx, "abcd", []byte("0123456789abc"))
	if _, ok, _ := small.Get(ctx, "abcd"); ok {
		t.Fatal("a value over the bound was kept")
	}
	if _, ok, err := small.Get(ctx, "abce"); ok || err != nil {
		t.Fatalf("missing value: %v %v", ok, err)
	}
}

// A cache folder that others may write is refused: a value planted there
// could make a file pass.
func TestDirCacheNotPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDirCache(dir, 0); err == nil {
		t.Fatal("a folder open to others was accepted")
	}
	file := tu.WriteFile(t, t.TempDir(), "f", []byte("x"))
	if _, err := OpenDirCache(file, 0); err == nil {
		t.Fatal("a file was accepted as a cache folder")
	}
}
