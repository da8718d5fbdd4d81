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

// auditSince returns the audit records after head, and the new head.
func (w *world) auditSince(t *testing.T, head store.AuditHead) ([]store.AuditRecord, store.AuditHead) {
	t.Helper()
	ctx := context.Background()
	recs := must[[]store.AuditRecord](t)(w.st.AuditLog(ctx, head.Seq, 0, ""))
	return recs, must[store.AuditHead](t)(w.st.AuditHead(ctx))
}

// wantRecord checks that recs is one record of action by actor on object,
// from the loopback address, whose detail holds each of details.
func wantRecord(t *testing.T, recs []store.AuditRecord, action, actor, object string, details ...string) {
	t.Helper()
	if len(recs) != 1 {
		t.Fatalf("%d records %+v, want one %s", len(recs), recs, action)
	}
	r := recs[0]
	if r.Action != action || r.Actor != actor || r.Object != object || !strings.HasPrefix(r.Remote, "127.0.0.1:") {
		t.Fatalf("record %+v, want %s by %s on %q from 127.0.0.1", r, action, actor, object)
	}
	for _, d := range details {
		if !strings.Contains(r.Detail, d) {
			t.Fatalf("record %+v: the detail lacks %s", r, d)
		}
	}
}

// TestSignInsAreAudited: a failed password sign-in (wrong password,
// unknown login, no password) is a record with the login attempted and
// never the password; attempts past the rate limit are not recorded; a
// sign-in and a sign-out are records by the user.
func TestSignInsAreAudited(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	alice := must[store.User](t)(w.st.UserByLogin(ctx, w.alice))
	nopw := must[store.User](t)(w.st.CreateUser(ctx, admin, "sso-only", "", ""))
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv := w.server(t, Options{LoginBurst: 3, LoginInterval: time.Minute, Now: clk.now})
	c := newClient(t, srv)
	_, head := w.auditSince(t, store.AuditHead{})
	var passwords []string
	attempt := func(login, password string, status int) []store.AuditRecord {
		t.Helper()
		passwords = append(passwords, password)
		wantStatus(t, c.post("/login", url.Values{"csrf": {c.csrf("/login")}, "username": {login}, "password": {password}}), status)
		var recs []store.AuditRecord
		recs, head = w.auditSince(t, head)
		return recs
	}
	wantRecord(t, attempt(w.alice, "hunter2-wrong", http.StatusUnauthorized), store.SignInFailed, signInActor,
		fmt.Sprintf("user/%d", alice.ID), `"login":"alice"`, `"reason":"wrong password"`)
	long := "nobody-" + strings.Repeat("x", 100)
	wantRecord(t, attempt(long, "s3cret-guess", http.StatusUnauthorized), store.SignInFailed, signInActor, "",
		`"login":"`+long[:64]+`"`, `"reason":"unknown login"`)
	wantRecord(t, attempt("sso-only", "no-such-password", http.StatusUnauthorized), store.SignInFailed, signInActor,
		fmt.Sprintf("user/%d", nopw.ID), `"reason":"no password set"`)
	// Past the limit: refused, and not recorded.
	for range 3 {
		if recs := attempt(w.alice, "passwordalice", http.StatusTooManyRequests); len(recs) != 0 {
			t.Fatalf("a rate-limited attempt was recorded: %+v", recs)
		}
	}
	clk.add(time.Minute)
	wantRecord(t, attempt(w.alice, "passwordalice", http.StatusSeeOther), store.SignInPassword, w.alice,
		fmt.Sprintf("user/%d", alice.ID), `"login":"alice"`)
	wantStatus(t, c.post("/logout", url.Values{"csrf": {c.csrf("/")}}), http.StatusSeeOther)
	recs, _ := w.auditSince(t, head)
	wantRecord(t, recs, store.SignOut, w.alice, fmt.Sprintf("user/%d", alice.ID))

	all := must[[]store.AuditRecord](t)(w.st.AuditLog(ctx, 0, 0, ""))
	for _, r := range all {
		for _, p := range passwords {
			if strings.Contains(fmt.Sprintf("%+v", r), p) {
				t.Errorf("a password is in the audit log: %+v", r)
			}
		}
	}
	if _, err := w.st.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSignInNotAuditedIsRefused: when the audit record of a sign-in
// cannot be written, no session starts.
func TestSignInNotAuditedIsRefused(t *testing.T) {
	w := newWorld(t)
	srv := w.server(t, Options{})
	// Someone breaks the audit log's table in the database file.
	db, err := sql.Open("sqlite", filepath.Join(w.dir, store.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER audit_log_broken BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'broken'); END`); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv)
	r := c.post("/login", url.Values{"csrf": {c.csrf("/login")}, "username": {w.alice}, "password": {"passwordalice"}})
	if r.StatusCode != http.StatusInternalServerError || hasSessionCookie(r) || c.signedIn() {
		t.Fatalf("a sign-in without its audit record: %d, session cookie %v", r.StatusCode, hasSessionCookie(r))
	}
}

// TestOIDCSignInsAreAudited: a single sign-on is a record by the user; one
// of a login with no account is a failed sign-in with that login.
func TestOIDCSignInsAreAudited(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	alice := must[store.User](t)(w.st.UserByLogin(ctx, w.alice))
	idp := newTestIdP(t)
	srv := w.oidcServer(t, idp, nil)
	_, head := w.auditSince(t, store.AuditHead{})

	c := newClient(t, srv)
	if r := c.callback(c.toProvider()); r.StatusCode != http.StatusSeeOther || !hasSessionCookie(r) {
		t.Fatalf("callback: %d %s", r.StatusCode, r.body)
	}
	recs, head := w.auditSince(t, head)
	wantRecord(t, recs, store.SignInOIDC, w.alice, fmt.Sprintf("user/%d", alice.ID), `"login":"alice"`)

	idp.mu.Lock()
	idp.claims = func(nonce string) map[string]any { return idp.standardClaims(nonce, "mallory") }
	idp.mu.Unlock()
	c = newClient(t, srv)
	wantStatus(t, c.callback(c.toProvider()), http.StatusForbidden)
	recs, _ = w.auditSince(t, head)
	wantRecord(t, recs, store.SignInFailed, signInActor, "", `"login":"mallory"`, `"reason":"single sign-on: no such user"`)
}
