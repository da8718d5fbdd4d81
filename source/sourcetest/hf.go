// Package sourcetest serves models the way remote sources do, on
// 127.0.0.1, for tests: the Hugging Face API layout, an S3-compatible store
// and an OCI registry.
package sourcetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// HF serves the Hugging Face API layout for one repository at one
// commit: /api/models/{repo}/revision/{rev}, /api/models/{repo}/tree/{sha}
// and /{repo}/resolve/{sha}/{path}, with Range requests.
type HF struct {
	*httptest.Server
	Repo   string
	Commit string
	Files  map[string][]byte
	// LFS marks the files the API gives a SHA-256 for.
	LFS map[string]bool
	// Lie replaces the stated SHA-256 of a file.
	Lie map[string]string
	// NoBlobs answers model info without sizes (a mirror ignoring
	// blobs=true): the client must read the tree.
	NoBlobs bool
	// CutOnce cuts the body of this file halfway, once.
	CutOnce string
	// FailInfo makes the first n model info requests answer 503.
	FailInfo int
	// TreePage, when set, pages the tree API by that many files (a
	// cursor and a Link header).
	TreePage int
	// Redirect, when set, answers file requests with a redirect to the
	// same path under this URL (a CDN).
	Redirect string
	// Stall makes file requests send half the file and then wait until
	// the request ends.
	Stall bool

	mu       sync.Mutex
	cut      bool
	ranges   []string
	auth     []string
	requests []string
}

// NewHF serves files as the repository repo at one commit (Commit), until
// the test ends.
func NewHF(t testing.TB, repo string, files map[string][]byte) *HF {
	s := &HF{Repo: repo, Commit: strings.Repeat("ab", 20), Files: files, LFS: map[string]bool{}, Lie: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// SHA256 is the hex SHA-256 of b.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (s *HF) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.URL.Path)
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.mu.Unlock()
	p := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(p, "/api/models/"+s.Repo+"/revision/"):
		s.mu.Lock()
		fail := s.FailInfo > 0
		s.FailInfo--
		s.mu.Unlock()
		if fail {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		rev := strings.TrimPrefix(p, "/api/models/"+s.Repo+"/revision/")
		if rev != "main" && rev != s.Commit {
			http.NotFound(w, r)
			return
		}
		var siblings []map[string]any
		for name, b := range s.Files {
			sib := map[string]any{"rfilename": name}
			if !s.NoBlobs && r.URL.Query().Get("blobs") == "true" {
				sib["size"] = len(b)
				if s.LFS[name] {
					sib["lfs"] = map[string]any{"sha256": s.stated(name), "size": len(b), "pointerSize": 130}
				}
			}
			siblings = append(siblings, sib)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": s.Repo, "sha": s.Commit, "siblings": siblings})
	case p == "/api/models/"+s.Repo+"/tree/"+s.Commit:
		names := make([]string, 0, len(s.Files))
		for name := range s.Files {
			names = append(names, name)
		}
		sort.Strings(names)
		if s.TreePage > 0 {
			// One page from the cursor (an index), a Link to the next.
			start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
			start = min(start, len(names))
			end := min(start+s.TreePage, len(names))
			if end < len(names) {
				w.Header().Set("Link", fmt.Sprintf(`<%s?recursive=true&cursor=%d>; rel="next"`, r.URL.Path, end))
			}
			names = names[start:end]
		}
		tree := []map[string]any{{"type": "directory", "path": "somedir", "size": 0}}
		for _, name := range names {
			b := s.Files[name]
			e := map[string]any{"type": "file", "path": name, "size": len(b), "oid": "0000"}
			if s.LFS[name] {
				e["lfs"] = map[string]any{"oid": s.stated(name), "size": len(b), "pointerSize": 130}
			}
			tree = append(tree, e)
		}
		_ = json.NewEncoder(w).Encode(tree)
	case strings.HasPrefix(p, "/"+s.Repo+"/resolve/"+s.Commit+"/"):
		if s.Redirect != "" {
			http.Redirect(w, r, s.Redirect+r.URL.EscapedPath(), http.StatusFound)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/"+s.Repo+"/resolve/"+s.Commit+"/")
		b, ok := s.Files[name]
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
		cut := name == s.CutOnce && !s.cut && start == 0
		if cut {
			s.cut = true
		}
		s.mu.Unlock()
		if cut {
			_, _ = w.Write(b[:len(b)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drop the connection halfway
		}
		if s.Stall {
			_, _ = w.Write(b[start : start+(len(b)-start)/2])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		_, _ = w.Write(b[start:])
	default:
		http.NotFound(w, r)
	}
}

// stated is the SHA-256 the API states for a file.
func (s *HF) stated(name string) string {
	if v, ok := s.Lie[name]; ok {
		return v
	}
	return SHA256(s.Files[name])
}

// Ranges returns the Range headers of the file requests so far.
func (s *HF) Ranges() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

// Auth returns the Authorization header of every request so far, with the
// request's path.
func (s *HF) Auth() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for i, a := range s.auth {
		out[s.requests[i]] = a
	}
	return out
}

// Requests counts the requests so far.
func (s *HF) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}
