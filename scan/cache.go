package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// This file keeps the results of files by content (Options.Cache): a file
// that many model versions share (a tokenizer, a configuration, a shard of
// a base model) is analyzed once. The key is the file's SHA-256, its name
// and the policy digest; the value says which analyzers took part, and is
// reused only while they are the same (validCacheValue).

// Cache keeps analysis results by content. Keys and values are opaque to it.
type Cache interface {
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	Put(ctx context.Context, key string, value []byte) error
}

// CacheStats counts what a scan did with its cache (Options.CacheStats).
// The counters may be read while the scan runs.
type CacheStats struct {
	// Hits are files whose result was taken from the cache.
	Hits atomic.Int64
	// Misses are files looked up and analyzed: no value, or a value no
	// longer valid (an analyzer's version changed), corrupt or of an
	// unknown format.
	Misses atomic.Int64
	// Stored are results put into the cache.
	Stored atomic.Int64
	// Errors are failed Gets and Puts: the file was analyzed, nothing was
	// taken from the cache.
	Errors atomic.Int64
}

// cacheFormat is the version of the encoding of cached values, and of the
// engine's rules around the analyzers (placeholders, names that promise a
// format): bumped when either changes, so that no older value is reused.
const cacheFormat = 1

// maxCacheValue is the largest value decoded: a larger one is ignored.
const maxCacheValue = 16 << 20

// PolicyDigest is the hex SHA-256 of everything in opts that can change
// the verdict on a file's content: the analyzers selected (their names in
// order, and the configuration of those that have one, such as the pickle
// allowlist) and the limits. It leaves out what does not judge a file's
// content: the analyzers' versions (checked against each cached value
// instead), fail-on, the severity overrides (applied to cached findings as
// to new ones), ignore patterns, workers, the logger.
func PolicyDigest(opts Options) string {
	h := sha256.New()
	fmt.Fprintf(h, "violet scan cache %d\n", cacheFormat)
	for _, a := range opts.Analyzers {
		cfg := ""
		if c, ok := a.(analyzer.Configured); ok {
			cfg = c.ConfigDigest()
		}
		fmt.Fprintf(h, "analyzer %q %q\n", a.Name(), cfg)
	}
	limits, _ := json.Marshal(opts.Limits)
	fmt.Fprintf(h, "limits %s\n", limits)
	return hex.EncodeToString(h.Sum(nil))
}

// cacheKey is the key of a file of content sha256 named name: the engine's
// checks of names (a model extension, a safe format's extension) and some
// analyzers' sniffing read the name, so equal bytes under another name are
// another entry. sidecar says that the folder holds a model whose weights
// may be in this file (only asked of .bin files).
func cacheKey(policy, sha string, name string, sidecar bool) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%q\n%t\n", policy, name, sidecar)
	return sha + "-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// cacheValue is the encoding of a cached result.
type cacheValue struct {
	Format int `json:"format"`
	// Claimed are the analyzers that claimed the file or one of its
	// members, as "name/version" with their Version and those of the
	// analyzers they judge with ("numpy/1+pickle/3").
	Claimed []string `json:"claimed"`
	// Consulted are every analyzer whose Sniff was asked, as
	// "name/version" with their sniff version.
	Consulted []string `json:"consulted"`
	// Findings are the file's findings before severity overrides, their
	// Location.Path empty.
	Findings []finding.Finding `json:"findings"`
	// Formats are the formats found.
	Formats []string `json:"formats"`
}

// decodeCacheValue decodes a cached value; a corrupt one, one too large or
// of another format is an error.
func decodeCacheValue(b []byte) (*cacheValue, error) {
	if len(b) > maxCacheValue {
		return nil, fmt.Errorf("cached value of %d bytes, more than %d", len(b), maxCacheValue)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var v cacheValue
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the cached value")
	}
	if v.Format != cacheFormat {
		return nil, fmt.Errorf("cached value of format %d, not %d", v.Format, cacheFormat)
	}
	for _, f := range v.Findings {
		if _, ok := finding.Lookup(f.Rule); !ok || f.Location.Path != "" || f.Severity < finding.Info || f.Severity > finding.Critical {
			return nil, fmt.Errorf("cached finding of rule %q is not valid", f.Rule)
		}
		if f.Incomplete {
			return nil, errors.New("an incomplete result in the cache")
		}
	}
	return &v, nil
}

// validCacheValue reports whether v may stand for the analysis of the file
// by analyzers: every analyzer that claimed the file or a member has the
// same Version, and every analyzer now selected was consulted, with the
// same sniff version when it did not claim (it would claim the same). A
// false pass is the worst a cache can do: when in doubt, it is not valid.
func validCacheValue(v *cacheValue, analyzers []analyzer.Analyzer) bool {
	current := make(map[string]analyzer.Analyzer, len(analyzers))
	for _, a := range analyzers {
		current[a.Name()] = a
	}
	claimed := map[string]bool{}
	for _, c := range v.Claimed {
		name, version, _ := strings.Cut(c, "/")
		a, ok := current[name]
		if !ok || judgeVersion(a) != version {
			return false
		}
		claimed[name] = true
	}
	consulted := make(map[string]string, len(v.Consulted))
	for _, c := range v.Consulted {
		name, version, _ := strings.Cut(c, "/")
		consulted[name] = version
	}
	if len(consulted) != len(current) {
		return false
	}
	for name, a := range current {
		sv, ok := consulted[name]
		if !ok || !claimed[name] && analyzer.SniffVersion(a) != sv {
			return false
		}
	}
	return true
}

// judgeVersion is the version of what judges for a: its Version, and the
// versions of the analyzers it judges with (analyzer.Delegating).
func judgeVersion(a analyzer.Analyzer) string {
	v := a.Version()
	if d, ok := a.(analyzer.Delegating); ok {
		v += "+" + strings.Join(d.DelegateVersions(), "+")
	}
	return v
}

// cacheKeyOf returns the key of the file being scanned, of content sha; ""
// when its result is not to be cached.
func (s *fileScan) cacheKeyOf(sha, name string) string {
	sidecar := false
	if strings.EqualFold(filepath.Ext(name), ".bin") {
		sidecar = s.beside(sidecarExtensions...)
	}
	return cacheKey(s.opts.policyDigest, sha, name, sidecar)
}

// fromCache looks the file up: true when its findings and formats were
// taken from the cache. A failed Get is logged and counted, and the file is
// analyzed.
func (s *fileScan) fromCache(ctx context.Context, key string) bool {
	stats := s.opts.CacheStats
	b, ok, err := s.opts.Cache.Get(ctx, key)
	if err != nil {
		s.opts.Logger.Warn("the scan cache could not be read: the file is analyzed", "path", s.result.Path, "error", err)
		if stats != nil {
			stats.Errors.Add(1)
			stats.Misses.Add(1)
		}
		return false
	}
	var v *cacheValue
	if ok {
		if v, err = decodeCacheValue(b); err != nil {
			s.opts.Logger.Warn("a value of the scan cache is not valid: the file is analyzed", "path", s.result.Path, "error", err)
			v = nil
		} else if !validCacheValue(v, s.opts.Analyzers) {
			s.opts.Logger.Debug("the cached result is of other analyzer versions: the file is analyzed", "path", s.result.Path)
			v = nil
		}
	}
	if v == nil {
		if stats != nil {
			stats.Misses.Add(1)
		}
		return false
	}
	for _, f := range v.Findings {
		f.Location.Path = s.result.Path
		s.result.Findings = append(s.result.Findings, f)
	}
	for _, name := range v.Formats {
		s.formats[name] = true
	}
	if stats != nil {
		stats.Hits.Add(1)
	}
	s.opts.Logger.Debug("result taken from the scan cache", "path", s.result.Path, "key", key)
	return true
}

// cacheable reports whether the file just analyzed may be cached: fully
// analyzed (no finding of an incomplete rule, no SCAN-ERROR, no limit, the
// time budget left), and judged on its bytes alone (no analyzer that reads
// the files beside it claimed it).
func (s *fileScan) cacheable(ctx context.Context) bool {
	if ctx.Err() != nil || len(s.reported) > 0 || s.readsBeside {
		return false
	}
	for _, f := range s.result.Findings {
		if f.Incomplete || f.Rule == finding.ScanError {
			return false
		}
	}
	return true
}

// toCache puts the result of the file just analyzed (before severity
// overrides) into the cache. A failed Put is logged and counted.
func (s *fileScan) toCache(ctx context.Context, key string) {
	v := cacheValue{Format: cacheFormat, Findings: make([]finding.Finding, len(s.result.Findings))}
	for i, f := range s.result.Findings {
		f.Location.Path = ""
		v.Findings[i] = f
	}
	for name := range s.formats {
		v.Formats = append(v.Formats, name)
	}
	slices.Sort(v.Formats)
	for _, a := range s.opts.Analyzers {
		if s.claimed[a.Name()] {
			v.Claimed = append(v.Claimed, a.Name()+"/"+judgeVersion(a))
		}
		v.Consulted = append(v.Consulted, a.Name()+"/"+analyzer.SniffVersion(a))
	}
	b, err := json.Marshal(v)
	if err == nil {
		err = s.opts.Cache.Put(ctx, key, b)
	}
	stats := s.opts.CacheStats
	if err != nil {
		s.opts.Logger.Warn("the scan cache could not be written", "path", s.result.Path, "error", err)
		if stats != nil {
			stats.Errors.Add(1)
		}
		return
	}
	if stats != nil {
		stats.Stored.Add(1)
	}
}

// MemoryCache is a Cache in memory, safe for concurrent use, holding at
// most Max values (0: no bound); past it, a Put is dropped.
type MemoryCache struct {
	// Max bounds the number of values.
	Max int
	mu  sync.Mutex
	m   map[string][]byte
}

// Get returns a copy of the value of key.
func (c *MemoryCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return bytes.Clone(v), ok, nil
}

// Put keeps a copy of value under key.
func (c *MemoryCache) Put(_ context.Context, key string, value []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string][]byte{}
	}
	if _, ok := c.m[key]; !ok && c.Max > 0 && len(c.m) >= c.Max {
		return nil
	}
	c.m[key] = bytes.Clone(value)
	return nil
}

// Len is the number of values held.
func (c *MemoryCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
