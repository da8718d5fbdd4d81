package source

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/source/sourcetest"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLocalFetch(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"model.bin": "abc", "sub/config.json": "{}"})
	src, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Location() != dir {
		t.Errorf("Location %q, want %q", src.Location(), dir)
	}
	v1 := src.(Versioned).Version()
	out := filepath.Join(t.TempDir(), "copy")
	got, err := Fetch(context.Background(), src, out, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Path != "model.bin" || got[0].SHA256 != sourcetest.SHA256([]byte("abc")) || got[1].Path != "sub/config.json" {
		t.Errorf("fetched %+v", got)
	}
	b, _ := os.ReadFile(filepath.Join(out, "sub", "config.json"))
	if string(b) != "{}" {
		t.Errorf("copy holds %q", b)
	}
	writeFiles(t, dir, map[string]string{"model.bin": "abcd"})
	src2, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if src2.(Versioned).Version() == v1 {
		t.Error("the version did not change with the content")
	}
}

func TestLocalSingleFileAndLinks(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"m.pt": "x"})
	src, err := Open(context.Background(), filepath.Join(dir, "m.pt"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := src.List(context.Background())
	if len(entries) != 1 || entries[0].Path != "m.pt" || entries[0].Size != 1 {
		t.Errorf("entries %+v", entries)
	}
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret": "s"})
	model := t.TempDir()
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(model, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), model, Options{}); err == nil || !strings.Contains(err.Error(), "link outside") {
		t.Errorf("a link out of the folder: %v", err)
	}
}

func TestOpenUnsupported(t *testing.T) {
	for _, loc := range []string{"http://example.com/m", "gs://bucket/m"} {
		if _, err := Open(context.Background(), loc, Options{}); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Open(%q): %v", loc, err)
		}
	}
	for loc, want := range map[string]bool{"hf://a/b": true, "s3://b/p": true, "oci://r/m:t": true, "./hf:/x": false, "/tmp/m": false} {
		if IsRemote(loc) != want {
			t.Errorf("IsRemote(%q) != %v", loc, want)
		}
	}
}

func TestCheckPath(t *testing.T) {
	for _, ok := range []string{"a", "a/b.bin", "..a", "a..b/c"} {
		if err := CheckPath(ok); err != nil {
			t.Errorf("CheckPath(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "../a", "a/../../b", "/etc/passwd", "a//b", "a/./b", "a\\b", "c:x", "a\x00"} {
		if CheckPath(bad) == nil {
			t.Errorf("CheckPath(%q) accepted", bad)
		}
	}
}

// memSource is a Source whose files are in memory: the listing is
// whatever the test says, to check what Fetch refuses.
type memSource struct {
	entries []Entry
	files   map[string]string
}

func (m *memSource) Location() string                      { return "mem://" }
func (m *memSource) List(context.Context) ([]Entry, error) { return m.entries, nil }
func (m *memSource) Close() error                          { return nil }
func (m *memSource) Open(_ context.Context, p string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(m.files[p])), nil
}

func TestFetchRefuses(t *testing.T) {
	for name, src := range map[string]*memSource{
		"escape":      {entries: []Entry{{Path: "../x", Size: 1}}},
		"absolute":    {entries: []Entry{{Path: "/tmp/x", Size: 1}}},
		"twice":       {entries: []Entry{{Path: "a", Size: -1}, {Path: "a", Size: -1}}},
		"file+folder": {entries: []Entry{{Path: "a", Size: -1}, {Path: "a/b", Size: -1}}},
		"longer":      {entries: []Entry{{Path: "a", Size: 2}}, files: map[string]string{"a": "abc"}},
		"shorter":     {entries: []Entry{{Path: "a", Size: 4}}, files: map[string]string{"a": "abc"}},
		"over limit":  {entries: []Entry{{Path: "a", Size: -1}}, files: map[string]string{"a": strings.Repeat("x", 11)}},
		"too many":    {entries: []Entry{{Path: "a", Size: -1}, {Path: "b", Size: -1}, {Path: "c", Size: -1}}},
	} {
		dir := t.TempDir()
		_, err := Fetch(context.Background(), src, dir, Limits{MaxFileSize: 10, MaxFiles: 2, Retries: -1})
		if err == nil {
			t.Errorf("%s: fetched", name)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "x")); err == nil {
			t.Errorf("%s: wrote outside the folder", name)
		}
	}
}

func TestFetchResumesPartialFile(t *testing.T) {
	dir := t.TempDir()
	content := bytes.Repeat([]byte("0123456789"), 100)
	writeFiles(t, dir, map[string]string{"m.bin": string(content)})
	src, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	// An interrupted Fetch left the first half.
	writeFiles(t, out, map[string]string{"m.bin" + partialSuffix: string(content[:500])})
	got, err := Fetch(context.Background(), src, out, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].SHA256 != sourcetest.SHA256(content) {
		t.Error("the resumed file's digest is not the file's")
	}
	if _, err := os.Stat(filepath.Join(out, "m.bin"+partialSuffix)); err == nil {
		t.Error("the partial file is left")
	}
}

// TestLimitsWithDefaultsIdempotent: setting the defaults twice (Open, then
// the scheme's opener) keeps "no retries" (-1) and every value given.
func TestLimitsWithDefaultsIdempotent(t *testing.T) {
	for _, l := range []Limits{{}, {Retries: -1}, {Retries: 2, Timeout: time.Second}} {
		once := l.WithDefaults()
		if twice := once.WithDefaults(); twice != once {
			t.Errorf("%+v: once %+v, twice %+v", l, once, twice)
		}
	}
	if r := (Limits{Retries: -1}).WithDefaults().retries(); r != 0 {
		t.Errorf("Retries -1: %d retries, want none", r)
	}
}
