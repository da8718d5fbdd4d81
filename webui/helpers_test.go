package webui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/store"
)

// xss is the payload put in every text a user can control.
const xss = `<script>alert(1)</script>`

var admin = store.Actor{Name: "setup", Remote: "127.0.0.1:1"}

// world is a store with two teams:
//
//	team A: alice (security), bob (viewer), model "<script>... model" (hub id org/<script>...)
//	team B: carol (ml-engineer), model "secret-model"
type world struct {
	st                 *store.Store
	dir                string // the SQLite data folder
	teamA, teamB       store.Team
	modelA, modelB     store.Model
	versionA, versionB store.Version
	findingA, findingB int64
	fileSHA            string
	alice, bob, carol  string // logins; every password is password+login
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// hashes caches password hashes: each takes a tenth of a second.
var hashes sync.Map

func hashFor(t *testing.T, password string) string {
	t.Helper()
	if h, ok := hashes.Load(password); ok {
		return h.(string)
	}
	h, err := store.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	hashes.Store(password, h)
	return h
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// scanReport is a scan report of one file with one finding of severity sev
// (none when sev is 0), as violet scan --format json writes it.
func scanReport(t *testing.T, sev finding.Severity, message string) []byte {
	t.Helper()
	f := map[string]any{"path": "model.pkl", "size": 10, "sha256": sha("weights"), "formats": []string{"pickle"}, "findings": []any{}}
	if sev != 0 {
		f["findings"] = []any{map[string]any{"rule": "PICKLE-EXEC", "severity": sev.String(), "title": "t",
			"message": message, "location": map[string]any{"path": "model.pkl", "offset": 3}}}
	}
	b, err := json.Marshal(map[string]any{"schema_version": "1.1.0", "tool": map[string]any{"name": "violet"},
		"fail_on": "high", "summary": map[string]any{}, "files": []any{f}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &world{st: st, dir: dir, alice: "alice", bob: "bob", carol: "carol", fileSHA: sha("weights")}
	w.teamA = must[store.Team](t)(st.CreateTeam(ctx, admin, "Team "+xss))
	w.teamB = must[store.Team](t)(st.CreateTeam(ctx, admin, "team-b"))
	for _, u := range []struct {
		login string
		team  store.Team
		role  store.Role
	}{{w.alice, w.teamA, store.RoleSecurity}, {w.bob, w.teamA, store.RoleViewer}, {w.carol, w.teamB, store.RoleMLEngineer}} {
		user := must[store.User](t)(st.CreateUser(ctx, admin, u.login, u.login, hashFor(t, "password"+u.login)))
		if err := st.AddMember(ctx, admin, store.Membership{TeamID: u.team.ID, UserID: user.ID, Role: u.role}); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(team store.Team, name, ref string) (store.Model, store.Version, int64) {
		m := must[store.Model](t)(st.CreateModel(ctx, admin, store.Model{TeamID: team.ID, Name: name,
			SourceKind: store.SourceHuggingFace, SourceRef: ref}))
		v, _, err := st.PutVersion(ctx, admin, m.ID, "sha256:"+sha(name), "v1", []store.File{
			{Path: "model.pkl", SHA256: w.fileSHA, Size: 10}, {Path: "config.json", SHA256: sha("config"), Size: 2}})
		if err != nil {
			t.Fatal(err)
		}
		uploader := store.Actor{Name: "ci " + xss, Remote: "127.0.0.1:2"}
		ev, _, err := st.AddEvidence(ctx, uploader, v.ID, store.EvidenceScan, scanReport(t, finding.Critical, "evidence "+xss))
		if err != nil {
			t.Fatal(err)
		}
		ids, err := st.RecordFindings(ctx, uploader, v.ID, ev.ID, []store.FindingInput{{Rule: "PICKLE-EXEC",
			FileSHA256: w.fileSHA, Location: "model.pkl@3 " + xss, Severity: finding.Critical, Message: "evidence " + xss}})
		if err != nil {
			t.Fatal(err)
		}
		return m, v, ids[0]
	}
	w.modelA, w.versionA, w.findingA = mk(w.teamA, xss+" model", "org/"+xss)
	w.modelB, w.versionB, w.findingB = mk(w.teamB, "secret-model", "other/secret")
	return w
}

// server serves the web UI of w over TLS (the session cookie is Secure).
func (w *world) server(t *testing.T, opts Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(New(w.st, opts))
	t.Cleanup(srv.Close)
	return srv
}

// client is a browser without JavaScript: cookies, no redirect following.
type client struct {
	t    *testing.T
	srv  *httptest.Server
	http *http.Client
}

func newClient(t *testing.T, srv *httptest.Server) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := *srv.Client() // a copy: Server.Client returns one shared client
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{t: t, srv: srv, http: &hc}
}

// response is a read response.
type response struct {
	*http.Response
	body string
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{resp, string(b)}
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

func (c *client) post(path string, form url.Values) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the page at path.
func (c *client) csrf(path string) string {
	c.t.Helper()
	r := c.get(path)
	m := csrfField.FindStringSubmatch(r.body)
	if m == nil {
		c.t.Fatalf("GET %s: %d, no CSRF token in the page", path, r.StatusCode)
	}
	return m[1]
}

// login signs in and fails the test unless it worked.
func (c *client) login(user string) {
	c.t.Helper()
	r := c.post("/login", url.Values{"csrf": {c.csrf("/login")}, "username": {user}, "password": {"password" + user}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		c.t.Fatalf("login %s: %d %s", user, r.StatusCode, r.body)
	}
}

// loggedIn returns a client signed in as user.
func loggedIn(t *testing.T, srv *httptest.Server, user string) *client {
	c := newClient(t, srv)
	c.login(user)
	return c
}

func wantStatus(t *testing.T, r response, code int) {
	t.Helper()
	if r.StatusCode != code {
		t.Fatalf("%s %s: status %d, want %d\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, code, r.body)
	}
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
