package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds of the scan cache.
const (
	// MaxScanCacheKey is the longest key, in bytes.
	MaxScanCacheKey = 512
	// MaxScanCacheValue is the largest value, in bytes: a file whose
	// findings take more is analyzed again each time.
	MaxScanCacheValue = 1 << 20
	// DefaultScanCacheEntries is the default bound on the entries kept.
	DefaultScanCacheEntries = 1_000_000
	// scanCachePruneEvery is how many puts pass between two evictions.
	scanCachePruneEvery = 256
	// scanCacheTouchAfter is how stale last_used_at may grow before a hit
	// writes it again (a hit is a read, not a write, most of the time).
	scanCacheTouchAfter = time.Minute
)

// ScanCache is the content cache of scan results in the store (table
// scan_cache): the scan package's key (a file's SHA-256, an analyzer's
// name and version, a policy digest) to the value it encoded (the
// findings). It implements scan's Cache interface. Entries are evicted
// least recently used first once there are more than MaxEntries. Its
// bookkeeping is not audited: the cache holds nothing that is not derived
// from the files, and a lost entry is analyzed again. Safe for
// concurrent use.
type ScanCache struct {
	s *Store
	// MaxEntries bounds the entries kept (DefaultScanCacheEntries when 0
	// or less).
	MaxEntries int
	puts       atomic.Int64
	hits       atomic.Int64
	misses     atomic.Int64
	prune      sync.Mutex
}

// ScanCache returns the store's scan cache, keeping at most maxEntries
// entries (DefaultScanCacheEntries when 0 or less).
func (s *Store) ScanCache(maxEntries int) *ScanCache {
	return &ScanCache{s: s, MaxEntries: maxEntries}
}

func checkCacheKey(key string) error {
	if len(key) == 0 || len(key) > MaxScanCacheKey {
		return fmt.Errorf("scan cache: key of %d bytes, want 1 to %d: %w", len(key), MaxScanCacheKey, ErrInvalid)
	}
	return nil
}

// Get returns the value cached under key; ok is false when there is none.
// A hit counts, and marks the entry used (at most once a minute).
func (c *ScanCache) Get(ctx context.Context, key string) (value []byte, ok bool, err error) {
	if err := checkCacheKey(key); err != nil {
		return nil, false, err
	}
	s := c.s
	var used dbTime
	err = s.rdb.QueryRowContext(ctx, `SELECT value, last_used_at FROM scan_cache WHERE key = $1`, key).Scan(&value, &used)
	if errors.Is(err, sql.ErrNoRows) {
		c.misses.Add(1)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.wrap(err)
	}
	c.hits.Add(1)
	if now := s.stamp(); now.Sub(used.T) >= scanCacheTouchAfter {
		if _, err := s.db.ExecContext(ctx, `UPDATE scan_cache SET last_used_at = $1, hits = hits + 1 WHERE key = $2`,
			fmtTime(now), key); err != nil {
			return nil, false, s.wrap(err)
		}
	}
	return value, true, nil
}

// Put caches value under key, replacing what was there. A value over
// MaxScanCacheValue is not cached (and is no error: the file is analyzed
// again next time).
func (c *ScanCache) Put(ctx context.Context, key string, value []byte) error {
	if err := checkCacheKey(key); err != nil {
		return err
	}
	if len(value) > MaxScanCacheValue {
		return nil
	}
	if value == nil {
		value = []byte{}
	}
	s := c.s
	now := fmtTime(s.stamp())
	if _, err := s.db.ExecContext(ctx, `INSERT INTO scan_cache (key, value, created_at, last_used_at) VALUES ($1, $2, $3, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, last_used_at = excluded.last_used_at`, key, value, now); err != nil {
		return s.wrap(err)
	}
	if c.puts.Add(1)%scanCachePruneEvery == 0 {
		_, err := c.Prune(ctx)
		return err
	}
	return nil
}

// Prune evicts the least recently used entries past MaxEntries and
// returns how many it evicted.
func (c *ScanCache) Prune(ctx context.Context) (int64, error) {
	c.prune.Lock()
	defer c.prune.Unlock()
	limit := c.MaxEntries
	if limit <= 0 {
		limit = DefaultScanCacheEntries
	}
	s := c.s
	var n int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM scan_cache`).Scan(&n); err != nil {
		return 0, s.wrap(err)
	}
	if n <= int64(limit) {
		return 0, nil
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM scan_cache WHERE key IN
		(SELECT key FROM scan_cache ORDER BY last_used_at, key LIMIT $1)`, n-int64(limit))
	if err != nil {
		return 0, s.wrap(err)
	}
	gone, err := res.RowsAffected()
	return gone, s.wrap(err)
}

// ScanCacheStats counts a cache's lookups since it was made, and the
// entries stored.
type ScanCacheStats struct {
	Hits, Misses, Entries int64
}

// HitRate is Hits / (Hits + Misses), 0 with no lookups.
func (st ScanCacheStats) HitRate() float64 {
	if st.Hits+st.Misses == 0 {
		return 0
	}
	return float64(st.Hits) / float64(st.Hits+st.Misses)
}

// Stats returns the lookups this cache counted and the entries stored.
func (c *ScanCache) Stats(ctx context.Context) (ScanCacheStats, error) {
	st := ScanCacheStats{Hits: c.hits.Load(), Misses: c.misses.Load()}
	err := c.s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM scan_cache`).Scan(&st.Entries)
	return st, c.s.wrap(err)
}
