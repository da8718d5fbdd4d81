package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// meddler is an analyzer that changes the file it analyzes, as a process
// writing to the folder during the scan would: named "rename*", the file
// is replaced by another one; "write*", overwritten in place; "restore*",
// overwritten and then restored, times included. Then it reads the input
// to the end.
type meddler struct{}

func (meddler) Name() string    { return "meddler" }
func (meddler) Version() string { return "1" }
func (meddler) Sniff(in *analyzer.Input) bool {
	return strings.HasPrefix(in.Name, "rename") || strings.HasPrefix(in.Name, "write") || strings.HasPrefix(in.Name, "restore")
}
func (meddler) Analyze(_ context.Context, in *analyzer.Input, _ analyzer.Output) error {
	path := in.Location.Path
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	original, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	other := bytes.Repeat([]byte{'x'}, len(original))
	switch {
	case strings.HasPrefix(in.Name, "rename"):
		if err := os.WriteFile(path+".new", other, 0o644); err != nil {
			return err
		}
		err = os.Rename(path+".new", path)
	case strings.HasPrefix(in.Name, "write"):
		err = os.WriteFile(path, other, 0o644)
	default:
		if err = os.WriteFile(path, other, 0o644); err == nil {
			if err = os.WriteFile(path, original, 0o644); err == nil {
				err = os.Chtimes(path, info.ModTime(), info.ModTime())
			}
		}
	}
	if err != nil {
		return err
	}
	r, err := in.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(io.Discard, r)
	return err
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestScanDigest: with Options.Digest, each file's SHA256 is that of the
// bytes the scan analyzed: a file written in place, or replaced, while the
// scan read it from disk gets none, and a SCAN-ERROR finding; a small file
// is analyzed from the bytes hashed, held in memory.
func TestScanDigest(t *testing.T) {
	dir := t.TempDir()
	small := []byte("small file, read whole into memory")
	large := bytes.Repeat([]byte("large file, read from disk. "), 10000) // > smallFile
	files := map[string][]byte{
		"plain.txt": small, "plain-large.dat": large,
		"rename-large.dat": large, "write-small.dat": small,
		"write-large.dat": large, "restore-large.dat": large,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts := defaultOptions()
	opts.Analyzers = append([]analyzer.Analyzer{meddler{}}, opts.Analyzers...)
	opts.Digest = true
	r, err := Scan(context.Background(), []string{dir}, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"plain.txt": hexSHA256(small), "plain-large.dat": hexSHA256(large),
		"write-small.dat": hexSHA256(small), // analyzed from memory: the bytes hashed
		"write-large.dat": "",
		// The descriptor still reads the bytes scanned, but the path no
		// longer holds them (the change time of the file scanned tells).
		"rename-large.dat": "",
		// Same bytes, same times: the change time tells.
		"restore-large.dat": "",
	}
	if runtime.GOOS != "linux" {
		delete(want, "restore-large.dat")
		delete(want, "rename-large.dat")
	}
	for _, f := range r.Files {
		name := filepath.Base(f.Path)
		w, ok := want[name]
		if !ok {
			continue
		}
		if f.SHA256 != w {
			t.Errorf("%s: digest %q, want %q", name, f.SHA256, w)
		}
		changed := false
		for _, x := range f.Findings {
			changed = changed || x.Rule == finding.ScanError && strings.Contains(x.Message, "changed while it was scanned")
		}
		if changed != (w == "") || (w == "") != f.Incomplete {
			t.Errorf("%s: incomplete %v, findings %+v", name, f.Incomplete, f.Findings)
		}
	}
	// Without Digest, no digest.
	r, err = Scan(context.Background(), []string{filepath.Join(dir, "plain.txt")}, defaultOptions())
	if err != nil || r.Files[0].SHA256 != "" {
		t.Errorf("no Digest: %v %+v", err, r.Files)
	}
}

// TestDigests lists and hashes a folder as the scan reads it: links
// inside followed, links out of it, configurations and placeholders not
// read, version control folders skipped.
func TestDigests(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "model")
	for name, data := range map[string]string{
		"a.bin": "a", "sub/b.bin": "b", ".git/HEAD": "ref", ".violet.yaml": "fail_on: low\n",
		"lfs.bin": "version https://git-lfs.github.com/spec/v1\noid sha256:" + strings.Repeat("0", 64) + "\nsize 12345\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(top, "outside.pkl")
	if err := os.WriteFile(outside, []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "out.pkl")); err != nil {
		t.Skip(err)
	}
	if err := os.Symlink("sub/b.bin", filepath.Join(dir, "in.bin")); err != nil {
		t.Fatal(err)
	}
	got, err := Digests(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]FileDigest{}
	for _, d := range got {
		rel, _ := filepath.Rel(dir, d.Path)
		byName[filepath.ToSlash(rel)] = d
	}
	for name, want := range map[string]string{"a.bin": hexSHA256([]byte("a")), "sub/b.bin": hexSHA256([]byte("b")), "in.bin": hexSHA256([]byte("b"))} {
		if d := byName[name]; d.SHA256 != want || d.NotRead != "" {
			t.Errorf("%s: %+v, want digest %s", name, d, want)
		}
	}
	for name, why := range map[string]string{"out.pkl": "outside", ".violet.yaml": "configuration"} {
		if d := byName[name]; d.SHA256 != "" || !strings.Contains(d.NotRead, why) {
			t.Errorf("%s: %+v, want not read (%s)", name, d, why)
		}
	}
	if _, ok := byName[".git/HEAD"]; ok || len(byName) != 7-1 {
		t.Errorf("files %v", byName)
	}
	// A single file, and a file that cannot be listed.
	if got, err := Digests(context.Background(), filepath.Join(dir, "a.bin")); err != nil || len(got) != 1 || got[0].SHA256 != hexSHA256([]byte("a")) {
		t.Errorf("single file: %+v %v", got, err)
	}
	if _, err := Digests(context.Background(), filepath.Join(dir, "absent")); err == nil {
		t.Error("absent target: no error")
	}
}
