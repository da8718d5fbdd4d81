package webui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/violet-mlsecops/violet/store"
)

// addUser adds a user with a password ("password"+login) and a role in a
// team.
func addUser(t *testing.T, w *world, login string, team store.Team, role store.Role) store.User {
	t.Helper()
	ctx := context.Background()
	u := must[store.User](t)(w.st.CreateUser(ctx, store.Actor{Name: "admin", Remote: "127.0.0.1:1"}, login, login, hashFor(t, "password"+login)))
	if err := w.st.AddMember(ctx, store.Actor{Name: "admin", Remote: "127.0.0.1:1"}, store.Membership{TeamID: team.ID, UserID: u.ID, Role: role}); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestReleaseSignoffPages: an ml-engineer requests a release, the security
// reviewer approves it for the version on the page; a viewer sees it and
// has no form; another team does not see it; a form for another version,
// a role one does not hold and a second role of the same person are
// refused.
func TestReleaseSignoffPages(t *testing.T) {
	w := newWorld(t)
	addUser(t, w, "dave", w.teamA, store.RoleMLEngineer)
	srv := w.server(t, Options{})
	dave := loggedIn(t, srv, "dave")
	tok := dave.csrf("/releases")
	r := dave.post("/releases", url.Values{"csrf": {tok}, "version": {fmt.Sprint(w.versionA.ID)}, "tier": {"low"}, "title": {"to prod " + xss}})
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	if !strings.Contains(loc, "/releases/") {
		t.Fatalf("redirect %q", loc)
	}
	path := strings.TrimPrefix(loc, "")
	// Another team's version is not one dave may request.
	wantStatus(t, dave.post("/releases", url.Values{"csrf": {tok}, "version": {fmt.Sprint(w.versionB.ID)}, "tier": {"low"}}), http.StatusNotFound)

	alice := loggedIn(t, srv, w.alice)
	page := alice.get(path)
	wantStatus(t, page, http.StatusOK)
	for _, want := range []string{"waiting for security", w.versionA.Digest, `id="decide-form"`, "to prod &lt;script&gt;"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("release page: no %q", want)
		}
	}
	atok := alice.csrf(path)
	form := func(digest, role string) url.Values {
		return url.Values{"csrf": {atok}, "role": {role}, "decision": {"approve"}, "reason": {"scanned " + xss}, "digest": {digest}}
	}
	wantStatus(t, alice.post(path, form(w.versionB.Digest, "security")), http.StatusBadRequest)
	wantStatus(t, alice.post(path, form(w.versionA.Digest, "legal-compliance")), http.StatusForbidden)
	wantStatus(t, alice.post(path, form(w.versionA.Digest, "security")), http.StatusSeeOther)
	page = alice.get(path)
	if !strings.Contains(page.body, "approved") || !strings.Contains(page.body, "scanned &lt;script&gt;") {
		t.Errorf("after approval: %s", page.body)
	}
	// The viewer sees the release, with no form; another team, nothing.
	bob := loggedIn(t, srv, w.bob)
	vp := bob.get(path)
	wantStatus(t, vp, http.StatusOK)
	if strings.Contains(vp.body, "decide-form") {
		t.Error("a viewer has the decision form")
	}
	btok := bob.csrf(path)
	wantStatus(t, bob.post(path, url.Values{"csrf": {btok}, "role": {"viewer"}, "decision": {"approve"}, "reason": {"x"}, "digest": {w.versionA.Digest}}), http.StatusForbidden)
	wantStatus(t, loggedIn(t, srv, w.carol).get(path), http.StatusNotFound)
	// Without the CSRF token: refused.
	wantStatus(t, alice.post(path, url.Values{"role": {"security"}, "decision": {"reject"}, "reason": {"x"}, "digest": {w.versionA.Digest}}), http.StatusForbidden)
	rels := must[[]store.Release](t)(w.st.Releases(context.Background(), w.teamA.ID, ""))
	ds := must[[]store.ReleaseDecision](t)(w.st.ReleaseDecisions(context.Background(), rels[0].ID))
	if len(ds) != 1 || ds[0].DecidedBy != w.alice || ds[0].Role != "security" {
		t.Fatalf("decisions %+v", ds)
	}
}

// TestBrowserReleaseSignoff drives the sign-off in headless Chromium: an
// ml-engineer requests a medium-risk release, the security reviewer
// approves; the release waits for the ml-engineer's own approval.
func TestBrowserReleaseSignoff(t *testing.T) {
	ctx := browser(t)
	w := newWorld(t)
	// A team of its own, with plain names: its screenshots are the docs'.
	admin := store.Actor{Name: "admin", Remote: "127.0.0.1:1"}
	bg := context.Background()
	fraud := must[store.Team](t)(w.st.CreateTeam(bg, admin, "fraud"))
	addUser(t, w, "dave", fraud, store.RoleMLEngineer)
	alice := must[store.User](t)(w.st.UserByLogin(bg, w.alice))
	if err := w.st.AddMember(bg, admin, store.Membership{TeamID: fraud.ID, UserID: alice.ID, Role: store.RoleSecurity}); err != nil {
		t.Fatal(err)
	}
	m := must[store.Model](t)(w.st.CreateModel(bg, admin, store.Model{TeamID: fraud.ID, Name: "fraud-detector",
		SourceKind: store.SourceHuggingFace, SourceRef: "acme/fraud-detector"}))
	if _, _, err := w.st.PutVersion(bg, admin, m.ID, "sha256:"+sha("fraud v3"), "v3", []store.File{
		{Path: "model.safetensors", SHA256: sha("fraud weights"), Size: 10}}); err != nil {
		t.Fatal(err)
	}
	srv := w.server(t, Options{})
	dir := artifacts(t)
	var waiting, approved string
	err := chromedp.Do(ctx,
		signIn(srv.URL, "dave"),
		chromedp.Navigate(srv.URL+"/releases"),
		chromedp.WaitVisible(chromedp.ID("#request-form")),
		chromedp.SendKeys(chromedp.ID("#title"), "fraud-detector to production"),
		chromedp.SetValue(chromedp.ID("#tier"), "medium"),
		screenshot(t, dir, "1-request"),
		chromedp.Click(chromedp.ID("#request")),
		chromedp.WaitVisible(chromedp.ID("#release-status")),
		into(&waiting, chromedp.Text(chromedp.ID("#release-status"))),
		chromedp.Click(chromedp.ID("#logout")),
		chromedp.WaitVisible(chromedp.ID("#username")),
		signIn(srv.URL, w.alice),
		chromedp.Navigate(srv.URL+"/releases"),
		chromedp.WaitVisible(chromedp.CSS("table#releases a")),
		chromedp.Click(chromedp.CSS("table#releases a")),
		chromedp.WaitVisible(chromedp.ID("#reason")),
		chromedp.SendKeys(chromedp.ID("#reason"), "scanned clean, signature verified"),
		screenshot(t, dir, "2-decide"),
		chromedp.Click(chromedp.ID("#approve")),
		chromedp.WaitVisible(chromedp.CSS("tr.decision")),
		into(&approved, chromedp.Text(chromedp.ID("#release-status"))),
		screenshot(t, dir, "3-after"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.Contains(waiting, "waiting for ml-engineer, security") {
		t.Errorf("status after the request: %q", waiting)
	}
	if !strings.Contains(approved, "waiting for ml-engineer") || strings.Contains(approved, "security") {
		t.Errorf("status after the security approval: %q", approved)
	}
	// VIOLET_DOCS_SCREENSHOTS=1 refreshes the screenshots of docs/team.md.
	if os.Getenv("VIOLET_DOCS_SCREENSHOTS") != "" {
		for _, name := range []string{"1-request", "2-decide"} {
			data, err := os.ReadFile(filepath.Join(dir, name+".png"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("..", "docs", "images", "release-"+name+".png"), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
