package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
)

// DirCache is a Cache in a folder of private files (violet scan --cache):
// one file per value, under a subfolder named by the key's first two
// characters. The folder must belong to the user running the scan and be
// closed to others (0700): a value someone else could write would be a way
// to make a file pass. It holds at most MaxBytes of values; past it, a Put
// is dropped (remove the folder to start again).
type DirCache struct {
	dir      string
	maxBytes int64
	used     atomic.Int64
}

// DefaultCacheBytes bounds a DirCache when no bound is given: 1 GiB.
const DefaultCacheBytes = 1 << 30

// OpenDirCache opens (creating it, 0700) the cache folder dir, holding at
// most maxBytes of values (DefaultCacheBytes when 0 or less). A folder that
// another user owns, or that others may write or read, is refused.
func OpenDirCache(dir string, maxBytes int64) (*DirCache, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache folder: %w", err)
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("cache folder: %w", err)
	}
	if err := privateFolder(info); err != nil {
		return nil, fmt.Errorf("cache folder %s: %w", dir, err)
	}
	c := &DirCache{dir: dir, maxBytes: maxBytes}
	var used int64
	err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				used += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cache folder: %w", err)
	}
	c.used.Store(used)
	return c, nil
}

// validKey reports whether key is one the engine makes: hex digits and
// one dash, so that it names a file inside the folder and nothing else.
func validKey(key string) bool {
	if len(key) < 4 || len(key) > 200 {
		return false
	}
	for _, r := range key {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r == '-') {
			return false
		}
	}
	return true
}

func (c *DirCache) path(key string) string {
	return filepath.Join(c.dir, key[:2], key)
}

// Get reads the value of key; a missing file is no value.
func (c *DirCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	if !validKey(key) {
		return nil, false, fmt.Errorf("cache key %q is not valid", key)
	}
	f, err := os.Open(c.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCacheValue+1))
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// Put writes the value of key, whole or not at all (a temporary file
// renamed), readable by the user only.
func (c *DirCache) Put(_ context.Context, key string, value []byte) error {
	if !validKey(key) {
		return fmt.Errorf("cache key %q is not valid", key)
	}
	if len(value) > maxCacheValue || c.used.Add(int64(len(value))) > c.maxBytes {
		return nil // over the bound: not kept
	}
	sub := filepath.Join(c.dir, key[:2])
	if err := os.Mkdir(sub, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	tmp, err := os.CreateTemp(sub, ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(value)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), c.path(key))
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
