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
	return fmt.Sprintf("the server refused the upload: %d %s: %s", e.Status, e.Code, e.Message)
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
	if c.Token == "" {
		return UploadResult{}, errors.New("no API token: set VIOLET_TOKEN")
	}
	base, err := url.Parse(strings.TrimRight(c.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return UploadResult{}, fmt.Errorf("upload URL %q: want http(s)://host[:port]", c.BaseURL)
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

// maxAnswer bounds what the client reads of an answer.
const maxAnswer = 1 << 20

// do sends one request and returns the status and body of a 2xx answer,
// or an *APIError.
func (c *Client) do(ctx context.Context, base *url.URL, method, path string, query url.Values, body []byte) (int, []byte, error) {
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
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, nil, fmt.Errorf("upload: reading the answer: %w", err)
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
