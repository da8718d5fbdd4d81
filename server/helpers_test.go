package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/internal/pgtest"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
	"github.com/violet-mlsecops/violet/store"
)

// env is a server on a fresh store, on 127.0.0.1.
type env struct {
	t   *testing.T
	st  *store.Store
	srv *httptest.Server
	// adminTeam is the built-in team AdminTeam, and admin a token of role
	// admin in it.
	adminTeam store.Team
	admin     string
}

// backend names a database the store runs on.
type backend struct {
	name string
	// dsn returns a fresh, empty data folder or database URL.
	dsn func(t *testing.T) string
}

// backends are the databases of the store: embedded SQLite, and the
// PostgreSQL of VIOLET_TEST_POSTGRES (skipped when unset, failed when
// CI=true and unset: internal/pgtest).
var backends = []backend{
	{"sqlite", func(t *testing.T) string { return t.TempDir() }},
	{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
}

// eachBackend runs f once per backend, as subtests named after it, each on
// a fresh database.
func eachBackend(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b.dsn(t)) })
	}
}

var system = store.Actor{Name: "test"}

// newEnv starts a server on a store in a temporary folder (SQLite), or on
// dsn (a data folder or a postgres:// URL: see eachBackend).
func newEnv(t *testing.T, dsn string, opts Options) *env {
	t.Helper()
	if dsn == "" {
		dsn = t.TempDir()
	}
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(New(st, opts))
	t.Cleanup(srv.Close)
	e := &env{t: t, st: st, srv: srv}
	e.adminTeam = e.team(AdminTeam)
	e.admin = e.token(e.adminTeam, "root", store.RoleAdmin)
	return e
}

func (e *env) team(name string) store.Team {
	e.t.Helper()
	t, err := e.st.CreateTeam(context.Background(), system, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

// token creates a user login with role in team and returns a token.
func (e *env) token(team store.Team, login string, role store.Role) string {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.st.UserByLogin(ctx, login)
	if err != nil {
		if u, err = e.st.CreateUser(ctx, system, login, "", ""); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := e.st.AddMember(ctx, system, store.Membership{TeamID: team.ID, UserID: u.ID, Role: role}); err != nil {
		e.t.Fatal(err)
	}
	secret, _, err := e.st.CreateToken(ctx, system, store.TokenSpec{Name: login, UserID: u.ID, TeamID: team.ID, Role: role,
		ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// response is an answer of the server.
type response struct {
	status int
	body   []byte
}

func (r response) code() string {
	var b errorBody
	if json.Unmarshal(r.body, &b) != nil {
		return ""
	}
	return b.Error.Code
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
}

// do sends a request; body is JSON-encoded unless it is []byte or an
// io.Reader.
func (e *env) do(method, path, token string, body any) response {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case io.Reader:
		r = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{resp.StatusCode, data}
}

// must checks the status of a response.
func (e *env) must(want int, r response) response {
	e.t.Helper()
	if r.status != want {
		e.t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	return r
}

// modelDir writes a model folder: the malicious pickle of testdata and a
// benign file, and returns it with its files.
func modelDir(t *testing.T) (string, []store.File) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "my-model")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	evil, err := os.ReadFile(filepath.Join("..", "testdata", "models", "malicious", "pickle", "system_p0.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	contents := map[string][]byte{"model.pkl": evil, "sub/README.md": []byte("# a model\n")}
	var files []store.File
	for name, data := range contents {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		files = append(files, store.File{Path: name, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))})
	}
	return dir, files
}

// scanJSON scans dir as violet scan --upload does and returns the report.
func scanJSON(t *testing.T, dir string) []byte {
	t.Helper()
	r, err := scan.Scan(context.Background(), []string{dir}, scan.Options{
		Analyzers: scan.Analyzers(pickle.DefaultPolicy()), Limits: analyzer.DefaultLimits(), Digest: true, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := report.WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// versionPath is the path of a model's version.
func versionPath(model string, files []store.File) string {
	return "/api/v1/models/" + model + "/versions/" + RootDigest(files)
}

// putModel creates a model with a version of files with token.
func (e *env) putModel(token, name string, files []store.File) {
	e.t.Helper()
	e.must(http.StatusCreated, e.do("POST", "/api/v1/models", token, map[string]string{
		"name": name, "source_kind": "path", "source_ref": "/models/" + name}))
	e.must(http.StatusCreated, e.do("PUT", versionPath(name, files), token, map[string]any{"label": "v1", "files": files}))
}

// contains reports whether the body holds s.
func (r response) contains(s string) bool { return strings.Contains(string(r.body), s) }

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
