package webui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/violet-mlsecops/violet/store"
)

// OIDCConfig configures sign-in with an OpenID Connect provider (single
// sign-on), beside passwords. The UI runs the authorization code flow with
// PKCE (S256), a state bound to the browser by a cookie and a nonce; it
// verifies the ID token's signature, issuer, audience, expiry and nonce,
// and signs the person in as the existing user whose login is the value
// of UserClaim.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (https, or http on a loopback
	// address for testing); its discovery document is read at the first
	// sign-in.
	Issuer string
	// ClientID and ClientSecret are the UI's client at the provider. The
	// secret may be empty for a public client (PKCE still binds the code).
	ClientID     string
	ClientSecret string
	// RedirectURL is the address of BasePath+"/oidc/callback" as browsers
	// reach it, registered at the provider.
	RedirectURL string
	// UserClaim names the ID token claim whose value is the user's login
	// (default "email"). With "email", the token must also say
	// email_verified: true.
	UserClaim string
	// CreateUsers creates the user of an unknown login, with no team and
	// no role (they see nothing until an admin adds them to a team).
	// False (the default) refuses unknown users.
	CreateUsers bool
	// HTTPClient reaches the provider (default: a client with a 30 s
	// timeout). Every answer is read up to 1 MiB.
	HTTPClient *http.Client
}

// Names and bounds of the OIDC flow.
const (
	oidcCookie       = "__Host-violet_oidc" // state, nonce and PKCE verifier of a sign-in under way
	oidcFlowLifetime = 10 * time.Minute
	oidcTimeout      = 30 * time.Second
	oidcRetry        = 10 * time.Second // after a failed discovery, before the next try
	maxOIDCAnswer    = 1 << 20
	maxOIDCParam     = 4096 // a code or state in the callback's query
	defaultUserClaim = "email"
)

// reservedClaims are the claims of the token itself: none names a user
// (mapping "aud" would sign every user in as the client id's login).
var reservedClaims = []string{"iss", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash", "c_hash",
	"auth_time", "acr", "amr", "jti", "sid", "typ", "email_verified"}

// Validate checks the configuration; New leaves single sign-on off (its
// pages answer 503) when it does not pass.
func (c *OIDCConfig) Validate() error {
	if err := checkProviderURL("issuer", c.Issuer); err != nil {
		return err
	}
	if err := checkProviderURL("redirect URL", c.RedirectURL); err != nil {
		return err
	}
	if c.ClientID == "" || len(c.ClientID) > 512 || strings.ContainsFunc(c.ClientID, unicode.IsControl) {
		return errors.New("OIDC client id: want 1 to 512 printable characters")
	}
	if strings.ContainsFunc(c.ClientSecret, unicode.IsControl) || len(c.ClientSecret) > 4096 {
		return errors.New("OIDC client secret: want at most 4096 printable characters")
	}
	claim := c.userClaim()
	if len(claim) > 128 || strings.ContainsFunc(claim, func(r rune) bool { return !unicode.IsPrint(r) || r == ' ' }) {
		return fmt.Errorf("OIDC user claim %q: want a claim name", claim)
	}
	if slices.Contains(reservedClaims, claim) {
		return fmt.Errorf("OIDC user claim %q names no user: choose e.g. email, preferred_username or sub", claim)
	}
	return nil
}

func (c *OIDCConfig) userClaim() string {
	if c.UserClaim == "" {
		return defaultUserClaim
	}
	return c.UserClaim
}

// checkProviderURL accepts an absolute https URL, or http to a loopback
// address (a provider or a UI on the same machine).
func checkProviderURL(what, s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("OIDC %s %q: want an absolute https:// URL", what, s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || u.Hostname() == "localhost" {
			return nil
		}
	}
	return fmt.Errorf("OIDC %s %q: want https:// (http only to a loopback address)", what, s)
}

// oidcClient is the UI's client of the provider, discovered at the first
// sign-in (and again after a failure, at most every oidcRetry).
type oidcClient struct {
	cfg  OIDCConfig
	err  error // the configuration's; nil when valid
	http *http.Client
	now  func() time.Time

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	failedAt time.Time
}

func newOIDCClient(cfg *OIDCConfig, now func() time.Time) *oidcClient {
	c := &oidcClient{cfg: *cfg, err: cfg.Validate(), now: now}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: oidcTimeout}
	}
	hc := *base
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	hc.Transport = limitedTransport{rt}
	c.http = &hc
	return c
}

// errDiscovery is a provider that could not be discovered (now).
var errDiscovery = errors.New("the identity provider cannot be reached")

// discover returns the OAuth 2.0 configuration and the ID token verifier.
func (c *oidcClient) discover(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.oauth != nil {
		return c.oauth, c.verifier, nil
	}
	if !c.failedAt.IsZero() && c.now().Sub(c.failedAt) < oidcRetry {
		return nil, nil, errDiscovery
	}
	// A browser that goes away does not make the discovery fail for all.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), oidcTimeout)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, c.http), c.cfg.Issuer)
	if err == nil {
		err = checkEndpoints(p)
	}
	if err != nil {
		c.failedAt = c.now()
		return nil, nil, fmt.Errorf("%w: %v", errDiscovery, err)
	}
	c.oauth = &oauth2.Config{ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: c.cfg.RedirectURL, Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
	c.verifier = p.Verifier(&oidc.Config{ClientID: c.cfg.ClientID, Now: c.now})
	return c.oauth, c.verifier, nil
}

// checkEndpoints refuses a discovery document that would send the client
// secret, the code or the keys over plain HTTP to another machine.
func checkEndpoints(p *oidc.Provider) error {
	var doc struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := p.Claims(&doc); err != nil {
		return err
	}
	e := p.Endpoint()
	for _, x := range []struct{ what, u string }{{"authorization endpoint", e.AuthURL}, {"token endpoint", e.TokenURL}, {"jwks_uri", doc.JWKS}} {
		if err := checkProviderURL(x.what, x.u); err != nil {
			return err
		}
	}
	return nil
}

// limitedTransport fails an answer of the provider longer than
// maxOIDCAnswer, as the OIDC library reads answers whole.
type limitedTransport struct{ base http.RoundTripper }

// RoundTrip sends the request and bounds the answer's body.
func (t limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil {
		resp.Body = &limitedBody{ReadCloser: resp.Body, left: maxOIDCAnswer}
	}
	return resp, err
}

type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more than allowed tells a long body from one that ends
		// at the limit.
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("the identity provider's answer is longer than %d bytes", maxOIDCAnswer)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// oidcLogin starts a sign-in: it keeps a fresh state, nonce and PKCE
// verifier in a short-lived cookie and sends the browser to the provider.
func (u *ui) oidcLogin(w http.ResponseWriter, r *http.Request) {
	if !u.oidcReady(w) {
		return
	}
	cfg, _, err := u.oidc.discover(r.Context())
	if err != nil {
		u.oidcUnavailable(w, err)
		return
	}
	state, err := randomToken()
	if err != nil {
		u.serverError(w, nil, err)
		return
	}
	nonce, err := randomToken()
	if err != nil {
		u.serverError(w, nil, err)
		return
	}
	verifier := oauth2.GenerateVerifier()
	u.setCookie(w, oidcCookie, state+"."+nonce+"."+verifier, int(oidcFlowLifetime/time.Second))
	http.Redirect(w, r, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), http.StatusSeeOther)
}

// oidcReady answers 404 when single sign-on is off and 503 when it is
// misconfigured.
func (u *ui) oidcReady(w http.ResponseWriter) bool {
	if u.oidc == nil {
		u.message(w, http.StatusNotFound, nil, "Not found", "Single sign-on is not configured on this server.")
		return false
	}
	if u.oidc.err != nil {
		u.oidcUnavailable(w, u.oidc.err)
		return false
	}
	return true
}

func (u *ui) oidcUnavailable(w http.ResponseWriter, err error) {
	u.log.Error("webui: single sign-on", "err", err)
	u.message(w, http.StatusServiceUnavailable, nil, "Single sign-on unavailable",
		"Single sign-on does not work at the moment. Try again later; if it persists, tell your administrator.")
}

// oidcCallback ends a sign-in: the state must be the browser's, the code
// is exchanged (with the PKCE verifier), the ID token verified (signature,
// issuer, audience, expiry, nonce), and its user claim must name a user.
// Any failure starts no session.
func (u *ui) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if !u.oidcReady(w) {
		return
	}
	if ok, wait := u.limiter.allow(clientKey(r.RemoteAddr)); !ok {
		w.Header().Set("Retry-After", fmt.Sprint(int(wait/time.Second)+1))
		u.renderLogin(w, http.StatusTooManyRequests, "Too many sign-in attempts from your address. Wait a minute and try again.")
		return
	}
	// The flow's cookie is good for one try.
	c, cookieErr := r.Cookie(oidcCookie)
	u.setCookie(w, oidcCookie, "", -1)
	q := r.URL.Query()
	var state, nonce, verifier string
	if cookieErr == nil && len(c.Value) <= 3*64 {
		parts := strings.Split(c.Value, ".")
		if len(parts) == 3 {
			state, nonce, verifier = parts[0], parts[1], parts[2]
		}
	}
	if len(q.Get("state")) > maxOIDCParam || !tokensEqual(q.Get("state"), state) || nonce == "" || verifier == "" {
		u.message(w, http.StatusForbidden, nil, "Sign-in expired",
			"This sign-in could not be accepted (it expired, or was not started in this browser). Sign in again.")
		return
	}
	if e := q.Get("error"); e != "" {
		u.log.Warn("webui: the identity provider refused a sign-in", "error", shorten(e, 64))
		u.renderLogin(w, http.StatusUnauthorized, "The identity provider did not sign you in.")
		return
	}
	code := q.Get("code")
	if code == "" || len(code) > maxOIDCParam {
		u.renderLogin(w, http.StatusBadRequest, "Single sign-on failed: the identity provider sent no code.")
		return
	}
	login, name, err := u.oidcIdentity(r.Context(), code, verifier, nonce)
	if errors.Is(err, errDiscovery) {
		u.oidcUnavailable(w, err)
		return
	}
	if err != nil {
		u.log.Warn("webui: single sign-on refused", "remote", r.RemoteAddr, "err", err)
		u.auditSignIn(r, store.SignIn{Event: store.SignInFailed, Reason: "single sign-on: the identity provider's answer was refused"})
		u.renderLogin(w, http.StatusUnauthorized, "Single sign-on failed. Sign in again; if it persists, tell your administrator.")
		return
	}
	user, err := u.oidcUser(r, login, name)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		u.log.Warn("webui: single sign-on of an unknown user", "login", shorten(login, 128), "remote", r.RemoteAddr)
		u.auditSignIn(r, store.SignIn{Event: store.SignInFailed, Login: login, Reason: "single sign-on: no such user"})
		u.renderLogin(w, http.StatusForbidden, fmt.Sprintf("There is no Violet account %q. Ask an administrator to create it.", shorten(login, 128)))
		return
	}
	if err != nil {
		u.serverError(w, nil, err)
		return
	}
	u.startSession(w, r, user, store.SignInOIDC)
}

// oidcIdentity exchanges the code and returns the login (the user claim)
// and the display name of a verified ID token.
func (u *ui) oidcIdentity(ctx context.Context, code, verifier, nonce string) (login, name string, err error) {
	cfg, idv, err := u.oidc.discover(ctx)
	if err != nil {
		return "", "", err
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, u.oidc.http), oidcTimeout)
	defer cancel()
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return "", "", fmt.Errorf("code exchange: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return "", "", errors.New("the token answer holds no id_token")
	}
	id, err := idv.Verify(ctx, raw)
	if err != nil {
		return "", "", err
	}
	if !tokensEqual(id.Nonce, nonce) {
		return "", "", errors.New("the ID token's nonce is not this sign-in's")
	}
	var claims map[string]any
	if err := id.Claims(&claims); err != nil {
		return "", "", err
	}
	// With several audiences, the client must be the authorized party.
	if azp, ok := claims["azp"]; (ok || len(id.Audience) > 1) && azp != u.oidc.cfg.ClientID {
		return "", "", fmt.Errorf("the ID token's authorized party %v is not this client", azp)
	}
	claim := u.oidc.cfg.userClaim()
	login, _ = claims[claim].(string)
	if login == "" {
		return "", "", fmt.Errorf("the ID token has no string claim %q", claim)
	}
	if claim == "email" {
		if v := claims["email_verified"]; v != true && v != "true" {
			return "", "", errors.New("the ID token's email is not verified (email_verified)")
		}
	}
	name, _ = claims["name"].(string)
	return login, name, nil
}

// oidcUser returns the user whose login is login: ErrNotFound when there
// is none (unless CreateUsers: then one is created, with no team and no
// role), ErrInvalid for a login the store refuses.
func (u *ui) oidcUser(r *http.Request, login, name string) (*store.User, error) {
	ctx := r.Context()
	if len(login) > maxLoginLen {
		return nil, store.ErrInvalid
	}
	user, err := u.st.UserByLogin(ctx, login)
	if err == nil || !errors.Is(err, store.ErrNotFound) || !u.oidc.cfg.CreateUsers {
		return &user, err
	}
	if len(name) > 256 || strings.ContainsFunc(name, unicode.IsControl) || strings.TrimSpace(name) != name {
		name = ""
	}
	user, err = u.st.CreateUser(ctx, store.Actor{Name: "webui single sign-on", Remote: r.RemoteAddr}, login, name, "")
	if errors.Is(err, store.ErrExists) { // created meanwhile
		user, err = u.st.UserByLogin(ctx, login)
	}
	if err == nil {
		u.log.Info("webui: created a user at their first single sign-on", "login", login)
	}
	return &user, err
}
