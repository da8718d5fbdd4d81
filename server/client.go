package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/violet-mlsecops/violet/release"
	"github.com/violet-mlsecops/violet/store"
)

// Client uploads evidence to a Violet server.
type Client struct {
	// BaseURL is the server's address, https://violet.example.com (a path
	// prefix is kept).
	BaseURL string
	// Token is the API token (vlt_...).
	Token string
	// HTTP is the client to use (default: one with a 5-minute timeout).
	HTTP *http.Client
}

// APIError is an error answer of the server.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("the server refused: %d %s: %s", e.Status, e.Code, e.Message)
}

// Upload is one report to upload for a model version.
type Upload struct {
	// Model is the model's name in the token's team; it is created (with
	// Source) when missing.
	Model  string
	Source store.Model // SourceKind and SourceRef of a new model
	// Digest and Files are the version (RootDigest of Files).
	Digest string
	Label  string
	Files  []store.File
	// Kind is the evidence kind (store.EvidenceScan, ...); Report its JSON.
	Kind   string
	Report []byte
}

// UploadResult is what the server answered.
type UploadResult struct {
	// Created is false when the server already held the same report.
	Created  bool
	Evidence int64
	Findings int
}

// Upload makes sure the model and the version exist, then uploads the
// report. Any refusal is an *APIError carrying the server's code.
func (c *Client) Upload(ctx context.Context, u Upload) (UploadResult, error) {
	base, err := c.base()
	if err != nil {
		return UploadResult{}, err
	}
	model := "/api/v1/models/" + url.PathEscape(u.Model)
	_, _, err = c.do(ctx, base, "GET", model, nil, nil)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		body, _ := json.Marshal(map[string]string{"name": u.Model, "source_kind": u.Source.SourceKind, "source_ref": u.Source.SourceRef})
		_, _, err = c.do(ctx, base, "POST", "/api/v1/models", nil, body)
		if errors.As(err, &ae) && ae.Code == "exists" {
			err = nil // created meanwhile
		}
	}
	if err != nil {
		return UploadResult{}, err
	}
	files := make([]fileJSON, len(u.Files))
	for i, f := range u.Files {
		files[i] = fileJSON(f)
	}
	body, err := json.Marshal(map[string]any{"label": u.Label, "files": files})
	if err != nil {
		return UploadResult{}, err
	}
	version := model + "/versions/" + url.PathEscape(u.Digest)
	if _, _, err := c.do(ctx, base, "PUT", version, nil, body); err != nil {
		return UploadResult{}, err
	}
	status, resp, err := c.do(ctx, base, "POST", version+"/evidence", url.Values{"kind": {u.Kind}}, u.Report)
	if err != nil {
		return UploadResult{}, err
	}
	var e evidenceJSON
	if err := json.Unmarshal(resp, &e); err != nil {
		return UploadResult{}, fmt.Errorf("the server's answer is not evidence: %w", err)
	}
	out := UploadResult{Created: status == http.StatusCreated, Evidence: e.ID}
	if e.Findings != nil {
		out.Findings = *e.Findings
	}
	return out, nil
}

// base checks the client's token and address, and returns the address.
func (c *Client) base() (*url.URL, error) {
	if c.Token == "" {
		return nil, errNoToken
	}
	base, err := url.Parse(strings.TrimRight(c.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("upload URL %q: want http(s)://host[:port]", c.BaseURL)
	}
	return base, nil
}

// maxAnswer bounds what the client reads of an answer.
const maxAnswer = 1 << 20

// do sends one request and returns the status and body of a 2xx answer of
// at most maxAnswer bytes, or an *APIError.
func (c *Client) do(ctx context.Context, base *url.URL, method, path string, query url.Values, body []byte) (int, []byte, error) {
	return c.doLimited(ctx, base, method, path, query, body, maxAnswer)
}

// doLimited is do with a bound of its own on the answer: an answer longer
// than limit is an error, never cut short silently.
func (c *Client) doLimited(ctx context.Context, base *url.URL, method, path string, query url.Values, body []byte, limit int64) (int, []byte, error) {
	u := *base
	u.Path = base.Path + path
	u.RawPath = base.EscapedPath() + path
	u.RawQuery = query.Encode()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("upload: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return 0, nil, fmt.Errorf("upload: reading the answer: %w", err)
	}
	if int64(len(data)) > limit {
		return 0, nil, fmt.Errorf("the server's answer is larger than %d bytes", limit)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, data, nil
	}
	var eb errorBody
	if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
		eb.Error.Code, eb.Error.Message = "http_"+fmt.Sprint(resp.StatusCode), clipText(strings.TrimSpace(string(data)))
	}
	return resp.StatusCode, nil, &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
}

// DiscoveryResult is what the server answered to a discovery upload.
type DiscoveryResult struct {
	// Created is false when the server already held the same report.
	Created bool
	ID      int64
	// Matched counts the assets that are models of the inventory;
	// Unmatched lists the model assets that are not.
	Matched   int
	Unmatched []string
}

// UploadDiscovery uploads a `violet discover --format json` report of the
// code base source for the token's team.
func (c *Client) UploadDiscovery(ctx context.Context, source string, report []byte) (DiscoveryResult, error) {
	base, err := c.base()
	if err != nil {
		return DiscoveryResult{}, err
	}
	status, resp, err := c.do(ctx, base, "POST", "/api/v1/discoveries", url.Values{"source": {source}}, report)
	if err != nil {
		return DiscoveryResult{}, err
	}
	var r discoveryResultJSON
	if err := json.Unmarshal(resp, &r); err != nil {
		return DiscoveryResult{}, fmt.Errorf("the server's answer is not a discovery: %w", err)
	}
	out := DiscoveryResult{Created: status == http.StatusCreated, ID: r.Discovery.ID, Matched: len(r.Matched)}
	for _, u := range r.Unmatched {
		out.Unmatched = append(out.Unmatched, u.Asset)
	}
	return out, nil
}

// errNoToken is the error of a client without a token.
var errNoToken = errors.New("no API token: set VIOLET_TOKEN")

// ReleaseRecords returns the release records of the version digest in the
// token's team, newest first (at most the first page of 100 requests).
func (c *Client) ReleaseRecords(ctx context.Context, digest string) ([]release.Record, error) {
	base, err := c.base()
	if err != nil {
		return nil, err
	}
	_, resp, err := c.do(ctx, base, "GET", "/api/v1/releases", url.Values{"digest": {digest}, "limit": {"100"}}, nil)
	if err != nil {
		return nil, err
	}
	var page pageJSON[releaseJSON]
	if err := json.Unmarshal(resp, &page); err != nil {
		return nil, fmt.Errorf("the server's answer is not a page of releases: %w", err)
	}
	var out []release.Record
	for _, r := range page.Items {
		rec, err := c.ReleaseRecord(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		if rec.Digest != digest {
			return nil, fmt.Errorf("the server answered release %d of %s for %s", rec.ID, rec.Digest, digest)
		}
		out = append(out, rec)
	}
	return out, nil
}

// ReleaseRecord returns the record of a release, as `violet release
// verify` checks it.
func (c *Client) ReleaseRecord(ctx context.Context, id int64) (release.Record, error) {
	base, err := c.base()
	if err != nil {
		return release.Record{}, err
	}
	_, resp, err := c.doLimited(ctx, base, "GET", fmt.Sprintf("/api/v1/releases/%d/record", id), nil, nil, store.MaxEvidenceSize)
	if err != nil {
		return release.Record{}, err
	}
	var rec release.Record
	if err := json.Unmarshal(resp, &rec); err != nil {
		return release.Record{}, fmt.Errorf("the server's answer is not a release record: %w", err)
	}
	return rec, nil
}

// DecideRelease records the token's decision on a release (its role is the
// token's); signature is the approver's attestation of it (release.Sign),
// or nil.
func (c *Client) DecideRelease(ctx context.Context, id int64, decision, reason, digest string, signature []byte) (release.Decision, error) {
	base, err := c.base()
	if err != nil {
		return release.Decision{}, err
	}
	body, err := json.Marshal(map[string]any{"decision": decision, "reason": reason, "digest": digest, "signature": json.RawMessage(orNull(signature))})
	if err != nil {
		return release.Decision{}, err
	}
	_, resp, err := c.do(ctx, base, "POST", fmt.Sprintf("/api/v1/releases/%d/decisions", id), nil, body)
	if err != nil {
		return release.Decision{}, err
	}
	var d release.Decision
	if err := json.Unmarshal(resp, &d); err != nil {
		return release.Decision{}, fmt.Errorf("the server's answer is not a decision: %w", err)
	}
	return d, nil
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}
