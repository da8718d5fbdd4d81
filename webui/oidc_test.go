package webui

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// testIdP is an OpenID Connect provider for the tests, on 127.0.0.1:
// discovery, a JWKS of an ECDSA P-256 key made for the test, /authorize
// (which signs in whoever asks and redirects back with a code) and /token
// (which checks the client, the redirect URL and the PKCE verifier, and
// returns an ID token signed with the key).
type testIdP struct {
	t       testing.TB
	srv     *httptest.Server
	key     *ecdsa.PrivateKey
	kid     string
	client  string
	secret  string
	signKey *ecdsa.PrivateKey // the key that signs ID tokens (key unless a test forges)

	mu sync.Mutex
	// codes are the codes issued and not yet exchanged.
	codes map[string]idpCode
	// claims are the ID token's claims for a nonce; a test changes them.
	claims func(nonce string) map[string]any
}

type idpCode struct {
	challenge, redirect, nonce string
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func newTestIdP(t testing.TB) *testIdP {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &testIdP{t: t, key: key, signKey: key, kid: "test-key", client: "violet-ui", secret: "s3cret", codes: map[string]idpCode{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	p.claims = func(nonce string) map[string]any { return p.standardClaims(nonce, "alice") }
	return p
}

// standardClaims are the claims of a valid ID token for login.
func (p *testIdP) standardClaims(nonce, login string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": p.srv.URL, "sub": "id-" + login, "aud": p.client, "nonce": nonce,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "preferred_username": login,
		"email": login + "@example.com", "email_verified": true, "name": "Name of " + login}
}

func (p *testIdP) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		writeTestJSON(w, map[string]any{"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize",
			"token_endpoint": p.srv.URL + "/token", "jwks_uri": p.srv.URL + "/jwks",
			"id_token_signing_alg_values_supported": []string{"ES256"}, "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "code_challenge_methods_supported": []string{"S256"}})
	case "/jwks":
		pub, err := p.key.PublicKey.Bytes() // 0x04 || X || Y
		if err != nil {
			p.t.Error(err)
		}
		writeTestJSON(w, map[string]any{"keys": []any{map[string]any{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig",
			"kid": p.kid, "x": b64(pub[1:33]), "y": b64(pub[33:65])}}})
	case "/authorize":
		q := r.URL.Query()
		if q.Get("response_type") != "code" || q.Get("client_id") != p.client || q.Get("code_challenge_method") != "S256" ||
			q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" ||
			!strings.Contains(q.Get("scope"), "openid") {
			http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		code, _ := randomToken()
		p.mu.Lock()
		p.codes[code] = idpCode{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), nonce: q.Get("nonce")}
		p.mu.Unlock()
		back, err := url.Parse(q.Get("redirect_uri"))
		if err != nil {
			http.Error(w, "bad redirect_uri", http.StatusBadRequest)
			return
		}
		back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	case "/token":
		p.token(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (p *testIdP) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	oauthErr := func(code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code}) // a test provider: the client reads what it gets
	}
	if id != p.client || secret != p.secret {
		oauthErr("invalid_client")
		return
	}
	p.mu.Lock()
	c, ok := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code"))
	claims := p.claims
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != c.redirect ||
		b64(sum[:]) != c.challenge {
		oauthErr("invalid_grant")
		return
	}
	writeTestJSON(w, map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300,
		"id_token": p.sign(claims(c.nonce))})
}

// sign returns the ES256 JWS of claims, signed with signKey.
func (p *testIdP) sign(claims map[string]any) string {
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": p.kid})
	payload, _ := json.Marshal(claims)
	input := b64(header) + "." + b64(payload)
	h := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, p.signKey, h[:])
	if err != nil {
		p.t.Fatal(err)
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	return input + "." + b64(sig)
}

// otherToken is tok with its first character changed.
func otherToken(tok string) string {
	if tok[0] == 'x' {
		return "y" + tok[1:]
	}
	return "x" + tok[1:]
}

func writeTestJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v) // a test provider: the client reads what it gets
}

// oidcServer serves the UI of w over TLS with single sign-on at idp; cfg
// changes the configuration.
func (w *world) oidcServer(t *testing.T, idp *testIdP, cfg func(*OIDCConfig)) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	c := &OIDCConfig{Issuer: idp.srv.URL, ClientID: idp.client, ClientSecret: idp.secret,
		RedirectURL: "https://" + srv.Listener.Addr().String() + "/oidc/callback", UserClaim: "preferred_username"}
	if cfg != nil {
		cfg(c)
	}
	srv.Config.Handler = New(w.st, Options{OIDC: c, LoginBurst: 100})
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// toProvider follows the UI's redirect to the provider and returns the
// provider's redirect back to the callback.
func (c *client) toProvider() *url.URL {
	c.t.Helper()
	r := c.get("/oidc/login")
	wantStatus(c.t, r, http.StatusSeeOther)
	req, _ := http.NewRequest(http.MethodGet, r.Header.Get("Location"), nil)
	back := c.do(req)
	if back.StatusCode != http.StatusFound {
		c.t.Fatalf("the provider's /authorize: %d %s", back.StatusCode, back.body)
	}
	u, err := url.Parse(back.Header.Get("Location"))
	if err != nil {
		c.t.Fatal(err)
	}
	return u
}

// callback follows the provider's redirect back to the UI.
func (c *client) callback(u *url.URL) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
	return c.do(req)
}

// signedIn reports whether the client has a session, and fails the test
// when a refused sign-in set a session cookie.
func (c *client) signedIn() bool {
	c.t.Helper()
	return c.get("/").StatusCode == http.StatusOK
}

func hasSessionCookie(r response) bool {
	for _, ck := range r.Cookies() {
		if ck.Name == sessionCookie && ck.MaxAge >= 0 && ck.Value != "" {
			return true
		}
	}
	return false
}

func TestOIDCLogin(t *testing.T) {
	w := newWorld(t)
	idp := newTestIdP(t)
	srv := w.oidcServer(t, idp, nil)
	c := newClient(t, srv)
	if r := c.get("/login"); !strings.Contains(r.body, `href="/oidc/login"`) {
		t.Errorf("the login page offers no single sign-on: %s", r.body)
	}
	r := c.get("/oidc/login")
	wantStatus(t, r, http.StatusSeeOther)
	var flow *http.Cookie
	for _, ck := range r.Cookies() {
		if ck.Name == oidcCookie {
			flow = ck
		}
	}
	if flow == nil || !flow.Secure || !flow.HttpOnly || flow.SameSite != http.SameSiteLaxMode || flow.MaxAge <= 0 || flow.MaxAge > 600 {
		t.Fatalf("the flow's cookie %+v: want Secure, HttpOnly, SameSite=Lax, at most 10 minutes", flow)
	}
	auth, _ := url.Parse(r.Header.Get("Location"))
	q := auth.Query()
	if !strings.HasPrefix(auth.String(), idp.srv.URL+"/authorize?") || q.Get("code_challenge_method") != "S256" ||
		q.Get("state") == "" || q.Get("nonce") == "" || q.Get("state") == q.Get("nonce") {
		t.Fatalf("authorization request %s", auth)
	}

	back := c.toProvider()
	r = c.callback(back)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" || !hasSessionCookie(r) {
		t.Fatalf("callback: %d %q: %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	home := c.get("/")
	wantStatus(t, home, http.StatusOK)
	if !strings.Contains(home.body, "alice") {
		t.Errorf("signed in, but not as alice: %s", home.body)
	}
	// The same callback again (a replayed code) starts nothing.
	again := newClient(t, srv)
	if r := again.callback(back); hasSessionCookie(r) || again.signedIn() {
		t.Errorf("a replayed callback signed in: %d", r.StatusCode)
	}
}

// TestOIDCRefused: every failed check refuses the sign-in and starts no
// session.
func TestOIDCRefused(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	must[store.User](t)(w.st.CreateUser(ctx, admin, "dave@example.com", "Dave", ""))
	forger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		cfg    func(*OIDCConfig)
		claims func(p *testIdP, nonce string) map[string]any
		// tamper changes the callback's URL or the browser before the callback.
		tamper func(c *client, back *url.URL) *client
		status int
	}{
		{name: "wrong nonce", status: http.StatusUnauthorized, claims: func(p *testIdP, nonce string) map[string]any {
			return p.standardClaims("another-sign-in", "alice")
		}},
		{name: "no nonce", status: http.StatusUnauthorized, claims: func(p *testIdP, nonce string) map[string]any {
			c := p.standardClaims(nonce, "alice")
			delete(c, "nonce")
			return c
		}},
		{name: "wrong audience", status: http.StatusUnauthorized, claims: func(p *testIdP, nonce string) map[string]any {
			c := p.standardClaims(nonce, "alice")
			c["aud"] = "another-client"
			return c
		}},
		{name: "several audiences, another authorized party", status: http.StatusUnauthorized, claims: func(p *testIdP, nonce string) map[string]any {
			c := p.standardClaims(nonce, "alice")
			c["aud"] = []string{"another-client", p.client}
			c["azp"] = "another-client"
			return c
		}},
		{name: "expired", status: http.StatusUnauthorized, claims: func(p *testIdP, nonce string) map[string]any {
			c := p.standardClaims(nonce, "alice")
			c["iat"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
			return c
		}},
		{name: "wrong issuer", status: http.StatusUnauthorized, claims: func(p *testIdP, nonce string) map[string]any {
			c := p.standardClaims(nonce, "alice")
			c["iss"] = "https://evil.example"
			return c
		}},
		{name: "unknown user", status: http.StatusForbidden, claims: func(p *testIdP, nonce string) map[string]any {
			return p.standardClaims(nonce, "mallory")
		}},
		{name: "no user claim", status: http.StatusUnauthorized, claims: func(p *testIdP, nonce string) map[string]any {
			c := p.standardClaims(nonce, "alice")
			delete(c, "preferred_username")
			return c
		}},
		{name: "user claim not a string", status: http.StatusUnauthorized, claims: func(p *testIdP, nonce string) map[string]any {
			c := p.standardClaims(nonce, "alice")
			c["preferred_username"] = []string{"alice"}
			return c
		}},
		{name: "email not verified", status: http.StatusUnauthorized, cfg: func(c *OIDCConfig) { c.UserClaim = "email" },
			claims: func(p *testIdP, nonce string) map[string]any {
				c := p.standardClaims(nonce, "dave")
				c["email_verified"] = false
				return c
			}},
		{name: "state mismatch", status: http.StatusForbidden, tamper: func(c *client, back *url.URL) *client {
			q := back.Query()
			q.Set("state", otherToken(q.Get("state")))
			back.RawQuery = q.Encode()
			return c
		}},
		{name: "another browser", status: http.StatusForbidden, tamper: func(c *client, back *url.URL) *client {
			return newClient(c.t, c.srv)
		}},
		{name: "wrong PKCE verifier", status: http.StatusUnauthorized, tamper: func(c *client, back *url.URL) *client {
			// The browser holds the state and nonce but another verifier,
			// as an attacker with a stolen code would.
			u, _ := url.Parse(c.srv.URL)
			for _, ck := range c.http.Jar.Cookies(u) {
				if ck.Name == oidcCookie {
					parts := strings.Split(ck.Value, ".")
					c.http.Jar.SetCookies(u, []*http.Cookie{{Name: oidcCookie, Value: parts[0] + "." + parts[1] + "." + otherToken(parts[2]),
						Path: "/", Secure: true}})
				}
			}
			return c
		}},
		{name: "provider error", status: http.StatusUnauthorized, tamper: func(c *client, back *url.URL) *client {
			q := back.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			back.RawQuery = q.Encode()
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp := newTestIdP(t)
			if tc.claims != nil {
				idp.claims = func(nonce string) map[string]any { return tc.claims(idp, nonce) }
			}
			srv := w.oidcServer(t, idp, tc.cfg)
			c := newClient(t, srv)
			back := c.toProvider()
			if tc.tamper != nil {
				c = tc.tamper(c, back)
			}
			r := c.callback(back)
			if r.StatusCode != tc.status || hasSessionCookie(r) {
				t.Errorf("callback: %d (want %d), session cookie %v: %s", r.StatusCode, tc.status, hasSessionCookie(r), r.body)
			}
			if c.signedIn() {
				t.Error("signed in")
			}
		})
	}
	// A token signed with another key than the provider's.
	idp := newTestIdP(t)
	idp.signKey = forger
	c := newClient(t, w.oidcServer(t, idp, nil))
	if r := c.callback(c.toProvider()); r.StatusCode != http.StatusUnauthorized || hasSessionCookie(r) || c.signedIn() {
		t.Errorf("a forged token: %d", r.StatusCode)
	}
}

// TestOIDCEmailAndCreateUsers: the email claim (verified) maps to a login;
// CreateUsers creates an unknown user with no team, who sees nothing.
func TestOIDCEmailAndCreateUsers(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	must[store.User](t)(w.st.CreateUser(ctx, admin, "dave@example.com", "Dave", ""))
	idp := newTestIdP(t)
	idp.claims = func(nonce string) map[string]any { return idp.standardClaims(nonce, "dave") }
	c := newClient(t, w.oidcServer(t, idp, func(c *OIDCConfig) { c.UserClaim = "" })) // default: email
	if r := c.callback(c.toProvider()); r.StatusCode != http.StatusSeeOther || !c.signedIn() {
		t.Fatalf("sign-in by email: %d %s", r.StatusCode, r.body)
	}

	idp.claims = func(nonce string) map[string]any { return idp.standardClaims(nonce, "newcomer") }
	c = newClient(t, w.oidcServer(t, idp, func(c *OIDCConfig) { c.CreateUsers = true }))
	if r := c.callback(c.toProvider()); r.StatusCode != http.StatusSeeOther || !c.signedIn() {
		t.Fatalf("sign-in of a new user: %d %s", r.StatusCode, r.body)
	}
	user, err := w.st.UserByLogin(ctx, "newcomer")
	if err != nil || user.PasswordHash != "" || user.DisplayName != "Name of newcomer" {
		t.Fatalf("the created user: %+v %v", user, err)
	}
	if ms, err := w.st.Memberships(ctx, user.ID); err != nil || len(ms) != 0 {
		t.Fatalf("the created user holds roles: %+v %v", ms, err)
	}
	if home := c.get("/"); strings.Contains(home.body, "secret-model") || strings.Contains(home.body, "&lt;script&gt;alert(1)&lt;/script&gt; model") {
		t.Error("a created user sees models")
	}
}

func TestOIDCConfig(t *testing.T) {
	good := OIDCConfig{Issuer: "https://idp.example.com/realms/x", ClientID: "violet", RedirectURL: "https://violet.example.com/ui/oidc/callback"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*OIDCConfig){
		"http issuer":          func(c *OIDCConfig) { c.Issuer = "http://idp.example.com" },
		"relative issuer":      func(c *OIDCConfig) { c.Issuer = "/idp" },
		"no client id":         func(c *OIDCConfig) { c.ClientID = "" },
		"http redirect":        func(c *OIDCConfig) { c.RedirectURL = "http://violet.example.com/ui/oidc/callback" },
		"claim aud":            func(c *OIDCConfig) { c.UserClaim = "aud" },
		"claim email_verified": func(c *OIDCConfig) { c.UserClaim = "email_verified" },
		"secret with newline":  func(c *OIDCConfig) { c.ClientSecret = "s\n" },
	} {
		c := good
		change(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
	// Loopback http is for testing.
	local := good
	local.Issuer, local.RedirectURL = "http://127.0.0.1:5556", "http://localhost:8080/ui/oidc/callback"
	if err := local.Validate(); err != nil {
		t.Error(err)
	}

	w := newWorld(t)
	// Single sign-on off: no link, no pages.
	c := newClient(t, w.server(t, Options{}))
	if strings.Contains(c.get("/login").body, "oidc") {
		t.Error("the login page offers single sign-on that is off")
	}
	wantStatus(t, c.get("/oidc/login"), http.StatusNotFound)
	wantStatus(t, c.get("/oidc/callback?code=x&state=y"), http.StatusNotFound)
	// Misconfigured: the pages answer 503.
	bad := good
	bad.Issuer = "http://idp.example.com"
	c = newClient(t, w.server(t, Options{OIDC: &bad}))
	wantStatus(t, c.get("/oidc/login"), http.StatusServiceUnavailable)
	// A provider that cannot be reached: 503, and no session.
	down := local
	down.Issuer = "http://127.0.0.1:1"
	c = newClient(t, w.server(t, Options{OIDC: &down}))
	wantStatus(t, c.get("/oidc/login"), http.StatusServiceUnavailable)
}

// TestOIDCDiscoveryEndpoints: a discovery document that sends the token
// request over plain HTTP to another host is refused.
func TestOIDCDiscoveryEndpoints(t *testing.T) {
	w := newWorld(t)
	var idpURL string
	idp := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		writeTestJSON(rw, map[string]any{"issuer": idpURL, "authorization_endpoint": idpURL + "/authorize",
			"token_endpoint": "http://idp.example.com/token", "jwks_uri": idpURL + "/jwks"})
	}))
	t.Cleanup(idp.Close)
	idpURL = idp.URL
	cfg := &OIDCConfig{Issuer: idp.URL, ClientID: "x", RedirectURL: "https://127.0.0.1/oidc/callback"}
	c := newClient(t, w.server(t, Options{OIDC: cfg}))
	wantStatus(t, c.get("/oidc/login"), http.StatusServiceUnavailable)
}

// TestOIDCAnswerBound: an answer of the provider longer than the bound
// fails instead of being read whole.
func TestOIDCAnswerBound(t *testing.T) {
	big := strings.Repeat("x", maxOIDCAnswer+1)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		_, _ = rw.Write([]byte(big[:len(big)-len(r.URL.Path)+1]))
	}))
	t.Cleanup(srv.Close)
	o := newOIDCClient(&OIDCConfig{Issuer: srv.URL, ClientID: "x", RedirectURL: "https://127.0.0.1/cb"}, time.Now)
	for _, tc := range []struct {
		path string
		ok   bool
	}{{"/", false}, {"/x", true}} { // maxOIDCAnswer+1 bytes, then exactly maxOIDCAnswer
		resp, err := o.http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if (err == nil) != tc.ok || (tc.ok && len(b) != maxOIDCAnswer) {
			t.Errorf("%s: %d bytes, %v", tc.path, len(b), err)
		}
	}
}

// FuzzOIDCCallback: whatever the callback's query and the flow's cookie,
// no session starts without a code the provider issued for this browser,
// and nothing panics.
func FuzzOIDCCallback(f *testing.F) {
	f.Add("s", "c", "s.n.v", "")
	f.Add("state", "code", "state.nonce.verifier", "access_denied")
	f.Add("", "", "", "")
	f.Add("a.b", "x", "a.b.c.d", "")
	st, err := store.Open(context.Background(), f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	must[store.User](f)(st.CreateUser(context.Background(), admin, "alice", "Alice", ""))
	idp := newTestIdP(f)
	h := New(st, Options{OIDC: &OIDCConfig{Issuer: idp.srv.URL, ClientID: idp.client, ClientSecret: idp.secret,
		RedirectURL: "https://127.0.0.1/oidc/callback", UserClaim: "preferred_username"}, LoginBurst: 1 << 30})
	f.Fuzz(func(t *testing.T, state, code, cookie, oauthErr string) {
		q := url.Values{"state": {state}, "code": {code}}
		if oauthErr != "" {
			q.Set("error", oauthErr)
		}
		req := httptest.NewRequest(http.MethodGet, "https://127.0.0.1/oidc/callback?"+q.Encode(), nil)
		req.Header.Set("Cookie", oidcCookie+"="+cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if r := (response{Response: rec.Result()}); rec.Code == http.StatusSeeOther || hasSessionCookie(r) {
			t.Fatalf("state %q code %q cookie %q: %d %v", state, code, cookie, rec.Code, rec.Header())
		}
	})
}
