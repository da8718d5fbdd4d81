// Package webui is the web UI of `violet serve` for people who are not
// engineers: the inventory of the models a user's teams own with each
// version's verdict and open findings, search, a page per model (versions,
// files, evidence, findings, BOM, dependencies, signature) and per finding
// (history, and triage for the roles allowed to triage).
//
// Pages are rendered on the server with html/template (every text from the
// database is escaped) from embedded templates and one stylesheet; there
// is no JavaScript. Sessions live in memory, in a Secure, HttpOnly,
// SameSite=Lax cookie; every POST form carries a CSRF token; login
// attempts are rate limited per client address; people sign in with a
// password or, when Options.OIDC is set, through an OpenID Connect
// provider (oidc.go) as an existing user; every response carries a
// Content-Security-Policy without inline script and X-Frame-Options DENY.
// A user sees only the models of their teams: any other model is 404.
package webui

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/store"
)

//go:embed templates/*.html static/style.css
var assets embed.FS

// Options configures the web UI. The zero value is usable.
type Options struct {
	// BasePath is the path the UI is mounted at, without a trailing
	// slash: "" (the root) or e.g. "/ui". The handler serves only paths
	// under it, unstripped.
	BasePath string
	// SessionIdle ends a session unused for this long (default 30 min).
	SessionIdle time.Duration
	// SessionMaxAge ends any session this old (default 12 h).
	SessionMaxAge time.Duration
	// MaxSessions bounds the live sessions (default 10,000); a login
	// beyond it is refused with 503 until sessions expire.
	MaxSessions int
	// LoginBurst is how many login attempts a client address may make at
	// once (default 5); then one per LoginInterval (default 20 s).
	LoginBurst    int
	LoginInterval time.Duration
	// Logger receives server errors (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OIDC, when set, offers single sign-on with an OpenID Connect
	// provider beside passwords (see OIDCConfig).
	OIDC *OIDCConfig
}

// Names of the cookies. The __Host- prefix makes browsers insist on
// Secure, Path=/ and no Domain.
const (
	sessionCookie = "__Host-violet_session"
	loginCookie   = "__Host-violet_login" // the login form's CSRF token (double submit)
)

// maxFormBytes bounds a POST body.
const maxFormBytes = 64 << 10

// Bounds of the login form's fields.
const (
	maxLoginLen    = 128
	maxPasswordLen = 1024
)

// maxQueryLen bounds a search.
const maxQueryLen = 256

// maxArgonAtOnce is how many password hashes are computed at once (each
// takes up to 64 MiB with store.HashPassword's parameters).
const maxArgonAtOnce = 4

// contentSecurityPolicy allows the page's own stylesheet and forms posting
// to the same origin, and nothing else: no script at all.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

type ui struct {
	st       *store.Store
	opts     Options
	log      *slog.Logger
	pages    map[string]*template.Template
	sessions *sessions
	limiter  *limiter
	argon    chan struct{}
	// dummyHash is verified when a login is unknown, so that an unknown
	// login takes as long as a wrong password.
	dummyHash string
	verdicts  verdictCache
	// oidc is the single sign-on client; nil when it is off.
	oidc *oidcClient
	mux  *http.ServeMux
}

// New returns the web UI's handler over st.
func New(st *store.Store, opts Options) http.Handler {
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = 30 * time.Minute
	}
	if opts.SessionMaxAge <= 0 {
		opts.SessionMaxAge = 12 * time.Hour
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 10_000
	}
	if opts.LoginBurst <= 0 {
		opts.LoginBurst = 5
	}
	if opts.LoginInterval <= 0 {
		opts.LoginInterval = 20 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.BasePath = strings.TrimRight(opts.BasePath, "/")
	u := &ui{
		st: st, opts: opts, log: opts.Logger,
		pages:    parsePages(),
		sessions: newSessions(opts.SessionIdle, opts.SessionMaxAge, opts.MaxSessions, opts.Now),
		limiter:  newLimiter(opts.LoginBurst, opts.LoginInterval, 100_000, opts.Now),
		argon:    make(chan struct{}, maxArgonAtOnce),
		verdicts: verdictCache{m: map[int64]string{}},
	}
	if opts.OIDC != nil {
		u.oidc = newOIDCClient(opts.OIDC, opts.Now)
		if u.oidc.err != nil {
			u.log.Error("webui: single sign-on is off", "err", u.oidc.err)
		}
	}
	var err error
	if u.dummyHash, err = store.HashPassword("violet: no such user"); err != nil {
		panic("webui: " + err.Error()) // crypto/rand failed
	}
	b := opts.BasePath
	m := http.NewServeMux()
	m.HandleFunc("GET "+b+"/{$}", u.authed(u.inventory))
	m.HandleFunc("GET "+b+"/search", u.authed(u.search))
	m.HandleFunc("GET "+b+"/models/{model}", u.authed(u.model))
	m.HandleFunc("GET "+b+"/models/{model}/findings/{finding}", u.authed(u.finding))
	m.HandleFunc("POST "+b+"/models/{model}/findings/{finding}", u.authed(u.triage))
	m.HandleFunc("GET "+b+"/risks", u.authed(u.risks))
	m.HandleFunc("GET "+b+"/risks/new", u.authed(u.newRisk))
	m.HandleFunc("POST "+b+"/risks", u.authed(u.createRisk))
	m.HandleFunc("GET "+b+"/risks/{risk}", u.authed(u.risk))
	m.HandleFunc("POST "+b+"/risks/{risk}", u.authed(u.updateRisk))
	m.HandleFunc("GET "+b+"/models/{model}/threats", u.authed(u.threats))
	m.HandleFunc("POST "+b+"/models/{model}/threats", u.authed(u.saveThreats))
	m.HandleFunc("POST "+b+"/models/{model}/threats/prefill", u.authed(u.prefillThreats))
	m.HandleFunc("GET "+b+"/dashboard", u.authed(u.dashboard))
	m.HandleFunc("GET "+b+"/training", u.authed(u.training))
	m.HandleFunc("POST "+b+"/training", u.authed(u.trainingPost))
	m.HandleFunc("GET "+b+"/procurement", u.authed(u.procurement))
	m.HandleFunc("POST "+b+"/procurement", u.authed(u.procurementPost))
	m.HandleFunc("GET "+b+"/signers", u.authed(u.signers))
	m.HandleFunc("POST "+b+"/signers", u.authed(u.signersPost))
	m.HandleFunc("GET "+b+"/releases", u.authed(u.releases))
	m.HandleFunc("POST "+b+"/releases", u.authed(u.requestRelease))
	m.HandleFunc("GET "+b+"/releases/{release}", u.authed(u.releasePage))
	m.HandleFunc("POST "+b+"/releases/{release}", u.authed(u.decideRelease))
	m.HandleFunc("GET "+b+"/login", u.loginForm)
	m.HandleFunc("POST "+b+"/login", u.login)
	m.HandleFunc("POST "+b+"/logout", u.authed(u.logout))
	m.HandleFunc("GET "+b+"/oidc/login", u.oidcLogin)
	m.HandleFunc("GET "+b+"/oidc/callback", u.oidcCallback)
	m.HandleFunc("GET "+b+"/static/style.css", u.stylesheet)
	u.incidentRoutes(m, b)
	m.HandleFunc(b+"/", func(w http.ResponseWriter, r *http.Request) { u.notFound(w, r, nil) })
	u.mux = m
	return u
}

// ServeHTTP sets the security headers of every response and routes.
func (u *ui) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	u.mux.ServeHTTP(w, r)
}

// page is what every template gets.
type page struct {
	Title string
	Base  string
	User  string // the login, "" on the login page
	CSRF  string // the session's token for POST forms
	Error string
	Data  any
}

// pageNames are the templates, each rendered inside layout.html.
var pageNames = []string{"login", "inventory", "model", "finding", "message", "releases", "release", "training", "procurement", "signers",
	"risks", "risk", "threats", "incidents", "incident", "drill", "dashboard"}

func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"day":   func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"short": func(s string) string { return shorten(s, 19) },
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		out[name] = template.Must(template.New("layout.html").Funcs(funcs).
			ParseFS(assets, "templates/layout.html", "templates/partials.html", "templates/"+name+".html"))
	}
	return out
}

// shorten cuts s to n bytes with an ellipsis.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// render writes a page with status code.
func (u *ui) render(w http.ResponseWriter, status int, name string, v *viewer, p page) {
	p.Base = u.opts.BasePath
	if v != nil {
		p.User, p.CSRF = v.sess.login, v.sess.csrf
	}
	var b strings.Builder
	if err := u.pages[name].Execute(&b, p); err != nil {
		u.log.Error("webui: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

func (u *ui) message(w http.ResponseWriter, status int, v *viewer, title, text string) {
	u.render(w, status, "message", v, page{Title: title, Data: text})
}

func (u *ui) notFound(w http.ResponseWriter, _ *http.Request, v *viewer) {
	u.message(w, http.StatusNotFound, v, "Not found", "There is no such page, or you may not see it.")
}

func (u *ui) serverError(w http.ResponseWriter, v *viewer, err error) {
	u.log.Error("webui", "err", err)
	u.message(w, http.StatusInternalServerError, v, "Something went wrong",
		"The server could not complete this request. Try again later; if it persists, tell your administrator.")
}

func (u *ui) forbidden(w http.ResponseWriter, v *viewer) {
	u.message(w, http.StatusForbidden, v, "Form expired",
		"This form could not be accepted (it expired or did not come from this site). Go back, reload the page and try again.")
}

func (u *ui) stylesheet(w http.ResponseWriter, _ *http.Request) {
	css, _ := assets.ReadFile("static/style.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600")
	_, _ = w.Write(css)
}

// authed runs h for a logged-in user. Without a live session, a GET is
// sent to the login page and a POST is refused (403). A POST must carry
// the session's CSRF token (403 otherwise).
func (u *ui) authed(h func(http.ResponseWriter, *http.Request, *viewer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		var sess session
		ok := err == nil
		if ok {
			sess, ok = u.sessions.get(c.Value)
		}
		if !ok {
			if r.Method == http.MethodPost {
				u.forbidden(w, nil)
				return
			}
			http.Redirect(w, r, u.opts.BasePath+"/login", http.StatusSeeOther)
			return
		}
		v := &viewer{sessionID: c.Value, sess: sess}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil || !tokensEqual(r.PostForm.Get("csrf"), sess.csrf) {
				u.forbidden(w, v)
				return
			}
		}
		if err := u.loadRoles(r.Context(), v); err != nil {
			u.serverError(w, v, err)
			return
		}
		h(w, r, v)
	}
}

// loadRoles reads the viewer's memberships and team names.
func (u *ui) loadRoles(ctx context.Context, v *viewer) error {
	ms, err := u.st.Memberships(ctx, v.sess.userID)
	if err != nil {
		return err
	}
	v.roles, v.teamNames = map[int64][]store.Role{}, map[int64]string{}
	for _, m := range ms {
		v.roles[m.TeamID] = append(v.roles[m.TeamID], m.Role)
	}
	teams, err := u.st.Teams(ctx)
	if err != nil {
		return err
	}
	for _, t := range teams {
		if _, ok := v.roles[t.ID]; ok {
			v.teamNames[t.ID] = t.Name
		}
	}
	return nil
}

func (u *ui) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// loginForm shows the login form with a fresh double-submit token.
func (u *ui) loginForm(w http.ResponseWriter, r *http.Request) {
	u.renderLogin(w, http.StatusOK, "")
}

func (u *ui) renderLogin(w http.ResponseWriter, status int, msg string) {
	tok, err := randomToken()
	if err != nil {
		u.serverError(w, nil, err)
		return
	}
	u.setCookie(w, loginCookie, tok, 3600)
	u.render(w, status, "login", nil, page{Title: "Sign in", CSRF: tok, Error: msg, Data: loginData{SSO: u.oidc != nil}})
}

// loginData is the login page: SSO offers single sign-on.
type loginData struct {
	SSO bool
}

// login checks a username and password and starts a session.
func (u *ui) login(w http.ResponseWriter, r *http.Request) {
	if ok, wait := u.limiter.allow(clientKey(r.RemoteAddr)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		u.renderLogin(w, http.StatusTooManyRequests, "Too many sign-in attempts from your address. Wait a minute and try again.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	c, err := r.Cookie(loginCookie)
	if err != nil || r.ParseForm() != nil || !tokensEqual(r.PostForm.Get("csrf"), c.Value) {
		u.forbidden(w, nil)
		return
	}
	login, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	user, why, err := u.checkPassword(r.Context(), login, password)
	if err != nil {
		u.serverError(w, nil, err)
		return
	}
	if why != "" {
		// Only attempts the limiter let through get here: the log grows by
		// a few records a minute per address at most.
		u.auditSignIn(r, store.SignIn{Event: store.SignInFailed, UserID: user.ID, Login: login, Reason: why})
		u.renderLogin(w, http.StatusUnauthorized, "Wrong username or password.")
		return
	}
	u.startSession(w, r, &user, store.SignInPassword)
}

// signInActor is the actor of a failed sign-in's audit record: nobody is
// signed in. It holds a space, so no login can be it.
const signInActor = "web sign-in"

// auditSignIn records a failed sign-in. The sign-in is refused whether or
// not the record could be written; a failure to write is logged.
func (u *ui) auditSignIn(r *http.Request, e store.SignIn) {
	if err := u.st.RecordSignIn(r.Context(), store.Actor{Name: signInActor, Remote: r.RemoteAddr}, e); err != nil {
		u.log.Error("webui: recording a failed sign-in", "remote", r.RemoteAddr, "err", err)
	}
}

// startSession signs user in, after a password or single sign-on (event,
// the audit action): a new session, its audit record, its cookie, and a
// redirect to the inventory. A sign-in that cannot be audited is refused.
func (u *ui) startSession(w http.ResponseWriter, r *http.Request, user *store.User, event string) {
	id, ok, err := u.sessions.create(user.ID, user.Login)
	if err != nil {
		u.serverError(w, nil, err)
		return
	}
	if !ok {
		u.message(w, http.StatusServiceUnavailable, nil, "Too many sessions", "The server has too many open sessions. Try again later.")
		return
	}
	err = u.st.RecordSignIn(r.Context(), store.Actor{Name: user.Login, Remote: r.RemoteAddr},
		store.SignIn{Event: event, UserID: user.ID, Login: user.Login})
	if err != nil {
		u.sessions.remove(id)
		u.serverError(w, nil, err)
		return
	}
	u.setCookie(w, sessionCookie, id, int(u.opts.SessionMaxAge/time.Second))
	u.setCookie(w, loginCookie, "", -1)
	http.Redirect(w, r, u.opts.BasePath+"/", http.StatusSeeOther)
}

// checkPassword returns the user of login and why the sign-in fails (""
// when login and password match). An unknown login, a user without a
// password and a stored hash that cannot be read all fail the same way to
// the browser, after the same work; why tells them apart for the audit
// log, and user.ID is 0 when login names no user.
func (u *ui) checkPassword(ctx context.Context, login, password string) (user store.User, why string, err error) {
	if login == "" || len(login) > maxLoginLen || password == "" || len(password) > maxPasswordLen {
		return store.User{}, "empty or too long username or password", nil
	}
	user, err = u.st.UserByLogin(ctx, login)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, "", err
	}
	hash, known := user.PasswordHash, err == nil && user.PasswordHash != ""
	switch {
	case err != nil:
		user, why = store.User{}, "unknown login"
	case !known:
		why = "no password set"
	}
	if !known {
		hash = u.dummyHash
	}
	select {
	case u.argon <- struct{}{}:
	case <-ctx.Done():
		return store.User{}, "", ctx.Err()
	}
	ok, err := store.VerifyPassword(hash, password)
	<-u.argon
	switch {
	case err != nil:
		u.log.Error("webui: stored password hash unreadable", "login", login, "err", err)
		return user, "stored password hash unreadable", nil
	case why != "":
		return user, why, nil
	case !ok:
		return user, "wrong password", nil
	}
	return user, "", nil
}

func (u *ui) logout(w http.ResponseWriter, r *http.Request, v *viewer) {
	u.sessions.remove(v.sessionID)
	err := u.st.RecordSignIn(r.Context(), actor(r, v),
		store.SignIn{Event: store.SignOut, UserID: v.sess.userID, Login: v.sess.login})
	if err != nil {
		// Signed out all the same.
		u.log.Error("webui: recording a sign-out", "login", v.sess.login, "err", err)
	}
	u.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, u.opts.BasePath+"/login", http.StatusSeeOther)
}

// sevCount is the number of open findings of one severity.
type sevCount struct {
	Severity string
	N        int
}

// openCounts counts the open findings by severity, most severe first.
func openCounts(fs []store.Finding) []sevCount {
	n := map[finding.Severity]int{}
	for _, f := range fs {
		if f.State == store.StateOpen {
			n[f.Severity]++
		}
	}
	var out []sevCount
	for s := finding.Critical; s >= finding.Info; s-- {
		out = append(out, sevCount{s.String(), n[s]})
	}
	return out
}

// modelRow is a model in the inventory.
type modelRow struct {
	Model    store.Model
	Team     string
	Versions []versionRow
}

// versionRow is a version in the inventory.
type versionRow struct {
	Version store.Version
	Verdict string
	Open    []sevCount
}

// inventoryData is the inventory and search page.
type inventoryData struct {
	Searched bool
	Query    string
	Models   []modelRow
}

func (u *ui) inventory(w http.ResponseWriter, r *http.Request, v *viewer) {
	u.listModels(w, r, v, inventoryData{})
}

func (u *ui) search(w http.ResponseWriter, r *http.Request, v *viewer) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > maxQueryLen {
		u.message(w, http.StatusBadRequest, v, "Search too long", "Search for at most 256 characters.")
		return
	}
	u.listModels(w, r, v, inventoryData{Searched: true, Query: q})
}

// listModels renders the models of the viewer's teams, those matching
// d.Query by name or source (a Hugging Face id) when d.Searched.
func (u *ui) listModels(w http.ResponseWriter, r *http.Request, v *viewer, d inventoryData) {
	ctx := r.Context()
	q := strings.ToLower(d.Query)
	for team := range v.roles {
		if !v.may(team, store.PermRead) {
			continue
		}
		models, err := u.st.Models(ctx, team)
		if err != nil {
			u.serverError(w, v, err)
			return
		}
		for _, m := range models {
			if d.Searched && !strings.Contains(strings.ToLower(m.Name), q) && !strings.Contains(strings.ToLower(m.SourceRef), q) {
				continue
			}
			row := modelRow{Model: m, Team: v.teamNames[team]}
			versions, err := u.st.Versions(ctx, m.ID)
			if err != nil {
				u.serverError(w, v, err)
				return
			}
			for _, ver := range slices.Backward(versions) {
				vr := versionRow{Version: ver}
				if vr.Verdict, err = u.verdict(ctx, ver.ID); err != nil {
					u.serverError(w, v, err)
					return
				}
				fs, err := u.st.VersionFindings(ctx, ver.ID)
				if err != nil {
					u.serverError(w, v, err)
					return
				}
				vr.Open = openCounts(fs)
				row.Versions = append(row.Versions, vr)
			}
			d.Models = append(d.Models, row)
		}
	}
	slices.SortFunc(d.Models, func(a, b modelRow) int {
		if c := strings.Compare(strings.ToLower(a.Model.Name), strings.ToLower(b.Model.Name)); c != 0 {
			return c
		}
		return int(a.Model.ID - b.Model.ID)
	})
	title := "Inventory"
	if d.Searched {
		title = "Search"
	}
	u.render(w, http.StatusOK, "inventory", v, page{Title: title, Data: d})
}

// verdictCache keeps the verdicts of scan evidence, which never changes
// (a report is stored with its SHA-256 and checked when read).
type verdictCache struct {
	mu sync.Mutex
	m  map[int64]string
}

const maxCachedVerdicts = 4096

// verdict returns the verdict of a version's latest scan evidence.
func (u *ui) verdict(ctx context.Context, versionID int64) (string, error) {
	ev, err := u.st.ListEvidence(ctx, versionID, store.EvidenceScan)
	if err != nil || len(ev) == 0 {
		return verdictNone, err
	}
	id := ev[len(ev)-1].ID
	u.verdicts.mu.Lock()
	verdict, ok := u.verdicts.m[id]
	u.verdicts.mu.Unlock()
	if ok {
		return verdict, nil
	}
	b, err := u.st.EvidenceReport(ctx, id)
	if err != nil {
		// A report changed in the database (or unreadable) is shown as
		// incomplete, not hidden behind an error page for every model.
		u.log.Error("webui: scan evidence unreadable", "evidence", id, "err", err)
		return verdictIncomplete, ctx.Err()
	}
	verdict = scanVerdict(b)
	u.verdicts.mu.Lock()
	if len(u.verdicts.m) >= maxCachedVerdicts {
		clear(u.verdicts.m)
	}
	u.verdicts.m[id] = verdict
	u.verdicts.mu.Unlock()
	return verdict, nil
}

// visibleModel returns the model named by the request's path if the
// viewer may see it; ok is false after a 404 or 500 was written. Another
// team's model is 404, as a missing one.
func (u *ui) visibleModel(w http.ResponseWriter, r *http.Request, v *viewer) (store.Model, bool) {
	id, err := strconv.ParseInt(r.PathValue("model"), 10, 64)
	if err != nil || id <= 0 {
		u.notFound(w, r, v)
		return store.Model{}, false
	}
	m, err := u.st.Model(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !v.may(m.TeamID, store.PermRead) {
		u.notFound(w, r, v)
		return store.Model{}, false
	}
	if err != nil {
		u.serverError(w, v, err)
		return store.Model{}, false
	}
	return m, true
}

// versionDetail is a version on the model page.
type versionDetail struct {
	Version   store.Version
	Verdict   string
	Files     []store.File
	Evidence  []store.Evidence
	Findings  []store.Finding
	Open      []sevCount
	BOM       *bomSummary
	Deps      *bomSummary
	Signature signature
	// Lineage and Packages are what the newest BOM and deps report give.
	Lineage  []store.LineageLink
	Packages []store.Package
	// Rejudged is what the latest scan changed against the one before it
	// (a newer scanner over the same files); nil with fewer than two.
	Rejudged *store.ScanChange
}

// modelData is the model page.
type modelData struct {
	Model    store.Model
	Team     string
	Owners   []store.ModelOwner
	Versions []versionDetail
}

func (u *ui) model(w http.ResponseWriter, r *http.Request, v *viewer) {
	m, ok := u.visibleModel(w, r, v)
	if !ok {
		return
	}
	d, err := u.modelDetail(r.Context(), m, v)
	if err != nil {
		u.serverError(w, v, err)
		return
	}
	u.render(w, http.StatusOK, "model", v, page{Title: m.Name, Data: d})
}

func (u *ui) modelDetail(ctx context.Context, m store.Model, v *viewer) (modelData, error) {
	d := modelData{Model: m, Team: v.teamNames[m.TeamID]}
	versions, err := u.st.Versions(ctx, m.ID)
	if err != nil {
		return d, err
	}
	if d.Owners, err = u.st.ModelOwners(ctx, m.ID); err != nil {
		return d, err
	}
	for _, ver := range slices.Backward(versions) {
		vd := versionDetail{Version: ver, Signature: signature{Status: sigNone}}
		if vd.Verdict, err = u.verdict(ctx, ver.ID); err != nil {
			return d, err
		}
		if vd.Files, err = u.st.VersionFiles(ctx, ver.ID); err != nil {
			return d, err
		}
		if vd.Evidence, err = u.st.ListEvidence(ctx, ver.ID, ""); err != nil {
			return d, err
		}
		if vd.Findings, err = u.st.VersionFindings(ctx, ver.ID); err != nil {
			return d, err
		}
		vd.Open = openCounts(vd.Findings)
		if err := u.inventoryDetail(ctx, &vd); err != nil {
			return d, err
		}
		// The latest report of each kind is the one shown.
		latest := map[string]int64{}
		for _, e := range vd.Evidence {
			latest[e.Kind] = e.ID
		}
		for kind, id := range latest {
			if kind != store.EvidenceBOM && kind != store.EvidenceDeps && kind != store.EvidenceVerify {
				continue
			}
			b, err := u.st.EvidenceReport(ctx, id)
			if err != nil {
				// Summarized as unreadable, like a report that is not JSON.
				u.log.Error("webui: evidence unreadable", "evidence", id, "err", err)
				b = nil
			}
			switch kind {
			case store.EvidenceBOM:
				s := summarizeBOM(b)
				vd.BOM = &s
			case store.EvidenceDeps:
				s := summarizeBOM(b)
				vd.Deps = &s
			case store.EvidenceVerify:
				vd.Signature = verifySummary(b)
			}
		}
		d.Versions = append(d.Versions, vd)
	}
	return d, nil
}

// inventoryDetail adds to a version what the inventory drew from its
// evidence: lineage, packages, and what its latest scan changed.
func (u *ui) inventoryDetail(ctx context.Context, vd *versionDetail) error {
	var err error
	if vd.Lineage, err = u.st.Lineage(ctx, vd.Version.ID); err != nil {
		return err
	}
	if vd.Packages, err = u.st.Packages(ctx, vd.Version.ID); err != nil {
		return err
	}
	runs, err := u.st.ScanRuns(ctx, vd.Version.ID)
	if err != nil || len(runs) < 2 {
		return err
	}
	c, err := u.st.ScanChanges(ctx, vd.Version.ID, runs[len(runs)-1].EvidenceID)
	vd.Rejudged = &c
	return err
}

// seenIn is a version in which a finding was seen.
type seenIn struct {
	Version store.Version
	Path    string // the file's path in that version
}

// findingData is the finding page.
type findingData struct {
	Model     store.Model
	Finding   store.Finding
	Seen      []seenIn
	History   []store.FindingState
	CanTriage bool
	Open      bool
	// DefaultUntil is the date the accept-risk form proposes.
	DefaultUntil string
	MaxUntil     string
	Today        string
}

// loadFinding returns the finding named by the request's path, which must
// be a finding of the visible model m; ok is false after a 404 or 500.
func (u *ui) loadFinding(w http.ResponseWriter, r *http.Request, v *viewer, m store.Model) (findingData, bool) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("finding"), 10, 64)
	if err != nil || id <= 0 {
		u.notFound(w, r, v)
		return findingData{}, false
	}
	d := findingData{Model: m, CanTriage: v.may(m.TeamID, store.PermTriage)}
	versions, err := u.st.Versions(ctx, m.ID)
	if err != nil {
		u.serverError(w, v, err)
		return d, false
	}
	found := false
	for _, ver := range slices.Backward(versions) {
		fs, err := u.st.VersionFindings(ctx, ver.ID)
		if err != nil {
			u.serverError(w, v, err)
			return d, false
		}
		i := slices.IndexFunc(fs, func(f store.Finding) bool { return f.ID == id })
		if i < 0 {
			continue
		}
		if !found {
			d.Finding, found = fs[i], true
		}
		files, err := u.st.VersionFiles(ctx, ver.ID)
		if err != nil {
			u.serverError(w, v, err)
			return d, false
		}
		s := seenIn{Version: ver}
		if j := slices.IndexFunc(files, func(f store.File) bool { return f.SHA256 == fs[i].FileSHA256 }); j >= 0 {
			s.Path = files[j].Path
		}
		d.Seen = append(d.Seen, s)
	}
	if !found {
		u.notFound(w, r, v)
		return d, false
	}
	if d.History, err = u.st.FindingHistory(ctx, id); err != nil {
		u.serverError(w, v, err)
		return d, false
	}
	now := u.opts.Now().UTC()
	d.Open = d.Finding.State == store.StateOpen
	d.Today = now.Format("2006-01-02")
	d.DefaultUntil = now.AddDate(0, 0, 90).Format("2006-01-02")
	d.MaxUntil = now.Add(store.MaxAcceptance - 24*time.Hour).Format("2006-01-02")
	return d, true
}

func (u *ui) finding(w http.ResponseWriter, r *http.Request, v *viewer) {
	m, ok := u.visibleModel(w, r, v)
	if !ok {
		return
	}
	d, ok := u.loadFinding(w, r, v, m)
	if !ok {
		return
	}
	u.render(w, http.StatusOK, "finding", v, page{Title: "Finding " + d.Finding.Rule, Data: d})
}

// triageActions maps the triage form's actions to finding states.
var triageActions = map[string]string{
	"accept-risk":    store.StateAcceptedRisk,
	"false-positive": store.StateFalsePositive,
	"reopen":         store.StateOpen,
}

// triage records a state change of a finding, for the roles that may
// triage in the model's team (403 for the others).
func (u *ui) triage(w http.ResponseWriter, r *http.Request, v *viewer) {
	m, ok := u.visibleModel(w, r, v)
	if !ok {
		return
	}
	d, ok := u.loadFinding(w, r, v, m)
	if !ok {
		return
	}
	if !d.CanTriage {
		u.message(w, http.StatusForbidden, v, "Not allowed", "Your role in this team may not triage findings.")
		return
	}
	fail := func(msg string) {
		u.render(w, http.StatusBadRequest, "finding", v, page{Title: "Finding " + d.Finding.Rule, Error: msg, Data: d})
	}
	state, ok := triageActions[r.PostForm.Get("action")]
	if !ok {
		fail("Choose what to do with the finding.")
		return
	}
	change := store.FindingState{State: state, Reason: strings.ReplaceAll(strings.TrimSpace(r.PostForm.Get("reason")), "\r\n", "\n")}
	if state != store.StateOpen && change.Reason == "" {
		fail("Give a reason.")
		return
	}
	if state == store.StateAcceptedRisk {
		until, err := time.Parse("2006-01-02", r.PostForm.Get("until"))
		if err != nil {
			fail("Give the date until which the risk is accepted.")
			return
		}
		change.ExpiresAt = until
	}
	_, err := u.st.SetFindingState(r.Context(), actor(r, v), d.Finding.ID, change)
	switch {
	case errors.Is(err, store.ErrInvalid) && state == store.StateAcceptedRisk && strings.Contains(err.Error(), "expiry"):
		fail("The date must be after today and at most 366 days ahead.")
		return
	case errors.Is(err, store.ErrInvalid):
		fail("The change was refused: " + err.Error())
		return
	case err != nil:
		u.serverError(w, v, err)
		return
	}
	http.Redirect(w, r, u.opts.BasePath+"/models/"+strconv.FormatInt(m.ID, 10)+"/findings/"+
		strconv.FormatInt(d.Finding.ID, 10), http.StatusSeeOther)
}
