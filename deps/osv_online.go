package deps

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Online queries the OSV API (https://google.github.io/osv.dev/api/):
// POST /v1/querybatch for the ids affecting a package version, then
// GET /v1/vulns/{id} for each record. Answers are cached as files.
type Online struct {
	// Client is the HTTP client (nil: http.DefaultClient).
	Client *http.Client
	// CacheDir holds the cache, one file per name@version; empty: no
	// cache.
	CacheDir string
	// BaseURL is the API root (empty: https://api.osv.dev).
	BaseURL string
	// TTL is how long a cached answer is used (0: 24 hours).
	TTL time.Duration
	// Now is the clock (nil: time.Now); for tests.
	Now func() time.Time
}

// DefaultOSVAPI is the OSV API root.
const DefaultOSVAPI = "https://api.osv.dev"

const maxOSVResponse = 16 << 20

type onlineCache struct {
	Fetched time.Time    `json:"fetched"`
	Name    string       `json:"name"`
	Version string       `json:"version"`
	Records []*OSVRecord `json:"records"`
}

// Query returns the records the OSV API reports for version of the PyPI
// package name, as Matches (Fixed and Severity computed as by
// DB.Query; a record the API returns is kept even when its ranges
// cannot be evaluated here, e.g. GIT ranges). Withdrawn records are
// dropped. An empty version returns nothing.
func (o *Online) Query(ctx context.Context, name, version string) ([]Match, error) {
	if version == "" || PEP503Name(name) == "" {
		return nil, nil
	}
	name = PEP503Name(name)
	recs, err := o.records(ctx, name, version)
	if err != nil {
		return nil, err
	}
	var out []Match
	for _, r := range recs {
		if r.Withdrawn != "" {
			continue
		}
		m, ok := MatchRecord(r, name, version)
		if !ok {
			m = newMatch(r, nil)
		}
		out = append(out, m)
	}
	return out, nil
}

func (o *Online) cachePath(name, version string) string {
	h := sha256.Sum256([]byte(name + "@" + version))
	return filepath.Join(o.CacheDir, "osv-"+hex.EncodeToString(h[:16])+".json")
}

func (o *Online) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Online) records(ctx context.Context, name, version string) ([]*OSVRecord, error) {
	ttl := o.TTL
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	if o.CacheDir != "" {
		if data, err := os.ReadFile(o.cachePath(name, version)); err == nil {
			var c onlineCache
			if json.Unmarshal(data, &c) == nil && c.Name == name && c.Version == version &&
				o.now().Sub(c.Fetched) < ttl && o.now().Sub(c.Fetched) >= 0 {
				return c.Records, nil
			}
		}
	}
	ids, err := o.queryIDs(ctx, name, version)
	if err != nil {
		return nil, err
	}
	recs := []*OSVRecord{}
	for _, id := range ids {
		r, err := o.fetch(ctx, id)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	if o.CacheDir != "" {
		if err := os.MkdirAll(o.CacheDir, 0o700); err == nil {
			data, _ := json.Marshal(onlineCache{Fetched: o.now(), Name: name, Version: version, Records: recs})
			tmp, err := os.CreateTemp(o.CacheDir, ".osv-*")
			if err == nil {
				_, werr := tmp.Write(data)
				cerr := tmp.Close()
				if werr == nil && cerr == nil {
					_ = os.Rename(tmp.Name(), o.cachePath(name, version))
				}
				_ = os.Remove(tmp.Name())
			}
		}
	}
	return recs, nil
}

func (o *Online) base() string {
	if o.BaseURL == "" {
		return DefaultOSVAPI
	}
	return strings.TrimRight(o.BaseURL, "/")
}

func (o *Online) do(req *http.Request, limit int64) ([]byte, error) {
	c := o.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("osv api: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("osv api %s: %w", req.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("osv api %s: HTTP %d", req.URL.Path, resp.StatusCode)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("osv api %s: response larger than %d bytes", req.URL.Path, limit)
	}
	return data, nil
}

func (o *Online) queryIDs(ctx context.Context, name, version string) ([]string, error) {
	type pkg struct {
		Name      string `json:"name"`
		Ecosystem string `json:"ecosystem"`
	}
	type query struct {
		Package   pkg    `json:"package"`
		Version   string `json:"version,omitempty"`
		PageToken string `json:"page_token,omitempty"`
	}
	var ids []string
	seen := map[string]bool{}
	token := ""
	for page := 0; page < 100; page++ {
		body, _ := json.Marshal(map[string][]query{"queries": {{Package: pkg{name, EcosystemPyPI}, Version: version, PageToken: token}}})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.base()+"/v1/querybatch", bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("osv api: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		data, err := o.do(req, maxOSVResponse)
		if err != nil {
			return nil, err
		}
		var res struct {
			Results []struct {
				Vulns []struct {
					ID string `json:"id"`
				} `json:"vulns"`
				NextPageToken string `json:"next_page_token"`
			} `json:"results"`
		}
		if err := json.Unmarshal(data, &res); err != nil {
			return nil, fmt.Errorf("osv api querybatch: bad JSON: %w", err)
		}
		if len(res.Results) != 1 {
			return nil, fmt.Errorf("osv api querybatch: %d results for 1 query", len(res.Results))
		}
		for _, v := range res.Results[0].Vulns {
			if !osvID.MatchString(v.ID) {
				return nil, fmt.Errorf("osv api querybatch: bad id %q", v.ID)
			}
			if !seen[v.ID] {
				seen[v.ID] = true
				ids = append(ids, v.ID)
			}
		}
		token = res.Results[0].NextPageToken
		if token == "" {
			return ids, nil
		}
	}
	return nil, errors.New("osv api querybatch: too many pages")
}

func (o *Online) fetch(ctx context.Context, id string) (*OSVRecord, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.base()+"/v1/vulns/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, fmt.Errorf("osv api: %w", err)
	}
	data, err := o.do(req, MaxOSVRecordSize)
	if err != nil {
		return nil, err
	}
	r, err := ParseOSVRecord(data)
	if err != nil {
		return nil, fmt.Errorf("osv api vulns/%s: %w", id, err)
	}
	if r.ID != id {
		return nil, fmt.Errorf("osv api vulns/%s: record has id %q", id, r.ID)
	}
	return r, nil
}

// RecordsContext returns the records the OSV API has for any version of
// the PyPI package name (a query without a version), for MatchSpec;
// withdrawn records are dropped. Answers are cached like Query's.
func (o *Online) RecordsContext(ctx context.Context, name string) ([]*OSVRecord, error) {
	name = PEP503Name(name)
	if name == "" {
		return nil, nil
	}
	recs, err := o.records(ctx, name, "")
	if err != nil {
		return nil, err
	}
	var out []*OSVRecord
	for _, r := range recs {
		if r.Withdrawn == "" {
			out = append(out, r)
		}
	}
	return out, nil
}

// QueryContext is Query; it lets *Online and *DB share one interface.
func (o *Online) QueryContext(ctx context.Context, name, version string) ([]Match, error) {
	return o.Query(ctx, name, version)
}
