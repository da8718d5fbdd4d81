package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/violet-mlsecops/violet/internal/walk"
)

// local is a file or folder on this machine. It is listed by the rules of
// package walk (the scanner's): a link is followed only where the scanner
// follows it; a link out of the folder, a broken link, a special file or
// an unreadable entry is an error, since a copy could not hold what a scan
// of the folder would report.
type local struct {
	location string
	entries  []Entry
	files    map[string]walk.Entry
	// single is the path of a single-file model.
	single string
}

// openLocal lists a local file or folder.
func openLocal(location string, lim Limits) (*local, error) {
	abs, err := filepath.Abs(location)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	l := &local{location: abs, files: map[string]walk.Entry{}}
	if !info.IsDir() {
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: a %s, not a file or folder", location, walk.ModeName(info.Mode()))
		}
		l.single = abs
		l.entries = []Entry{{Path: filepath.Base(abs), Size: info.Size()}}
		return l, nil
	}
	err = walk.Walk(abs, walk.Options{}, func(e walk.Entry) error {
		if e.Kind != walk.File {
			why := e.Kind.String()
			if e.Err != nil {
				why += ": " + e.Err.Error()
			}
			return fmt.Errorf("%s: %s", e.Path, why)
		}
		if len(l.entries) >= lim.MaxFiles {
			return fmt.Errorf("%s: more than %d files", location, lim.MaxFiles)
		}
		l.files[e.Rel] = e
		l.entries = append(l.entries, Entry{Path: e.Rel, Size: e.Size})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(l.entries, func(i, j int) bool { return l.entries[i].Path < l.entries[j].Path })
	return l, nil
}

// Location is the absolute path.
func (l *local) Location() string { return l.location }

// Version is a digest of the listing: paths, sizes and modification
// times (a local file is not hashed to tell its version).
func (l *local) Version() string {
	h := sha256.New()
	for _, e := range l.entries {
		mtime := ""
		p := l.single
		if p == "" {
			p = l.files[e.Path].Path
		}
		if info, err := os.Stat(p); err == nil {
			mtime = strconv.FormatInt(info.ModTime().UnixNano(), 10)
		}
		fmt.Fprintf(h, "%q %d %s\n", e.Path, e.Size, mtime)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// List returns the files.
func (l *local) List(context.Context) ([]Entry, error) {
	return append([]Entry(nil), l.entries...), nil
}

// Open opens a listed file, confined to the folder (walk.Entry.Open).
func (l *local) Open(_ context.Context, p string) (io.ReadCloser, error) {
	if l.single != "" {
		if p != l.entries[0].Path {
			return nil, fmt.Errorf("%s: no file %q", l.location, p)
		}
		return os.Open(l.single)
	}
	e, ok := l.files[p]
	if !ok {
		return nil, fmt.Errorf("%s: no file %q", l.location, p)
	}
	f, _, err := e.Open()
	if err != nil {
		return nil, err
	}
	return f, nil
}

// OpenRange opens a listed file from offset.
func (l *local) OpenRange(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	rc, err := l.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	if _, err := rc.(*os.File).Seek(offset, io.SeekStart); err != nil {
		rc.Close()
		return nil, err
	}
	return rc, nil
}

// Close does nothing: a local source holds nothing open.
func (l *local) Close() error { return nil }
