package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// DefaultHFEndpoint is the Hugging Face Hub.
const DefaultHFEndpoint = "https://huggingface.co"

// hf is a model repository of the Hugging Face Hub (or a mirror serving
// its API), pinned to the commit its revision named when it was opened.
type hf struct {
	endpoint *url.URL
	repo     string
	commit   string
	entries  []Entry
	http     *httpClient
}

// hfRepoPart is one part of a repository id.
var hfRepoPart = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$`)

// hfCommit is a full git commit id.
var hfCommit = regexp.MustCompile(`^[0-9a-f]{40}$`)

// ParseHF splits hf://org/model[@revision] (or hf://model) into the
// repository id and the revision ("main" when none is given).
func ParseHF(location string) (repo, revision string, err error) {
	rest, ok := strings.CutPrefix(location, SchemeHF)
	if !ok {
		return "", "", fmt.Errorf("%q: not an %s location", location, SchemeHF)
	}
	repo, revision, hasRev := strings.Cut(rest, "@")
	if !hasRev {
		revision = "main"
	}
	parts := strings.Split(repo, "/")
	if len(parts) > 2 {
		return "", "", fmt.Errorf("%q: want hf://org/model[@revision]", location)
	}
	for _, p := range parts {
		if !hfRepoPart.MatchString(p) || strings.Contains(p, "..") {
			return "", "", fmt.Errorf("%q: %q is not a repository name", location, p)
		}
	}
	if revision == "" || len(revision) > 255 || strings.ContainsAny(revision, "\x00\n\r ") {
		return "", "", fmt.Errorf("%q: %q is not a revision", location, revision)
	}
	return repo, revision, nil
}

// openHF resolves the revision to its commit and lists the files.
func openHF(ctx context.Context, location string, opts Options) (*hf, error) {
	repo, revision, err := ParseHF(location)
	if err != nil {
		return nil, err
	}
	ep := opts.HFEndpoint
	if ep == "" {
		ep = DefaultHFEndpoint
	}
	endpoint, err := url.Parse(strings.TrimRight(ep, "/"))
	if err != nil || (endpoint.Scheme != "https" && endpoint.Scheme != "http") || endpoint.Host == "" {
		return nil, fmt.Errorf("the Hugging Face endpoint %q: want an http or https URL", ep)
	}
	h := &hf{endpoint: endpoint, repo: repo, http: newHTTPClient(endpoint, opts.HFToken, opts.Limits)}
	u := h.api("revision", url.PathEscape(revision)) + "?blobs=true"
	body, _, err := h.http.getMetadata(ctx, u)
	if err != nil {
		return nil, err
	}
	info, err := ParseHFModelInfo(body, opts.Limits.MaxFiles)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", redact(u), err)
	}
	if hfCommit.MatchString(revision) && info.SHA != revision {
		return nil, fmt.Errorf("%s: revision %s answered as commit %s", location, revision, info.SHA)
	}
	h.commit = info.SHA
	h.entries = info.Entries
	if !info.Sized {
		// A mirror that ignores blobs=true: the tree has the sizes.
		if h.entries, err = h.tree(ctx, opts.Limits); err != nil {
			return nil, err
		}
	}
	if err := checkEntries(h.entries, opts.Limits); err != nil {
		return nil, fmt.Errorf("%s: %w", h.Location(), err)
	}
	return h, nil
}

// api is the URL of /api/models/{repo}/{verb}/{arg}.
func (h *hf) api(verb, arg string) string {
	return h.endpoint.String() + "/api/models/" + h.repo + "/" + verb + "/" + arg
}

// tree lists the files at the commit from the tree API, following its
// pages (the Link header).
func (h *hf) tree(ctx context.Context, lim Limits) ([]Entry, error) {
	u := h.api("tree", h.commit) + "?recursive=true"
	var out []Entry
	for page := 0; u != ""; page++ {
		if page >= 10_000 {
			return nil, errors.New("tree: too many pages")
		}
		body, header, err := h.http.getMetadata(ctx, u)
		if err != nil {
			return nil, err
		}
		entries, err := ParseHFTree(body, lim.MaxFiles-len(out))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", redact(u), err)
		}
		out = append(out, entries...)
		u, err = h.nextPage(header.Get("Link"))
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// nextPage returns the rel="next" URL of a Link header, if it is on the
// endpoint's host.
func (h *hf) nextPage(link string) (string, error) {
	target := nextLink(link)
	if target == "" {
		return "", nil
	}
	u, err := h.endpoint.Parse(target)
	if err != nil || u.Host != h.endpoint.Host || u.Scheme != h.endpoint.Scheme {
		return "", fmt.Errorf("tree: next page %q is not on %s", target, h.endpoint.Host)
	}
	return u.String(), nil
}

// Location is hf://repo@commit.
func (h *hf) Location() string { return SchemeHF + h.repo + "@" + h.commit }

// Version is the commit.
func (h *hf) Version() string { return h.commit }

// List returns the files of the commit.
func (h *hf) List(context.Context) ([]Entry, error) { return append([]Entry(nil), h.entries...), nil }

// Open streams a file of the commit from /{repo}/resolve/{commit}/{path}.
func (h *hf) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	return h.OpenRange(ctx, p, 0)
}

// OpenRange streams a file from offset (a Range request).
func (h *hf) OpenRange(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	if err := CheckPath(p); err != nil {
		return nil, err
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := h.endpoint.String() + "/" + h.repo + "/resolve/" + h.commit + "/" + strings.Join(segs, "/")
	resp, err := h.http.get(ctx, u, offset)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Close releases idle connections.
func (h *hf) Close() error {
	h.http.c.CloseIdleConnections()
	return nil
}

// HFModelInfo is what Violet reads of /api/models/{repo}/revision/{rev}.
type HFModelInfo struct {
	// SHA is the commit the revision names.
	SHA string
	// Entries are the files (the siblings), sorted by path.
	Entries []Entry
	// Sized is false when a sibling has no size (the answer of a mirror
	// that ignores blobs=true).
	Sized bool
}

// hfLFS is the lfs object of a sibling (sha256) or a tree entry (oid).
type hfLFS struct {
	SHA256 string `json:"sha256"`
	OID    string `json:"oid"`
	Size   *int64 `json:"size"`
}

// ParseHFModelInfo reads the model info answer: the commit sha and the
// siblings (rfilename, size, lfs.sha256), at most maxFiles of them. The
// answer is remote input: every path is checked, and a commit that is not
// 40 hex digits is refused.
func ParseHFModelInfo(body []byte, maxFiles int) (*HFModelInfo, error) {
	var raw struct {
		SHA      string `json:"sha"`
		Siblings []struct {
			RFilename string `json:"rfilename"`
			Size      *int64 `json:"size"`
			LFS       *hfLFS `json:"lfs"`
		} `json:"siblings"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("model info: %w", err)
	}
	if !hfCommit.MatchString(raw.SHA) {
		return nil, fmt.Errorf("model info: commit %q is not 40 hex digits", raw.SHA)
	}
	if len(raw.Siblings) > maxFiles {
		return nil, fmt.Errorf("model info: %d files, more than the limit of %d", len(raw.Siblings), maxFiles)
	}
	info := &HFModelInfo{SHA: raw.SHA, Sized: true}
	for _, s := range raw.Siblings {
		e, err := hfEntry(s.RFilename, s.Size, s.LFS)
		if err != nil {
			return nil, fmt.Errorf("model info: %w", err)
		}
		if e.Size < 0 {
			info.Sized = false
		}
		info.Entries = append(info.Entries, e)
	}
	sort.Slice(info.Entries, func(i, j int) bool { return info.Entries[i].Path < info.Entries[j].Path })
	return info, nil
}

// ParseHFTree reads one page of /api/models/{repo}/tree/{rev}?recursive=true:
// the entries of type "file" (path, size, lfs.oid), at most maxFiles.
func ParseHFTree(body []byte, maxFiles int) ([]Entry, error) {
	var raw []struct {
		Type string `json:"type"`
		Path string `json:"path"`
		Size *int64 `json:"size"`
		LFS  *hfLFS `json:"lfs"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("tree: %w", err)
	}
	var out []Entry
	for _, r := range raw {
		if r.Type != "file" {
			continue
		}
		if len(out) >= maxFiles {
			return nil, fmt.Errorf("tree: more files than the limit")
		}
		e, err := hfEntry(r.Path, r.Size, r.LFS)
		if err != nil {
			return nil, fmt.Errorf("tree: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

// hfEntry makes the entry of one listed file.
func hfEntry(p string, size *int64, lfs *hfLFS) (Entry, error) {
	if err := CheckPath(p); err != nil {
		return Entry{}, err
	}
	e := Entry{Path: p, Size: -1}
	if size != nil {
		if *size < 0 {
			return Entry{}, fmt.Errorf("%s: size %d", p, *size)
		}
		e.Size = *size
	}
	if lfs != nil {
		sum := lfs.SHA256
		if sum == "" {
			sum = lfs.OID
		}
		if sum != "" {
			if !isHexDigest(sum) {
				return Entry{}, fmt.Errorf("%s: LFS SHA-256 %q is not 64 hex digits", p, sum)
			}
			e.SHA256 = sum
		}
		if lfs.Size != nil {
			if e.Size >= 0 && *lfs.Size != e.Size {
				return Entry{}, fmt.Errorf("%s: size %d, LFS size %d", p, e.Size, *lfs.Size)
			}
			e.Size = *lfs.Size
		}
	}
	return e, nil
}
