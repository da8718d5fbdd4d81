package scan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/violet-mlsecops/violet/finding"
)

// This file binds a scan to the bytes it read (Options.Digest), and lists
// and hashes the files a scan reads without scanning them (Digests): a
// scan attestation names its files by these digests, and the gate checks
// them.

// digestBuffer is the size of each read while hashing.
const digestBuffer = 1 << 20

// pendingDigest is the digest of a file being scanned, taken before the
// analysis and confirmed after it.
type pendingDigest struct {
	ctx    context.Context
	fh     *os.File
	before fs.FileInfo
	sum    string
	// inMemory: the analysis reads the bytes hashed, held in memory, and
	// nothing else.
	inMemory bool
	err      error
}

// startDigest hashes the file being scanned, when Options.Digest asks for
// it or a cache needs its key: whole, the bytes the analyzers will read
// (held in memory), else the open file, the same descriptor the analyzers
// read from. It returns nil when no digest is needed.
func (s *fileScan) startDigest(ctx context.Context, fh *os.File, info fs.FileInfo, whole []byte) *pendingDigest {
	if !s.opts.Digest && s.opts.Cache == nil {
		return nil
	}
	d := &pendingDigest{ctx: ctx, fh: fh, before: info}
	if whole != nil {
		sum := sha256.Sum256(whole)
		d.sum, d.inMemory = hex.EncodeToString(sum[:]), true
		return d
	}
	d.sum, d.err = hashReaderAt(ctx, fh, info.Size())
	return d
}

// finishDigest records the file's digest once the analysis is over. A file
// read from disk is hashed again from the same descriptor and checked
// unchanged (size, modification and change times): a file written while it
// was scanned gets no digest and, when Options.Digest asked for one, a
// SCAN-ERROR finding, since what was analyzed may not be what was hashed.
// It reports whether the digest holds for the bytes analyzed (false when
// there is none): only then may the result be cached under it.
func (s *fileScan) finishDigest(d *pendingDigest) bool {
	if d == nil {
		return false
	}
	if d.err == nil && !d.inMemory {
		var again string
		again, d.err = hashReaderAt(d.ctx, d.fh, d.before.Size())
		if d.err == nil {
			after, err := d.fh.Stat()
			switch {
			case err != nil:
				d.err = err
			case again != d.sum || !sameContent(d.before, after):
				d.err = errors.New("the file changed while it was scanned")
			}
		}
	}
	if !s.opts.Digest {
		return d.err == nil
	}
	loc := finding.Location{Path: s.result.Path, Offset: -1}
	if d.err != nil {
		s.add(finding.New(finding.ScanError, loc, "The file could not be bound to a digest: "+d.err.Error()+". Scan it again when nothing writes to it.", ""), "engine")
		return false
	}
	s.result.SHA256 = d.sum
	return true
}

// sameContent reports whether two stats of one open file show no write
// between them: same size, same modification time and, where the system
// records it, same change time (which no one but the kernel sets).
func sameContent(a, b fs.FileInfo) bool {
	ca, okA := changeTime(a)
	cb, okB := changeTime(b)
	return a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) && okA == okB && ca == cb
}

// hashReaderAt returns the hex SHA-256 of the first size bytes of r; fewer
// bytes is an error (the file was truncated).
func hashReaderAt(ctx context.Context, r io.ReaderAt, size int64) (string, error) {
	h := sha256.New()
	buf := make([]byte, digestBuffer)
	var off int64
	for off < size {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		h.Write(buf[:n])
		off += int64(n)
		if err != nil && (!errors.Is(err, io.EOF) || off < size) {
			if errors.Is(err, io.EOF) {
				return "", fmt.Errorf("the file was truncated while it was read (%d of %d bytes)", off, size)
			}
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// FileDigest is one file that a scan of a target lists.
type FileDigest struct {
	// Path is the file's path, as the scan's report names it.
	Path string
	// SHA256 is the hex SHA-256 of the file's bytes; empty when the scan
	// does not read them, and NotRead says why.
	SHA256  string
	NotRead string
}

// Digests lists the files that a scan of target (a file or a folder) lists,
// by the same rules (package internal/walk: the folders .git, .hg and .svn
// are not entered; a symbolic link is followed only into the folder, its
// Hugging Face cache repository or the project's content stores), and
// hashes each one the scan reads, opened as the scan opens it. No file the
// scan would not read is opened: a link out of the folder, a placeholder
// whose content was never fetched, a Violet configuration inside the
// target, an unreadable file each get NotRead. The error is that of a
// target that cannot be listed, or of ctx.
func Digests(ctx context.Context, target string) ([]FileDigest, error) {
	if target == Stdin {
		return nil, errors.New("standard input has no files to hash")
	}
	files, err := walk([]string{target}, nil, "", nil)
	if err != nil {
		return nil, err
	}
	out := make([]FileDigest, 0, len(files))
	for _, f := range files {
		d := FileDigest{Path: f.path}
		switch {
		case f.outside != "":
			d.NotRead = "a symbolic link to " + f.outside + ", outside the folder"
		case f.notFetched != "":
			d.NotRead = "a " + f.notFetched + " placeholder whose content was never fetched"
		case f.config:
			d.NotRead = "a Violet configuration, which the scan does not read"
		default:
			d.SHA256, d.NotRead, err = digestFile(ctx, f)
			if err != nil {
				return nil, err
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// digestFile hashes the regular file f, opened as the scan opens it; one
// that cannot be opened or read, or that is not a regular file once
// opened, gets the reason. The error is ctx's.
func digestFile(ctx context.Context, f file) (string, string, error) {
	var fh *os.File
	var info fs.FileInfo
	var err error
	if f.named {
		if fh, err = openNonBlocking(f.path); err == nil {
			info, err = fh.Stat()
		}
	} else {
		fh, info, err = f.entry.Open()
	}
	if fh != nil {
		defer fh.Close()
	}
	switch {
	case err != nil:
		return "", "unreadable: " + err.Error(), nil
	case !info.Mode().IsRegular():
		return "", "not a regular file", nil
	}
	sum, err := hashReaderAt(ctx, fh, info.Size())
	if ctx.Err() != nil {
		return "", "", ctx.Err()
	}
	if err != nil {
		return "", "unreadable: " + err.Error(), nil
	}
	return sum, "", nil
}
