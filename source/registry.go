package source

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// The manifest media types a registry is asked for.
var manifestAccept = strings.Join([]string{
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}, ", ")

// registry is a client of the OCI distribution API for one repository:
// manifests, blobs (their digest checked as they stream), tags, referrers,
// each read within the limits; retries with backoff; the redirect rules of
// http.go. Authentication is go-containerregistry's: its transport answers
// the registry's challenge (Basic, or a Bearer token from the realm, with
// the repository's pull scope) with the credentials of the options, or of
// the Docker configuration (authn.DefaultKeychain: auths entries and the
// credential helpers that config.json names, credHelpers or credsStore).
type registry struct {
	lim        Limits
	base       string // scheme://host
	host, repo string
	reg        name.Registry
	repoName   name.Repository
	auth       authn.Authenticator // nil: the Docker configuration's
	tr         *http.Transport

	mu sync.Mutex
	c  *http.Client // authenticated; nil until the first request
}

// newRegistry returns a client of the repository of ref.
func newRegistry(ref name.Reference, opts Options) *registry {
	lim := opts.Limits
	repo := ref.Context()
	r := &registry{
		lim:  lim,
		base: repo.Registry.Scheme() + "://" + repo.RegistryStr(),
		host: repo.RegistryStr(), repo: repo.RepositoryStr(),
		reg: repo.Registry, repoName: repo,
		tr: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: lim.Timeout}).DialContext,
			TLSHandshakeTimeout:   lim.Timeout,
			ResponseHeaderTimeout: lim.Timeout,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.OCIInsecure}, //nolint:gosec // --oci-insecure, asked for
			DisableCompression:    true,
		},
	}
	if opts.OCIUsername != "" || opts.OCIPassword != "" {
		r.auth = authn.FromConfig(authn.AuthConfig{Username: opts.OCIUsername, Password: opts.OCIPassword})
	}
	return r
}

// client returns the authenticated client, made on the first call: the
// transport pings the registry (/v2/) to learn its challenge and, for a
// Bearer one, gets a pull token. A failure is returned and tried again on
// the next call.
func (r *registry) client(ctx context.Context) (*http.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c != nil {
		return r.c, nil
	}
	auth := r.auth
	if auth == nil {
		var err error
		if auth, err = authn.DefaultKeychain.Resolve(r.reg); err != nil {
			return nil, fmt.Errorf("%s: the Docker configuration's credentials: %w", r.host, err)
		}
	}
	// The transport refuses a plain-http token realm of an https
	// registry; checkRedirect a redirect from https to http.
	rt, err := transport.NewWithContext(ctx, r.reg, auth, r.tr, []string{r.repoName.Scope(transport.PullScope)})
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) {
			return nil, &statusError{url: redact(r.base + "/v2/"), code: te.StatusCode}
		}
		return nil, fmt.Errorf("%s: %w", r.host, err)
	}
	r.c = &http.Client{Transport: rt, CheckRedirect: checkRedirect}
	return r.c, nil
}

// get GETs a path of the registry (/v2/...) or an absolute URL, with the
// Accept header, retrying failures. The answer is 200 or an error (404 is
// a *statusError).
func (r *registry) get(ctx context.Context, target, accept string) (*http.Response, error) {
	return r.getFrom(ctx, target, accept, 0, -1)
}

// getFrom is get of the body from offset to byte last (-1: its end): a
// range request, whose answer must be 206 with that range.
func (r *registry) getFrom(ctx context.Context, target, accept string, offset, last int64) (*http.Response, error) {
	u := target
	if strings.HasPrefix(target, "/") {
		u = r.base + target
	}
	return withRetries(ctx, r.lim, func() (*http.Response, error) {
		c, err := r.client(ctx)
		if err != nil {
			return nil, err
		}
		return r.once(ctx, c, u, accept, offset, last)
	})
}

// once sends one GET.
func (r *registry) once(ctx context.Context, c *http.Client, u, accept string, offset, last int64) (*http.Response, error) {
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
	setRange(req, offset, last)
	resp, err := c.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if err := checkAnswer(resp, u, offset); err != nil {
		resp.Body.Close()
		cancel()
		return nil, err
	}
	resp.Body = &stallBody{rc: resp.Body, cancel: cancel, timer: time.AfterFunc(r.lim.Timeout, cancel), d: r.lim.Timeout}
	return resp, nil
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

// blobFrom GETs a blob of size bytes from offset to its end (a closed
// range: some registries take no open one), to resume a download that was
// cut. Its digest is not checked here: the caller hashes the whole file
// (Fetch checks it against the layer's digest).
func (r *registry) blobFrom(ctx context.Context, digest string, offset, size int64) (io.ReadCloser, error) {
	if _, ok := sha256Hex(digest); !ok {
		return nil, fmt.Errorf("blob digest %q is not sha256", digest)
	}
	if offset >= size {
		return nil, fmt.Errorf("blob %s: resume at %d of %d bytes", digest, offset, size)
	}
	resp, err := r.getFrom(ctx, "/v2/"+r.repo+"/blobs/"+digest, "", offset, size-1)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
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
