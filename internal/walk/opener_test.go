package walk

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// An Opener opens every file of a walk, across more folders than it keeps,
// as Entry.Open does, and refuses a file replaced by a link after the walk.
func TestOpener(t *testing.T) {
	root := t.TempDir()
	for i := range 2 * openerFolders {
		dir := filepath.Join(root, fmt.Sprintf("d%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for j := range 3 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", j)), []byte(dir+fmt.Sprint(j)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(root, "top"), []byte("top"), 0o644); err != nil {
		t.Fatal(err)
	}
	var entries []Entry
	if err := Walk(root, Options{}, func(e Entry) error { entries = append(entries, e); return nil }); err != nil {
		t.Fatal(err)
	}
	var o Opener
	defer o.Close()
	// Twice, in the order of the walk and back, so folders are dropped and
	// opened again.
	for pass := range 2 {
		for k := range entries {
			e := entries[k]
			if pass == 1 {
				e = entries[len(entries)-1-k]
			}
			fh, info, err := o.Open(e)
			if err != nil {
				t.Fatalf("%s: %v", e.Rel, err)
			}
			got, _ := io.ReadAll(fh)
			fh.Close()
			want, _ := os.ReadFile(e.Path)
			if string(got) != string(want) || info.Size() != int64(len(want)) {
				t.Fatalf("%s: read %q, want %q", e.Rel, got, want)
			}
		}
	}
	if n := len(o.folders); n > openerFolders {
		t.Fatalf("%d folders held", n)
	}
	// d0/f0 replaced by a link to d0/f1: refused as Entry.Open refuses it.
	e := entries[0]
	if e.Rel != "d0/f0" {
		t.Fatalf("first entry %s", e.Rel)
	}
	if err := os.Remove(e.Path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("f1", e.Path); err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.Open(e); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("Opener: %v, want ErrNotRegular", err)
	}
	if _, _, err := e.Open(); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("Entry.Open: %v, want ErrNotRegular", err)
	}
	// A link to outside the folder is never opened.
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(e.Path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, e.Path); err != nil {
		t.Fatal(err)
	}
	if fh, _, err := o.Open(e); err == nil {
		fh.Close()
		t.Fatal("a link out of the folder was opened")
	}
	if _, _, err := o.Open(Entry{Kind: LinkOutside, Path: "x"}); err == nil {
		t.Fatal("a link outside was opened")
	}
}

// With NoSize, files are listed without their size, and open as before.
func TestWalkNoSize(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "f"), []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	var got []Entry
	if err := Walk(root, Options{NoSize: true}, func(e Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Kind != File || got[0].Size != -1 {
		t.Fatalf("%+v", got)
	}
	fh, info, err := got[0].Open()
	if err != nil || info.Size() != 5 {
		t.Fatalf("%v %v", info, err)
	}
	fh.Close()
}
