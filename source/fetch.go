package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"time"
)

// partialSuffix names a file being downloaded; Fetch resumes it.
const partialSuffix = ".violet-partial"

// Fetch copies every file of src into dir (created private, 0700, when
// missing) and returns the files written, with the size and SHA-256 of
// the bytes written. Files are streamed to disk (memory does not grow with
// their size); a download that is cut is resumed from where it stopped
// when src is a RangeOpener (tried lim.Retries times), and a partial file
// left by an interrupted Fetch into the same folder is resumed too. A size
// or SHA-256 that differs from what the source states, a path that would
// leave dir, or a limit passed is an error: the folder then holds no file
// under that path.
func Fetch(ctx context.Context, src Source, dir string, lim Limits) ([]Entry, error) {
	lim = lim.WithDefaults()
	entries, err := src.List(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkEntries(entries, lim); err != nil {
		return nil, fmt.Errorf("%s: %w", src.Location(), err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f := &fetcher{src: src, root: root, lim: lim}
	out := make([]Entry, 0, len(entries))
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		got, err := f.file(ctx, e)
		if err != nil {
			return out, fmt.Errorf("%s: %s: %w", src.Location(), e.Path, err)
		}
		out = append(out, got)
	}
	return out, nil
}

// fetcher copies the files of one Fetch.
type fetcher struct {
	src   Source
	root  *os.Root
	lim   Limits
	total int64
}

// file copies one file to its partial name, checks it, and renames it.
func (f *fetcher) file(ctx context.Context, e Entry) (Entry, error) {
	if d := path.Dir(e.Path); d != "." {
		if err := f.root.MkdirAll(d, 0o700); err != nil {
			return e, err
		}
	}
	partial := e.Path + partialSuffix
	h := sha256.New()
	var offset int64
	ro, resumable := f.src.(RangeOpener)
	if resumable {
		n, err := f.hashExisting(partial, h)
		if err != nil {
			return e, err
		}
		offset = n
		if e.Size >= 0 && offset > e.Size {
			// Not a start of this file: download it again.
			offset = 0
			h.Reset()
		}
	}
	out, err := f.root.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return e, err
	}
	if offset == 0 {
		if err := out.Truncate(0); err != nil {
			out.Close()
			return e, err
		}
	}
	n, err := offset, error(nil)
	if e.Size < 0 || offset < e.Size {
		n, err = f.copy(ctx, out, h, e, offset, ro)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = check(e, n, hex.EncodeToString(h.Sum(nil)))
		if err != nil {
			// Bytes that do not match are no start to resume from.
			_ = f.root.Remove(partial)
		}
	}
	if err != nil {
		return e, err
	}
	if err := f.root.Rename(partial, e.Path); err != nil {
		return e, err
	}
	return Entry{Path: e.Path, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// hashExisting hashes what a partial file already holds and returns its
// size (0 when there is none).
func (f *fetcher) hashExisting(partial string, h hash.Hash) (int64, error) {
	in, err := f.root.Open(partial)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return 0, fmt.Errorf("%s is not a regular file", partial)
	}
	return io.Copy(h, in)
}

// copy streams the file from offset into out and h, resuming a cut
// download through ro (nil: no resume), and returns the file's size.
func (f *fetcher) copy(ctx context.Context, out io.Writer, h hash.Hash, e Entry, offset int64, ro RangeOpener) (int64, error) {
	n := offset
	for try := 0; ; try++ {
		var rc io.ReadCloser
		var err error
		if n > 0 && ro != nil {
			rc, err = ro.OpenRange(ctx, e.Path, n)
		} else {
			if n > 0 {
				return n, errors.New("the download was cut and the source cannot resume")
			}
			rc, err = f.src.Open(ctx, e.Path)
		}
		if err != nil {
			// Sources retry their requests themselves.
			return n, err
		}
		m, err := f.copyBody(out, h, rc, e, n)
		rc.Close()
		n += m
		if err == nil {
			return n, nil
		}
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		var lim *limitError
		if errors.As(err, &lim) || try >= f.lim.retries() || (n > 0 && ro == nil) {
			return n, err
		}
		if !sleep(ctx, backoff(f.lim.Backoff, try)) {
			return n, ctx.Err()
		}
	}
}

// limitError is a limit passed: never retried.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// copyBody copies one body, bounded by the file's stated size (when
// stated) and the limits.
func (f *fetcher) copyBody(out io.Writer, h hash.Hash, rc io.Reader, e Entry, start int64) (int64, error) {
	max := f.lim.MaxFileSize
	if e.Size >= 0 {
		max = min(max, e.Size)
	}
	max = min(max, f.lim.MaxTotalSize-f.total) - start
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(rc, max+1))
	if n > max {
		n = max // the byte past the limit is not counted: the copy is refused
		f.total += n
		if e.Size >= 0 && start+n >= e.Size {
			return n, &limitError{fmt.Sprintf("more bytes than the %d the source states", e.Size)}
		}
		return n, &limitError{fmt.Sprintf("larger than the limit (%d bytes per file, %d in all)", f.lim.MaxFileSize, f.lim.MaxTotalSize)}
	}
	f.total += n
	return n, err
}

// check compares a written file with what the source stated.
func check(e Entry, size int64, sum string) error {
	if e.Size >= 0 && size != e.Size {
		return fmt.Errorf("%d bytes written, the source states %d", size, e.Size)
	}
	if e.SHA256 != "" && sum != e.SHA256 {
		return fmt.Errorf("SHA-256 %s, the source states %s", sum, e.SHA256)
	}
	return nil
}

// backoff is the wait before try+1: first, doubled each try, at most 30
// times first.
func backoff(first time.Duration, try int) time.Duration {
	d := first << min(try, 5)
	return min(d, 30*first)
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
