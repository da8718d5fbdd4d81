package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// hfServer serves the Hugging Face API layout for one repository at one
// commit: /api/models/{repo}/revision/{rev}, /api/models/{repo}/tree/{sha}
// and /{repo}/resolve/{sha}/{path}, with Range requests.
type hfServer struct {
	*httptest.Server
	repo   string
	commit string
	files  map[string][]byte
	// lfs marks the files the API gives a SHA-256 for.
	lfs map[string]bool
	// lie replaces the stated SHA-256 of a file.
	lie map[string]string
	// noBlobs answers model info without sizes (a mirror ignoring
	// blobs=true): the client must read the tree.
	noBlobs bool
	// cutOnce cuts the body of this file halfway, once.
	cutOnce string
	// failInfo makes the first n model info requests answer 503.
	failInfo int

	mu       sync.Mutex
	cut      bool
	ranges   []string
	auth     []string
	requests []string
}

func newHFServer(t *testing.T, repo string, files map[string][]byte) *hfServer {
	s := &hfServer{repo: repo, commit: strings.Repeat("ab", 20), files: files, lfs: map[string]bool{}, lie: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (s *hfServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.URL.Path)
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.mu.Unlock()
	p := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(p, "/api/models/"+s.repo+"/revision/"):
		s.mu.Lock()
		fail := s.failInfo > 0
		s.failInfo--
		s.mu.Unlock()
		if fail {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		rev := strings.TrimPrefix(p, "/api/models/"+s.repo+"/revision/")
		if rev != "main" && rev != s.commit {
			http.NotFound(w, r)
			return
		}
		var siblings []map[string]any
		for name, b := range s.files {
			sib := map[string]any{"rfilename": name}
			if !s.noBlobs && r.URL.Query().Get("blobs") == "true" {
				sib["size"] = len(b)
				if s.lfs[name] {
					sib["lfs"] = map[string]any{"sha256": s.stated(name), "size": len(b), "pointerSize": 130}
				}
			}
			siblings = append(siblings, sib)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": s.repo, "sha": s.commit, "siblings": siblings})
	case p == "/api/models/"+s.repo+"/tree/"+s.commit:
		var tree []map[string]any
		for name, b := range s.files {
			e := map[string]any{"type": "file", "path": name, "size": len(b), "oid": "0000"}
			if s.lfs[name] {
				e["lfs"] = map[string]any{"oid": s.stated(name), "size": len(b), "pointerSize": 130}
			}
			tree = append(tree, e, map[string]any{"type": "directory", "path": "somedir", "size": 0})
		}
		_ = json.NewEncoder(w).Encode(tree)
	case strings.HasPrefix(p, "/"+s.repo+"/resolve/"+s.commit+"/"):
		name := strings.TrimPrefix(r.URL.Path, "/"+s.repo+"/resolve/"+s.commit+"/")
		b, ok := s.files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		start := 0
		if rg := r.Header.Get("Range"); rg != "" {
			s.mu.Lock()
			s.ranges = append(s.ranges, rg)
			s.mu.Unlock()
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
			if err != nil || n > len(b) {
				w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
				return
			}
			start = n
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, len(b)-1, len(b)))
			w.Header().Set("Content-Length", strconv.Itoa(len(b)-n))
			w.WriteHeader(http.StatusPartialContent)
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		}
		s.mu.Lock()
		cut := name == s.cutOnce && !s.cut && start == 0
		if cut {
			s.cut = true
		}
		s.mu.Unlock()
		if cut {
			_, _ = w.Write(b[:len(b)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drop the connection halfway
		}
		_, _ = w.Write(b[start:])
	default:
		http.NotFound(w, r)
	}
}

func (s *hfServer) stated(name string) string {
	if v, ok := s.lie[name]; ok {
		return v
	}
	return sha(s.files[name])
}

func hfOpts(s *hfServer) Options {
	return Options{HFEndpoint: s.URL, Limits: Limits{Backoff: time.Millisecond, Timeout: 5 * time.Second}}
}

func TestHFFetchPinsAndResumes(t *testing.T) {
	big := []byte(strings.Repeat("weights!", 50_000))
	s := newHFServer(t, "org/model", map[string][]byte{
		"config.json":            []byte(`{"a":1}`),
		"model.safetensors":      big,
		"sub/dir/tokenizer.json": []byte(`{}`),
		"weird name #1?.txt":     []byte("x"),
	})
	s.lfs["model.safetensors"] = true
	s.cutOnce = "model.safetensors"
	s.failInfo = 1
	opts := hfOpts(s)
	opts.HFToken = "secret"
	src, err := Open(context.Background(), "hf://org/model", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if want := "hf://org/model@" + s.commit; src.Location() != want {
		t.Errorf("Location = %q, want %q", src.Location(), want)
	}
	if v := src.(Versioned).Version(); v != s.commit {
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
		if string(b) != string(s.files[e.Path]) || e.SHA256 != sha(b) || e.Size != int64(len(b)) {
			t.Errorf("%s: wrong content or entry %+v", e.Path, e)
		}
	}
	if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %v, want 0700", info.Mode().Perm())
	}
	if want := fmt.Sprintf("bytes=%d-", len(big)/2); len(s.ranges) != 1 || s.ranges[0] != want {
		t.Errorf("ranges %v, want one %s (the resume)", s.ranges, want)
	}
	for i, a := range s.auth {
		if a != "Bearer secret" {
			t.Errorf("request %s sent Authorization %q", s.requests[i], a)
		}
	}
}

func TestHFTreeFallbackAndRevision(t *testing.T) {
	s := newHFServer(t, "gpt2", map[string][]byte{"pytorch_model.bin": []byte("pickle?")})
	s.noBlobs = true
	s.lfs["pytorch_model.bin"] = true
	src, err := Open(context.Background(), "hf://gpt2@"+s.commit, hfOpts(s))
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := src.List(context.Background())
	if len(entries) != 1 || entries[0].Size != 7 || entries[0].SHA256 != sha([]byte("pickle?")) {
		t.Errorf("entries from the tree: %+v", entries)
	}
	if _, err := Open(context.Background(), "hf://gpt2@v9", hfOpts(s)); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown revision: %v", err)
	}
}

func TestHFFetchRefusesWrongDigest(t *testing.T) {
	s := newHFServer(t, "org/model", map[string][]byte{"model.bin": []byte("tampered")})
	s.lfs["model.bin"] = true
	s.lie["model.bin"] = sha([]byte("original"))
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
	s := newHFServer(t, "org/model", map[string][]byte{"a": []byte("a")})
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
