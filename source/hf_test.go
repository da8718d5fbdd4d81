package source

import (
	"context"
	"fmt"
	"github.com/violet-mlsecops/violet/source/sourcetest"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func hfOpts(s *sourcetest.HF) Options {
	return Options{HFEndpoint: s.URL, Limits: Limits{Backoff: time.Millisecond, Timeout: 5 * time.Second}}
}

func TestHFFetchPinsAndResumes(t *testing.T) {
	big := []byte(strings.Repeat("weights!", 50_000))
	s := sourcetest.NewHF(t, "org/model", map[string][]byte{
		"config.json":            []byte(`{"a":1}`),
		"model.safetensors":      big,
		"sub/dir/tokenizer.json": []byte(`{}`),
		"weird name #1?.txt":     []byte("x"),
	})
	s.LFS["model.safetensors"] = true
	s.CutOnce = "model.safetensors"
	s.FailInfo = 1
	opts := hfOpts(s)
	opts.HFToken = "secret"
	src, err := Open(context.Background(), "hf://org/model", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if want := "hf://org/model@" + s.Commit; src.Location() != want {
		t.Errorf("Location = %q, want %q", src.Location(), want)
	}
	if v := src.(Versioned).Version(); v != s.Commit {
		t.Errorf("Version = %q", v)
	}
	dir := filepath.Join(t.TempDir(), "fetched")
	got, err := Fetch(context.Background(), src, dir, opts.Limits)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("fetched %v", got)
	}
	for _, e := range got {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(s.Files[e.Path]) || e.SHA256 != sourcetest.SHA256(b) || e.Size != int64(len(b)) {
			t.Errorf("%s: wrong content or entry %+v", e.Path, e)
		}
	}
	if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %v, want 0700", info.Mode().Perm())
	}
	if want := fmt.Sprintf("bytes=%d-", len(big)/2); len(s.Ranges()) != 1 || s.Ranges()[0] != want {
		t.Errorf("ranges %v, want one %s (the resume)", s.Ranges(), want)
	}
	for p, a := range s.Auth() {
		if a != "Bearer secret" {
			t.Errorf("request %s sent Authorization %q", p, a)
		}
	}
}

func TestHFTreeFallbackAndRevision(t *testing.T) {
	s := sourcetest.NewHF(t, "gpt2", map[string][]byte{"pytorch_model.bin": []byte("pickle?")})
	s.NoBlobs = true
	s.LFS["pytorch_model.bin"] = true
	src, err := Open(context.Background(), "hf://gpt2@"+s.Commit, hfOpts(s))
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := src.List(context.Background())
	if len(entries) != 1 || entries[0].Size != 7 || entries[0].SHA256 != sourcetest.SHA256([]byte("pickle?")) {
		t.Errorf("entries from the tree: %+v", entries)
	}
	paged := sourcetest.NewHF(t, "org/many", map[string][]byte{"a": []byte("a"), "b/c": []byte("bc"), "d": []byte("d"), "e": []byte("e")})
	paged.NoBlobs, paged.TreePage = true, 3
	src, err = Open(context.Background(), "hf://org/many", hfOpts(paged))
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := src.List(context.Background()); len(entries) != 4 || entries[1].Path != "b/c" || entries[1].Size != 2 {
		t.Errorf("entries from two tree pages: %+v", entries)
	}
	if _, err := Open(context.Background(), "hf://gpt2@v9", hfOpts(s)); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown revision: %v", err)
	}
}

func TestHFFetchRefusesWrongDigest(t *testing.T) {
	s := sourcetest.NewHF(t, "org/model", map[string][]byte{"model.bin": []byte("tampered")})
	s.LFS["model.bin"] = true
	s.Lie["model.bin"] = sourcetest.SHA256([]byte("original"))
	src, err := Open(context.Background(), "hf://org/model", hfOpts(s))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, err = Fetch(context.Background(), src, dir, hfOpts(s).Limits)
	if err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Fatalf("Fetch of a file whose digest differs: %v", err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Errorf("left %v in the folder", left)
	}
}

func TestHFRefusesBadAnswers(t *testing.T) {
	for name, body := range map[string]string{
		"escape":   `{"sha":"` + strings.Repeat("a", 40) + `","siblings":[{"rfilename":"../../etc/passwd"}]}`,
		"absolute": `{"sha":"` + strings.Repeat("a", 40) + `","siblings":[{"rfilename":"/etc/passwd"}]}`,
		"commit":   `{"sha":"main","siblings":[]}`,
		"bad lfs":  `{"sha":"` + strings.Repeat("a", 40) + `","siblings":[{"rfilename":"a","size":1,"lfs":{"sha256":"zz","size":1}}]}`,
		"size":     `{"sha":"` + strings.Repeat("a", 40) + `","siblings":[{"rfilename":"a","size":-5}]}`,
		"not json": `<html>`,
	} {
		if _, err := ParseHFModelInfo([]byte(body), 10); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	many := `{"sha":"` + strings.Repeat("a", 40) + `","siblings":[{"rfilename":"a"},{"rfilename":"b"}]}`
	if _, err := ParseHFModelInfo([]byte(many), 1); err == nil {
		t.Error("more siblings than the limit: accepted")
	}
}

func TestHFMetadataLimitAndRedirects(t *testing.T) {
	s := sourcetest.NewHF(t, "org/model", map[string][]byte{"a": []byte("a")})
	opts := hfOpts(s)
	opts.Limits.MaxMetadata = 10
	if _, err := Open(context.Background(), "hf://org/model", opts); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("answer over the limit: %v", err)
	}
	redir := httptest.NewServer(http.RedirectHandler("file:///etc/passwd", http.StatusFound))
	defer redir.Close()
	if _, err := Open(context.Background(), "hf://org/model", Options{HFEndpoint: redir.URL, Limits: Limits{Retries: -1}}); err == nil || !strings.Contains(err.Error(), "only http and https") {
		t.Errorf("redirect to file://: %v", err)
	}
}

func TestParseHF(t *testing.T) {
	for in, want := range map[string]string{
		"hf://org/model":           "org/model main",
		"hf://gpt2":                "gpt2 main",
		"hf://org/model@refs/pr/1": "org/model refs/pr/1",
	} {
		repo, rev, err := ParseHF(in)
		if err != nil || repo+" "+rev != want {
			t.Errorf("ParseHF(%q) = %q %q %v", in, repo, rev, err)
		}
	}
	for _, bad := range []string{"hf://", "hf://a/b/c", "hf://../x", "hf://org/model@", "hf://o rg/m"} {
		if _, _, err := ParseHF(bad); err == nil {
			t.Errorf("ParseHF(%q) accepted", bad)
		}
	}
}

// TestHFTokenNotSentToCDN: a file redirected to another host (the CDN of
// large files) is fetched without the token.
func TestHFTokenNotSentToCDN(t *testing.T) {
	files := map[string][]byte{"model.bin": []byte("weights")}
	cdn := sourcetest.NewHF(t, "org/model", files)
	hub := sourcetest.NewHF(t, "org/model", files)
	hub.Redirect = cdn.URL
	opts := hfOpts(hub)
	opts.HFToken = "secret"
	src, err := Open(context.Background(), "hf://org/model", opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Fetch(context.Background(), src, t.TempDir(), opts.Limits); err != nil {
		t.Fatal(err)
	}
	if cdn.Requests() != 1 {
		t.Fatalf("the CDN had %d requests", cdn.Requests())
	}
	for p, a := range cdn.Auth() {
		if a != "" {
			t.Errorf("the CDN got Authorization %q for %s", a, p)
		}
	}
}

// TestHFStalledDownload: a download that stops sending is cut after the
// timeout and resumed; one that always stalls fails, it does not hang.
func TestHFStalledDownload(t *testing.T) {
	s := sourcetest.NewHF(t, "org/model", map[string][]byte{"model.bin": []byte(strings.Repeat("w", 1000))})
	s.Stall = true
	opts := hfOpts(s)
	opts.Limits.Timeout = 100 * time.Millisecond
	opts.Limits.Retries = 2
	src, err := Open(context.Background(), "hf://org/model", opts)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Fetch(context.Background(), src, t.TempDir(), opts.Limits)
	if err == nil {
		t.Fatal("a stalled download was accepted")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %s", d)
	}
	if len(s.Ranges()) != 2 {
		t.Errorf("ranges %v, want 2 resumes", s.Ranges())
	}
}
