package source

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// The manifest media types a registry is asked for.
var manifestAccept = strings.Join([]string{
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}, ", ")

// registry is a client of the OCI distribution API for one repository:
// manifests, blobs (their digest checked as they stream), tags, referrers;
// token authentication (the Bearer challenge) with the credentials of
// the options or of the Docker configuration; retries with backoff; the
// redirect rules of http.go. (go-containerregistry's remote package needs
// modules that are not in go.sum; its name package parses references.)
type registry struct {
	c          *http.Client
	lim        Limits
	base       string // scheme://host
	host, repo string
	user, pass string

	mu    sync.Mutex
	token string
}

// newRegistry returns a client of the repository of ref.
func newRegistry(ref name.Reference, opts Options) *registry {
	lim := opts.Limits
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: lim.Timeout}).DialContext,
		TLSHandshakeTimeout:   lim.Timeout,
		ResponseHeaderTimeout: lim.Timeout,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.OCIInsecure}, //nolint:gosec // --oci-insecure, asked for
		DisableCompression:    true,
	}
	repo := ref.Context()
	r := &registry{
		c:    &http.Client{Transport: tr, CheckRedirect: checkRedirect},
		lim:  lim,
		base: repo.Registry.Scheme() + "://" + repo.RegistryStr(),
		host: repo.RegistryStr(), repo: repo.RepositoryStr(),
		user: opts.OCIUsername, pass: opts.OCIPassword,
	}
	if r.user == "" && r.pass == "" {
		r.user, r.pass = dockerConfigAuth(r.host)
	}
	return r
}

// dockerConfigAuth reads the user and password of host from the Docker
// configuration ($DOCKER_CONFIG/config.json or ~/.docker/config.json;
// "auths" entries only, not credential helpers).
func dockerConfigAuth(host string) (string, string) {
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", ""
		}
		dir = filepath.Join(home, ".docker")
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil || len(b) > 1<<20 {
		return "", ""
	}
	var cfg struct {
		Auths map[string]struct {
			Auth string `json:"auth"`
		} `json:"auths"`
	}
	if json.Unmarshal(b, &cfg) != nil {
		return "", ""
	}
	keys := []string{host, "https://" + host, "http://" + host}
	if host == name.DefaultRegistry || host == "index.docker.io" {
		keys = append(keys, "https://index.docker.io/v1/")
	}
	for _, k := range keys {
		if a, ok := cfg.Auths[k]; ok {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return "", ""
			}
			user, pass, _ := strings.Cut(string(raw), ":")
			return user, pass
		}
	}
	return "", ""
}

// get GETs a path of the registry (/v2/...) or an absolute URL, with the
// Accept header, authenticating on a challenge and retrying failures. The
// answer is 200 or an error (404 is a *statusError).
func (r *registry) get(ctx context.Context, target, accept string) (*http.Response, error) {
	u := target
	if strings.HasPrefix(target, "/") {
		u = r.base + target
	}
	return withRetries(ctx, r.lim, func() (*http.Response, error) { return r.once(ctx, u, accept, true) })
}

// once sends one GET; on a 401 it answers the challenge and sends again.
func (r *registry) once(ctx context.Context, u, accept string, challenge bool) (*http.Response, error) {
	rctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("User-Agent", "violet")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if req.URL.Host == r.host {
		r.mu.Lock()
		switch {
		case r.token != "":
			req.Header.Set("Authorization", "Bearer "+r.token)
		case r.user != "" || r.pass != "":
			req.SetBasicAuth(r.user, r.pass)
		}
		r.mu.Unlock()
	}
	resp, err := r.c.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized && challenge {
		wa := resp.Header.Get("WWW-Authenticate")
		resp.Body.Close()
		cancel()
		if err := r.authenticate(ctx, wa); err != nil {
			return nil, err
		}
		return r.once(ctx, u, accept, false)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, &statusError{url: redact(u), code: resp.StatusCode}
	}
	resp.Body = &stallBody{rc: resp.Body, cancel: cancel, timer: time.AfterFunc(r.lim.Timeout, cancel), d: r.lim.Timeout}
	return resp, nil
}

// authenticate answers a WWW-Authenticate challenge: Basic needs
// credentials; Bearer gets a pull token from the realm.
func (r *registry) authenticate(ctx context.Context, challenge string) error {
	scheme, params := ParseChallenge(challenge)
	switch strings.ToLower(scheme) {
	case "basic":
		if r.user == "" && r.pass == "" {
			return fmt.Errorf("%s: the registry wants credentials (docker login)", r.host)
		}
		return nil
	case "bearer":
	default:
		return fmt.Errorf("%s: unknown authentication challenge %q", r.host, scheme)
	}
	realm, err := url.Parse(params["realm"])
	if err != nil || (realm.Scheme != "https" && realm.Scheme != "http") || realm.Host == "" {
		return fmt.Errorf("%s: token realm %q: want an http(s) URL", r.host, params["realm"])
	}
	if realm.Scheme == "http" && strings.HasPrefix(r.base, "https:") {
		return fmt.Errorf("%s: token realm %q is plain http: refused", r.host, params["realm"])
	}
	q := realm.Query()
	if s := params["service"]; s != "" {
		q.Set("service", s)
	}
	scope := params["scope"]
	if scope == "" {
		scope = "repository:" + r.repo + ":pull"
	}
	q.Set("scope", scope)
	realm.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
	if err != nil {
		return err
	}
	if r.user != "" || r.pass != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	resp, err := r.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &statusError{url: redact(realm.String()), code: resp.StatusCode}
	}
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil {
		return fmt.Errorf("%s: token: %w", r.host, err)
	}
	t := tok.Token
	if t == "" {
		t = tok.AccessToken
	}
	if t == "" {
		return fmt.Errorf("%s: the token realm gave no token", r.host)
	}
	r.mu.Lock()
	r.token = t
	r.mu.Unlock()
	return nil
}

// ParseChallenge splits a WWW-Authenticate header: its scheme and its
// key="value" parameters.
func ParseChallenge(h string) (string, map[string]string) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	params := map[string]string{}
	for rest != "" {
		rest = strings.TrimLeft(rest, " ,")
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if strings.HasPrefix(v, `"`) {
			end := strings.Index(v[1:], `"`)
			if end < 0 {
				params[k] = v[1:]
				break
			}
			params[k] = v[1 : end+1]
			rest = v[end+2:]
		} else {
			val, after, _ := strings.Cut(v, ",")
			params[k] = strings.TrimSpace(val)
			rest = after
		}
	}
	return scheme, params
}

// manifest GETs a manifest by tag or digest and returns its bytes and
// digest (computed; a digest reference must match it).
func (r *registry) manifest(ctx context.Context, reference string) ([]byte, string, error) {
	resp, err := r.get(ctx, "/v2/"+r.repo+"/manifests/"+reference, manifestAccept)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, r.lim.MaxMetadata+1))
	if err != nil {
		return nil, "", err
	}
	if int64(len(b)) > r.lim.MaxMetadata {
		return nil, "", fmt.Errorf("manifest larger than %d bytes", r.lim.MaxMetadata)
	}
	sum := sha256.Sum256(b)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if strings.HasPrefix(reference, "sha256:") && reference != digest {
		return nil, "", fmt.Errorf("manifest %s: its bytes have digest %s", reference, digest)
	}
	return b, digest, nil
}

// blob GETs a blob; its digest is checked when the body ends.
func (r *registry) blob(ctx context.Context, digest string) (io.ReadCloser, error) {
	want, ok := sha256Hex(digest)
	if !ok {
		return nil, fmt.Errorf("blob digest %q is not sha256", digest)
	}
	resp, err := r.get(ctx, "/v2/"+r.repo+"/blobs/"+digest, "")
	if err != nil {
		return nil, err
	}
	return &digestBody{rc: resp.Body, h: sha256.New(), want: want}, nil
}

// digestBody fails the read that ends a blob whose bytes do not have
// their digest.
type digestBody struct {
	rc   io.ReadCloser
	h    hash.Hash
	want string
}

func (d *digestBody) Read(p []byte) (int, error) {
	n, err := d.rc.Read(p)
	d.h.Write(p[:n])
	if err == io.EOF && hex.EncodeToString(d.h.Sum(nil)) != d.want {
		return n, fmt.Errorf("blob sha256:%s: its bytes have another digest", d.want)
	}
	return n, err
}

func (d *digestBody) Close() error { return d.rc.Close() }

// tags lists the repository's tags, following the Link pages.
func (r *registry) tags(ctx context.Context) ([]string, error) {
	var out []string
	next := "/v2/" + r.repo + "/tags/list"
	for page := 0; next != ""; page++ {
		if page >= 1000 {
			return nil, errors.New("tags: too many pages")
		}
		resp, err := r.get(ctx, next, "application/json")
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, r.lim.MaxMetadata+1))
		link := resp.Header.Get("Link")
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if int64(len(b)) > r.lim.MaxMetadata {
			return nil, errors.New("tags: answer too large")
		}
		var list struct {
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("tags: %w", err)
		}
		out = append(out, list.Tags...)
		if len(out) > r.lim.MaxFiles {
			return nil, fmt.Errorf("more than %d tags", r.lim.MaxFiles)
		}
		next = nextLink(link)
		if next != "" && !strings.HasPrefix(next, "/v2/") {
			return nil, fmt.Errorf("tags: next page %q is not on the registry", next)
		}
	}
	return out, nil
}

// referrers lists the manifests that name digest as their subject: the
// referrers API, or the tag fallback (sha256-<hex>) of registries without
// it.
func (r *registry) referrers(ctx context.Context, digest string) ([]OCIDescriptor, error) {
	resp, err := r.get(ctx, "/v2/"+r.repo+"/referrers/"+digest, "application/vnd.oci.image.index.v1+json")
	var b []byte
	if err == nil {
		b, err = io.ReadAll(io.LimitReader(resp.Body, r.lim.MaxMetadata+1))
		resp.Body.Close()
	} else {
		var se *statusError
		if !errors.As(err, &se) || se.code != http.StatusNotFound {
			return nil, err
		}
		b, _, err = r.manifest(ctx, strings.Replace(digest, ":", "-", 1))
		if errors.As(err, &se) && se.code == http.StatusNotFound {
			return nil, nil
		}
	}
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > r.lim.MaxMetadata {
		return nil, errors.New("referrers: answer too large")
	}
	var idx struct {
		Manifests []OCIDescriptor `json:"manifests"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("referrers: %w", err)
	}
	return idx.Manifests, nil
}
