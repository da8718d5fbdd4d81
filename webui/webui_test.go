package webui

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	w := newWorld(t)
	srv := w.server(t, Options{})
	c := loggedIn(t, srv, w.alice)
	anon := newClient(t, srv)
	for _, r := range []response{
		anon.get("/login"), anon.get("/"), anon.get("/static/style.css"), anon.get("/nowhere"),
		c.get("/"), c.get("/search?q=x"), c.get(fmt.Sprintf("/models/%d", w.modelA.ID)),
		c.get(fmt.Sprintf("/models/%d/findings/%d", w.modelA.ID, w.findingA)), c.get(fmt.Sprintf("/models/%d", w.modelB.ID)),
	} {
		csp := r.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") ||
			strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", r.Request.URL.Path, csp)
		}
		if got := r.Header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s: X-Frame-Options %q", r.Request.URL.Path, got)
		}
		if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", r.Request.URL.Path, got)
		}
		if strings.Contains(r.body, "<script") {
			t.Errorf("%s: the page holds a script element", r.Request.URL.Path)
		}
	}
}

func TestLogin(t *testing.T) {
	w := newWorld(t)
	srv := w.server(t, Options{LoginBurst: 20})
	c := newClient(t, srv)
	wantStatus(t, c.get("/login"), http.StatusOK)
	if r := c.get("/"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("anonymous GET /: %d %q, want a redirect to /login", r.StatusCode, r.Header.Get("Location"))
	}
	for _, tc := range []struct{ user, password string }{
		{w.alice, "wrong"}, {"nobody", "passwordnobody"}, {w.alice, ""}, {"", "x"},
		{w.alice, strings.Repeat("p", maxPasswordLen+1)},
	} {
		r := c.post("/login", url.Values{"csrf": {c.csrf("/login")}, "username": {tc.user}, "password": {tc.password}})
		wantStatus(t, r, http.StatusUnauthorized)
		if !strings.Contains(r.body, "Wrong username or password") {
			t.Errorf("login %q/%q: no error shown", tc.user, tc.password)
		}
	}
	r := c.post("/login", url.Values{"csrf": {c.csrf("/login")}, "username": {w.alice}, "password": {"password" + w.alice}})
	wantStatus(t, r, http.StatusSeeOther)
	var sess *http.Cookie
	for _, ck := range r.Cookies() {
		if ck.Name == sessionCookie {
			sess = ck
		}
	}
	if sess == nil || !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" ||
		len(sess.Value) < 43 {
		t.Fatalf("session cookie %+v: want Secure, HttpOnly, SameSite=Lax, Path=/, 256 random bits", sess)
	}
	wantStatus(t, c.get("/"), http.StatusOK)
	// A forged session id is anonymous.
	forged := newClient(t, srv)
	u, _ := url.Parse(srv.URL)
	first := "x"
	if sess.Value[0] == 'x' { // the forged id must differ from the real one
		first = "y"
	}
	forged.http.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: first + sess.Value[1:], Path: "/"}})
	wantStatus(t, forged.get("/"), http.StatusSeeOther)
}

func TestLoginCSRF(t *testing.T) {
	w := newWorld(t)
	srv := w.server(t, Options{})
	c := newClient(t, srv)
	good := url.Values{"username": {w.alice}, "password": {"password" + w.alice}}
	// No token at all, no cookie: 403.
	wantStatus(t, c.post("/login", good), http.StatusForbidden)
	// A cookie from the login page but a token that does not match it: 403.
	c.csrf("/login")
	good.Set("csrf", "not-the-token")
	wantStatus(t, c.post("/login", good), http.StatusForbidden)
	// A token without its cookie (another browser's): 403.
	other := newClient(t, srv)
	good.Set("csrf", c.csrf("/login"))
	wantStatus(t, other.post("/login", good), http.StatusForbidden)
	wantStatus(t, other.get("/"), http.StatusSeeOther)
}

func TestLoginRateLimit(t *testing.T) {
	w := newWorld(t)
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv := w.server(t, Options{LoginBurst: 3, LoginInterval: time.Minute, Now: clk.now})
	c := newClient(t, srv)
	for range 3 {
		wantStatus(t, c.post("/login", url.Values{"csrf": {c.csrf("/login")}, "username": {w.alice}, "password": {"bad"}}),
			http.StatusUnauthorized)
	}
	// The right password is refused too while the address is limited.
	r := c.post("/login", url.Values{"csrf": {c.csrf("/login")}, "username": {w.alice}, "password": {"password" + w.alice}})
	wantStatus(t, r, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	wantStatus(t, c.get("/"), http.StatusSeeOther)
	clk.add(time.Minute)
	c.login(w.alice)
}

func TestLimiterKeysAndBound(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5555": "127.0.0.1", "[2001:db8:1:2:3:4:5:6]:80": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:80": "2001:db8:1:2::/64", "garbage": "garbage",
	} {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
	clk := &clock{t: time.Unix(0, 0)}
	l := newLimiter(1, time.Minute, 2, clk.now)
	for _, k := range []string{"a", "b"} {
		if ok, _ := l.allow(k); !ok {
			t.Fatalf("first attempt of %s refused", k)
		}
	}
	if ok, _ := l.allow("c"); ok {
		t.Fatal("a full table of limited clients accepted a new client")
	}
	clk.add(time.Minute)
	if ok, _ := l.allow("c"); !ok || len(l.buckets) > 2 {
		t.Fatalf("after refill: ok=%v, %d buckets", ok, len(l.buckets))
	}
}

func TestLogout(t *testing.T) {
	w := newWorld(t)
	srv := w.server(t, Options{})
	c := loggedIn(t, srv, w.alice)
	tok := c.csrf("/")
	wantStatus(t, c.post("/logout", nil), http.StatusForbidden)
	wantStatus(t, c.get("/"), http.StatusOK)
	// Keep the old cookie to replay it after logout.
	u, _ := url.Parse(srv.URL)
	old := c.http.Jar.Cookies(u)
	r := c.post("/logout", url.Values{"csrf": {tok}})
	wantStatus(t, r, http.StatusSeeOther)
	wantStatus(t, c.get("/"), http.StatusSeeOther)
	replay := newClient(t, srv)
	replay.http.Jar.SetCookies(u, old)
	wantStatus(t, replay.get("/"), http.StatusSeeOther)
}

func TestSessionExpiry(t *testing.T) {
	w := newWorld(t)
	clk := &clock{t: time.Now()}
	srv := w.server(t, Options{SessionIdle: 10 * time.Minute, SessionMaxAge: time.Hour, Now: clk.now})
	c := loggedIn(t, srv, w.alice)
	for range 5 { // used every 9 minutes: alive until the hour
		clk.add(9 * time.Minute)
		wantStatus(t, c.get("/"), http.StatusOK)
	}
	clk.add(16 * time.Minute)
	wantStatus(t, c.get("/"), http.StatusSeeOther) // 61 min old
	c.login(w.alice)
	clk.add(10 * time.Minute)
	wantStatus(t, c.get("/"), http.StatusSeeOther) // idle
}

func TestInventoryAndSearch(t *testing.T) {
	w := newWorld(t)
	srv := w.server(t, Options{})
	c := loggedIn(t, srv, w.alice)
	r := c.get("/")
	wantStatus(t, r, http.StatusOK)
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt; model", `class="verdict fail"`, "1 critical",
		fmt.Sprintf(`href="/models/%d"`, w.modelA.ID)} {
		if !strings.Contains(r.body, want) {
			t.Errorf("inventory: no %q", want)
		}
	}
	if strings.Contains(r.body, "secret-model") || strings.Contains(r.body, "other/secret") {
		t.Error("inventory shows another team's model")
	}
	for q, found := range map[string]bool{"MODEL": true, "org/": true, "secret": false, "other/secret": false, "zzz": false,
		xss: true} {
		r := c.get("/search?q=" + url.QueryEscape(q))
		wantStatus(t, r, http.StatusOK)
		if got := strings.Contains(r.body, fmt.Sprintf(`href="/models/%d"`, w.modelA.ID)); got != found {
			t.Errorf("search %q: found=%v, want %v", q, got, found)
		}
		if strings.Contains(r.body, "secret-model") {
			t.Errorf("search %q shows another team's model", q)
		}
	}
	wantStatus(t, c.get("/search?q="+strings.Repeat("a", maxQueryLen+1)), http.StatusBadRequest)
	// carol sees her team's model only.
	r = loggedIn(t, srv, w.carol).get("/search?q=model")
	if !strings.Contains(r.body, "secret-model") || strings.Contains(r.body, "alert(1)") {
		t.Errorf("carol's search: %s", r.body)
	}
}

func TestTeamAccess(t *testing.T) {
	w := newWorld(t)
	srv := w.server(t, Options{})
	c := loggedIn(t, srv, w.alice)
	tok := c.csrf("/")
	for _, path := range []string{
		fmt.Sprintf("/models/%d", w.modelB.ID),
		fmt.Sprintf("/models/%d/findings/%d", w.modelB.ID, w.findingB),
		// B's finding under A's model.
		fmt.Sprintf("/models/%d/findings/%d", w.modelA.ID, w.findingB),
		"/models/999999", "/models/abc", "/models/-1", fmt.Sprintf("/models/%d/findings/0", w.modelA.ID),
	} {
		r := c.get(path)
		wantStatus(t, r, http.StatusNotFound)
		if strings.Contains(r.body, "secret") {
			t.Errorf("%s: the 404 page tells about the model", path)
		}
	}
	// Triage of another team's finding: 404, and nothing changes.
	for _, path := range []string{fmt.Sprintf("/models/%d/findings/%d", w.modelB.ID, w.findingB),
		fmt.Sprintf("/models/%d/findings/%d", w.modelA.ID, w.findingB)} {
		wantStatus(t, c.post(path, url.Values{"csrf": {tok}, "action": {"false-positive"}, "reason": {"mine now"}}),
			http.StatusNotFound)
	}
	if h, err := w.st.FindingHistory(context.Background(), w.findingB); err != nil || len(h) != 0 {
		t.Fatalf("B's finding history: %v %v", h, err)
	}
}

func TestModelPage(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	ci := store.Actor{Name: "ci", Remote: "127.0.0.1:3"}
	for kind, report := range map[string]string{
		store.EvidenceVerify: `{"verified": false, "signature_error": "signed with another key ` + xss + `", "modified": ["model.pkl"]}`,
		store.EvidenceBOM: `{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "machine-learning-model",
			"name": "` + xss + `", "version": "1", "purl": "pkg:huggingface/org/x"}]}`,
		store.EvidenceDeps: `{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "library", "name": "torch",
			"version": "2.1.0"}], "vulnerabilities": [{"id": "GHSA-x"}]}`,
	} {
		if _, _, err := w.st.AddEvidence(ctx, ci, w.versionA.ID, kind, []byte(report)); err != nil {
			t.Fatal(err)
		}
	}
	srv := w.server(t, Options{})
	r := loggedIn(t, srv, w.bob).get(fmt.Sprintf("/models/%d", w.modelA.ID))
	wantStatus(t, r, http.StatusOK)
	for _, want := range []string{
		w.fileSHA, "model.pkl", "config.json", // files with their SHA-256
		"not verified", "signed with another key &lt;script&gt;", // signature
		"CycloneDX 1.6: 1 entries", "&lt;script&gt;alert(1)&lt;/script&gt;", "pkg:huggingface/org/x", // BOM
		"torch", "1 vulnerabilities", // deps
		"ci &lt;script&gt;",                                                                       // the uploader of the scan
		"evidence &lt;script&gt;", fmt.Sprintf(`/models/%d/findings/%d`, w.modelA.ID, w.findingA), // findings
		`class="state open"`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("model page: no %q", want)
		}
	}
	if strings.Contains(r.body, "<script") {
		t.Error("model page holds an unescaped script element")
	}
}

func TestTriage(t *testing.T) {
	w := newWorld(t)
	srv := w.server(t, Options{})
	path := fmt.Sprintf("/models/%d/findings/%d", w.modelA.ID, w.findingA)
	alice := loggedIn(t, srv, w.alice)
	bob := loggedIn(t, srv, w.bob)

	// A viewer sees the finding without the triage forms; a POST of theirs,
	// with a valid token, is refused.
	r := bob.get(path)
	wantStatus(t, r, http.StatusOK)
	if strings.Contains(r.body, `name="action"`) {
		t.Error("a viewer is shown the triage form")
	}
	until := time.Now().UTC().AddDate(0, 0, 30).Format("2006-01-02")
	wantStatus(t, bob.post(path, url.Values{"csrf": {bob.csrf(path)}, "action": {"accept-risk"}, "reason": {"x"},
		"until": {until}}), http.StatusForbidden)

	r = alice.get(path)
	if !strings.Contains(r.body, `value="accept-risk"`) || !strings.Contains(r.body, "evidence &lt;script&gt;") {
		t.Fatalf("security role: no triage form or no escaped evidence:\n%s", r.body)
	}
	tok := alice.csrf(path)
	// No token, a wrong token: 403.
	wantStatus(t, alice.post(path, url.Values{"action": {"accept-risk"}, "reason": {"x"}, "until": {until}}), http.StatusForbidden)
	wantStatus(t, alice.post(path, url.Values{"csrf": {bob.csrf(path)}, "action": {"accept-risk"}, "reason": {"x"},
		"until": {until}}), http.StatusForbidden)
	// Bad input: 400 with a message.
	for _, form := range []url.Values{
		{"action": {"accept-risk"}, "reason": {"  "}, "until": {until}},
		{"action": {"accept-risk"}, "reason": {"ok"}, "until": {"2020-01-01"}},
		{"action": {"accept-risk"}, "reason": {"ok"}, "until": {time.Now().AddDate(2, 0, 0).Format("2006-01-02")}},
		{"action": {"accept-risk"}, "reason": {"ok"}, "until": {"tomorrow"}},
		{"action": {"false-positive"}, "reason": {""}},
		{"action": {"fixed"}, "reason": {"ok"}},
		{"action": {"accept-risk"}, "reason": {"bad \x01 char"}, "until": {until}},
	} {
		form.Set("csrf", tok)
		r := alice.post(path, form)
		wantStatus(t, r, http.StatusBadRequest)
		if !strings.Contains(r.body, `id="error"`) {
			t.Errorf("%v: no error shown", form)
		}
	}
	if h, _ := w.st.FindingHistory(context.Background(), w.findingA); len(h) != 0 {
		t.Fatalf("refused changes were recorded: %+v", h)
	}
	// Accept the risk.
	r = alice.post(path, url.Values{"csrf": {tok}, "action": {"accept-risk"}, "reason": {"sandboxed " + xss}, "until": {until}})
	wantStatus(t, r, http.StatusSeeOther)
	r = alice.get(path)
	for _, want := range []string{`<span class="state accepted-risk" id="state">accepted-risk</span>`, "until " + until,
		"sandboxed &lt;script&gt;alert(1)&lt;/script&gt;", ">alice<", `id="reopen"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("after accepting: no %q", want)
		}
	}
	if strings.Contains(r.body, "<script") {
		t.Error("finding page holds an unescaped script element")
	}
	// The inventory no longer counts it as open.
	if r := alice.get("/"); strings.Contains(r.body, "1 critical") {
		t.Error("an accepted risk is still counted as open")
	}
	// False positive, then reopen.
	wantStatus(t, alice.post(path, url.Values{"csrf": {tok}, "action": {"false-positive"}, "reason": {"test file"}}), http.StatusSeeOther)
	wantStatus(t, alice.post(path, url.Values{"csrf": {tok}, "action": {"reopen"}}), http.StatusSeeOther)
	h, err := w.st.FindingHistory(context.Background(), w.findingA)
	if err != nil || len(h) != 3 || h[0].State != store.StateAcceptedRisk || h[1].State != store.StateFalsePositive ||
		h[2].State != store.StateOpen || h[0].SetBy != w.alice || h[0].ExpiresAt.Format("2006-01-02") != until {
		t.Fatalf("history %+v %v", h, err)
	}
}

// TestRoleTable: a viewer may what one of the roles held in a team allows
// there (store.RolePermissions), and nothing in another team.
func TestRoleTable(t *testing.T) {
	for _, r := range store.Roles() {
		v := &viewer{roles: map[int64][]store.Role{1: {r}}}
		if !v.may(1, store.PermRead) || v.may(2, store.PermRead) {
			t.Errorf("role %s: read in its team %v, in another %v", r, v.may(1, store.PermRead), v.may(2, store.PermRead))
		}
		if want := r == store.RoleSecurity || r == store.RoleAdmin; v.may(1, store.PermTriage) != want {
			t.Errorf("role %s: triage %v, want %v", r, v.may(1, store.PermTriage), want)
		}
	}
	// Two roles in one team: what either allows.
	v := &viewer{roles: map[int64][]store.Role{1: {store.RoleViewer, store.RoleHR}}}
	if !v.may(1, store.PermTraining) || v.may(1, store.PermTriage) {
		t.Errorf("viewer and hr: training %v, triage %v", v.may(1, store.PermTraining), v.may(1, store.PermTriage))
	}
}

func TestRoleRemovedTakesEffect(t *testing.T) {
	w := newWorld(t)
	srv := w.server(t, Options{})
	c := loggedIn(t, srv, w.bob)
	path := fmt.Sprintf("/models/%d", w.modelA.ID)
	wantStatus(t, c.get(path), http.StatusOK)
	bob, _ := w.st.UserByLogin(context.Background(), w.bob)
	if err := w.st.RemoveMember(context.Background(), admin, store.Membership{TeamID: w.teamA.ID, UserID: bob.ID,
		Role: store.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, c.get(path), http.StatusNotFound)
}

func TestBasePath(t *testing.T) {
	w := newWorld(t)
	srv := w.server(t, Options{BasePath: "/ui/"})
	c := newClient(t, srv)
	r := c.post("/ui/login", url.Values{"csrf": {c.csrf("/ui/login")}, "username": {w.alice}, "password": {"password" + w.alice}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/ui/" {
		t.Fatalf("login: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = c.get("/ui/")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `href="/ui/static/style.css"`) || !strings.Contains(r.body, fmt.Sprintf(`href="/ui/models/%d"`, w.modelA.ID)) {
		t.Error("links do not carry the base path")
	}
	wantStatus(t, c.get("/"), http.StatusNotFound)
}

// A scan report changed in the database behind the store's back (here: to
// a clean report) is shown as incomplete, never as a pass, and the pages
// still work.
func TestTamperedEvidenceIsIncomplete(t *testing.T) {
	w := newWorld(t)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(w.dir, store.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clean := string(scanReport(t, 0, ""))
	if _, err := db.Exec(`UPDATE evidence SET report = $1 WHERE kind = 'scan'`, []byte(clean)); err != nil {
		t.Fatal(err)
	}
	srv := w.server(t, Options{})
	c := loggedIn(t, srv, w.alice)
	for _, path := range []string{"/", fmt.Sprintf("/models/%d", w.modelA.ID)} {
		r := c.get(path)
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(r.body, `class="verdict incomplete"`) || strings.Contains(r.body, `class="verdict pass"`) {
			t.Errorf("%s: a tampered report is not shown as incomplete", path)
		}
	}
}
