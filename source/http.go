package source

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// httpClient makes the requests of the HTTP sources: a redirect is
// followed only to http or https (never from https down to http), at most
// 10 times; a bearer token is sent only to the host it was given for;
// answers are awaited at most lim.Timeout, and a download that stalls
// that long is cut; a failed request (network error, 408, 429, 5xx) is
// tried again with backoff.
type httpClient struct {
	c     *http.Client
	lim   Limits
	host  string // the host the token is for
	token string
}

// newHTTPClient returns a client for the API at endpoint.
func newHTTPClient(endpoint *url.URL, token string, lim Limits) *httpClient {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: lim.Timeout}).DialContext,
		TLSHandshakeTimeout:   lim.Timeout,
		ResponseHeaderTimeout: lim.Timeout,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost:   4,
		// Files are compared by their bytes: no transparent gzip.
		DisableCompression: true,
	}
	c := &http.Client{Transport: tr, CheckRedirect: checkRedirect}
	return &httpClient{c: c, lim: lim, host: endpoint.Host, token: token}
}

// checkRedirect allows at most 10 redirects, to http or https only, never
// from https to http.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("more than 10 redirects")
	}
	if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
		return fmt.Errorf("redirect to %s: only http and https are followed", req.URL.Scheme)
	}
	if req.URL.Scheme == "http" && via[len(via)-1].URL.Scheme == "https" {
		return fmt.Errorf("redirect from https to http (%s): refused", req.URL.Redacted())
	}
	if req.URL.Host != via[0].URL.Host {
		// net/http drops Authorization on a redirect to another host;
		// say so here too, whatever it does.
		req.Header.Del("Authorization")
	}
	return nil
}

// statusError is an answer that is not a success.
type statusError struct {
	url  string
	code int
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("%s: HTTP %d %s", e.url, e.code, http.StatusText(e.code))
	switch e.code {
	case http.StatusUnauthorized, http.StatusForbidden:
		msg += " (a private or gated model needs a token: HF_TOKEN)"
	case http.StatusNotFound:
		msg += " (no such model, revision or file)"
	}
	return msg
}

// retryable reports whether an answer's status is worth another try.
func retryable(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

// get sends a GET (with a Range from offset when offset > 0) and returns
// the successful answer; failures are retried. The body must be closed.
// Reads of the body are bounded in time by the stall timer.
func (c *httpClient) get(ctx context.Context, u string, offset int64) (*http.Response, error) {
	return withRetries(ctx, c.lim, func() (*http.Response, error) { return c.once(ctx, u, offset) })
}

// withRetries calls send until it succeeds, fails with a status not
// worth another try, ctx ends, or lim.Retries more tries failed, waiting
// with exponential backoff between tries.
func withRetries(ctx context.Context, lim Limits, send func() (*http.Response, error)) (*http.Response, error) {
	for try := 0; ; try++ {
		resp, err := send()
		if err == nil {
			return resp, nil
		}
		var se *statusError
		if ctx.Err() != nil || (errors.As(err, &se) && !retryable(se.code)) || try >= lim.retries() {
			return nil, err
		}
		if !sleep(ctx, backoff(lim.Backoff, try)) {
			return nil, ctx.Err()
		}
	}
}

// nextLink returns the target of the rel="next" entry of a Link header,
// "" when there is none.
func nextLink(link string) string {
	for _, part := range strings.Split(link, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if ok && strings.Contains(strings.ReplaceAll(params, " ", ""), `rel="next"`) {
			return strings.Trim(strings.TrimSpace(target), "<>")
		}
	}
	return ""
}

// once sends one GET.
func (c *httpClient) once(ctx context.Context, u string, offset int64) (*http.Response, error) {
	rctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("User-Agent", "violet")
	if c.token != "" && req.URL.Host == c.host {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	setRange(req, offset, -1)
	resp, err := c.c.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if err := checkAnswer(resp, u, offset); err != nil {
		resp.Body.Close()
		cancel()
		return nil, err
	}
	resp.Body = &stallBody{rc: resp.Body, cancel: cancel, timer: time.AfterFunc(c.lim.Timeout, cancel), d: c.lim.Timeout}
	return resp, nil
}

// setRange asks for a body from offset to its end, or to byte last when
// last is 0 or more (the whole body when offset is 0).
func setRange(req *http.Request, offset, last int64) {
	if offset <= 0 {
		return
	}
	r := "bytes=" + strconv.FormatInt(offset, 10) + "-"
	if last >= 0 {
		r += strconv.FormatInt(last, 10)
	}
	req.Header.Set("Range", r)
}

// checkAnswer says whether resp answers a GET of u from offset: 200 for
// the whole body, 206 with the range asked for; the error says why not (a
// *statusError for another status).
func checkAnswer(resp *http.Response, u string, offset int64) error {
	switch {
	case offset == 0 && resp.StatusCode == http.StatusOK:
		return nil
	case offset > 0 && resp.StatusCode == http.StatusPartialContent:
		if strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "+strconv.FormatInt(offset, 10)+"-") {
			return nil
		}
		return fmt.Errorf("%s: the server answered another range than bytes=%d-", redact(u), offset)
	case offset > 0 && resp.StatusCode == http.StatusOK:
		return fmt.Errorf("%s: the server ignored the range request: cannot resume", redact(u))
	}
	return &statusError{url: redact(u), code: resp.StatusCode}
}

// getMetadata GETs u and returns its body, at most lim.MaxMetadata bytes.
func (c *httpClient) getMetadata(ctx context.Context, u string) ([]byte, http.Header, error) {
	resp, err := c.get(ctx, u, 0)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.lim.MaxMetadata+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", redact(u), err)
	}
	if int64(len(b)) > c.lim.MaxMetadata {
		return nil, nil, fmt.Errorf("%s: answer larger than %d bytes", redact(u), c.lim.MaxMetadata)
	}
	return b, resp.Header, nil
}

// stallBody cuts a body that gives no byte for d.
type stallBody struct {
	rc     io.ReadCloser
	cancel context.CancelFunc
	timer  *time.Timer
	d      time.Duration
	once   sync.Once
}

func (b *stallBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.timer.Reset(b.d)
	}
	return n, err
}

func (b *stallBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() {
		b.timer.Stop()
		b.cancel()
	})
	return err
}

// redact drops the query and user information of a URL for messages.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(a URL)"
	}
	p.RawQuery = ""
	p.User = nil
	return p.String()
}
