// Package source reads models where they live, through one interface: a
// local path, an S3 bucket (s3://bucket/prefix), an OCI registry
// (oci://host/repo:tag or oci://host/repo@sha256:...) and the Hugging Face
// API or a mirror of it (hf://org/model[@revision]).
//
// Open resolves a location to a Source, pinned where the source can be
// pinned (the commit a Hugging Face revision names, the digest an OCI tag
// names); Fetch copies every file of a Source into a private folder, with
// bounded memory, resuming interrupted downloads, checking sizes and
// SHA-256 digests where the source states them and refusing any path that
// would leave the folder. The scanner then scans that folder.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// Entry is one file of a model at a source.
type Entry struct {
	// Path is slash-separated, relative and clean: never absolute, never
	// "..", never "." (see CheckPath).
	Path string
	// Size is the file's size in bytes, -1 when the source does not say.
	Size int64
	// SHA256 is the hex SHA-256 of the file's bytes, "" when the source
	// does not say.
	SHA256 string
}

// Source is a model at a location.
type Source interface {
	// Location is the canonical location, pinned (resolved revision,
	// digest or version) where the source can be pinned.
	Location() string
	// List returns the model's files, sorted by path.
	List(ctx context.Context) ([]Entry, error)
	// Open opens one file that List returned, by its path.
	Open(ctx context.Context, path string) (io.ReadCloser, error)
	// Close releases what the source holds.
	Close() error
}

// RangeOpener is a Source that can open a file from a byte offset: Fetch
// uses it to resume a download that was cut, instead of starting again.
type RangeOpener interface {
	// OpenRange opens path from offset (0 or more) to its end.
	OpenRange(ctx context.Context, path string, offset int64) (io.ReadCloser, error)
}

// Versioned is a Source that names the version it reads: the commit of a
// Hugging Face revision, the digest of an OCI manifest, a digest of an S3
// listing (keys, ETags and sizes), a digest of a local folder's listing.
// Watch mode scans each new version once.
type Versioned interface {
	// Version identifies the content the source reads; it changes when
	// the content changes.
	Version() string
}

// Limits bound what a source reads. Zero values take the defaults.
type Limits struct {
	// MaxFiles is the most files a model may have (default 100,000).
	MaxFiles int
	// MaxFileSize is the largest file (default 256 GiB).
	MaxFileSize int64
	// MaxTotalSize is the most bytes Fetch writes (default 1 TiB).
	MaxTotalSize int64
	// MaxMetadata is the largest API answer, manifest or listing page
	// read into memory (default 32 MiB).
	MaxMetadata int64
	// Timeout bounds each request until its answer starts, and each pause
	// of a download without bytes (default 1m).
	Timeout time.Duration
	// Retries is how many times a failed request or a cut download is
	// tried again, with exponential backoff (default 5; -1: none).
	Retries int
	// Backoff is the first wait between tries, doubled each time up to 30
	// times its value (default 500ms).
	Backoff time.Duration
}

// The default limits.
const (
	DefaultMaxFiles     = 100_000
	DefaultMaxFileSize  = 256 << 30
	DefaultMaxTotalSize = 1 << 40
	DefaultMaxMetadata  = 32 << 20
	DefaultTimeout      = time.Minute
	DefaultRetries      = 5
	DefaultBackoff      = 500 * time.Millisecond
)

// WithDefaults returns l with its zero fields set to the defaults. It is
// idempotent: Retries -1 (none) stays -1.
func (l Limits) WithDefaults() Limits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = DefaultMaxFileSize
	}
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = DefaultMaxTotalSize
	}
	if l.MaxMetadata <= 0 {
		l.MaxMetadata = DefaultMaxMetadata
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.Retries == 0 {
		l.Retries = DefaultRetries // -1 stays: none, also when set again
	}
	if l.Backoff <= 0 {
		l.Backoff = DefaultBackoff
	}
	return l
}

// retries is how many times a failed request is tried again: Retries, or
// none when it is negative.
func (l Limits) retries() int { return max(l.Retries, 0) }

// Options are the credentials, endpoints and limits of the sources.
type Options struct {
	// HFEndpoint is the Hugging Face API or a mirror of it (default
	// https://huggingface.co); HFToken is sent as a bearer token to it
	// (never to a host it redirects to).
	HFEndpoint, HFToken string
	// S3Endpoint is the S3-compatible service (host[:port] or a URL;
	// default s3.amazonaws.com), S3Region its region; S3AccessKey,
	// S3SecretKey and S3SessionToken the credentials (anonymous when the
	// keys are empty). S3PlainHTTP speaks HTTP instead of HTTPS (test
	// servers, local stores).
	S3Endpoint, S3Region                     string
	S3AccessKey, S3SecretKey, S3SessionToken string
	S3PlainHTTP                              bool
	// OCIPlainHTTP speaks HTTP to the registry (local registries, tests);
	// OCIInsecure accepts any TLS certificate. OCIUsername and
	// OCIPassword authenticate; empty, the Docker credential
	// configuration is used.
	OCIPlainHTTP, OCIInsecure bool
	OCIUsername, OCIPassword  string
	// Limits bound the reads.
	Limits Limits
}

// The schemes of remote locations.
const (
	SchemeS3  = "s3://"
	SchemeOCI = "oci://"
	SchemeHF  = "hf://"
)

// ErrUnsupported is wrapped by Open for a location of a scheme Violet does
// not read (http://, gs://, ...).
var ErrUnsupported = errors.New("unsupported location")

// IsRemote reports whether location names a remote source (s3://, oci://,
// hf://) rather than a local path.
func IsRemote(location string) bool {
	for _, s := range []string{SchemeS3, SchemeOCI, SchemeHF} {
		if strings.HasPrefix(location, s) {
			return true
		}
	}
	return false
}

// Open resolves location: a local file or folder, s3://bucket/prefix,
// oci://host/repo:tag or oci://host/repo@sha256:..., or
// hf://org/model[@revision]. A remote source is contacted: the revision or
// tag is resolved now, so that Location and Version name what List and
// Open read.
func Open(ctx context.Context, location string, opts Options) (Source, error) {
	opts.Limits = opts.Limits.WithDefaults()
	var src Source
	var err error
	switch {
	case strings.HasPrefix(location, SchemeHF):
		src, err = openHF(ctx, location, opts)
	case strings.HasPrefix(location, SchemeS3):
		src, err = openS3(ctx, location, opts)
	case strings.HasPrefix(location, SchemeOCI):
		src, err = openOCI(ctx, location, opts)
	default:
		if i := strings.Index(location, "://"); i > 0 && !strings.ContainsAny(location[:i], `/\`) {
			return nil, fmt.Errorf("%w %q: want a local path, %s, %s or %s", ErrUnsupported, location, SchemeS3, SchemeOCI, SchemeHF)
		}
		src, err = openLocal(location, opts.Limits)
	}
	if err != nil {
		return nil, err
	}
	return src, nil
}

// CheckPath reports whether p is a path Fetch may write below its folder:
// relative, slash-separated, clean, not "." and not climbing with "..",
// without backslashes, NUL bytes or a Windows volume name.
func CheckPath(p string) error {
	switch {
	case p == "" || p == ".":
		return fmt.Errorf("empty path %q", p)
	case strings.ContainsAny(p, "\\\x00"):
		return fmt.Errorf("path %q holds a backslash or NUL byte", p)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q is absolute", p)
	case path.Clean(p) != p:
		return fmt.Errorf("path %q is not clean", p)
	case p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("path %q leaves the folder", p)
	case len(p) >= 2 && p[1] == ':':
		return fmt.Errorf("path %q names a volume", p)
	}
	return nil
}

// checkEntries checks a listing against the limits: paths, duplicates
// (and a file that is also a folder), sizes, count.
func checkEntries(entries []Entry, lim Limits) error {
	if len(entries) > lim.MaxFiles {
		return fmt.Errorf("%d files: more than the limit of %d", len(entries), lim.MaxFiles)
	}
	seen := make(map[string]bool, len(entries))
	var total int64
	for _, e := range entries {
		if err := CheckPath(e.Path); err != nil {
			return err
		}
		if seen[e.Path] {
			return fmt.Errorf("path %q is listed twice", e.Path)
		}
		seen[e.Path] = true
		if e.Size > lim.MaxFileSize {
			return fmt.Errorf("%s: %d bytes, more than the limit of %d", e.Path, e.Size, lim.MaxFileSize)
		}
		if e.SHA256 != "" && !isHexDigest(e.SHA256) {
			return fmt.Errorf("%s: SHA-256 %q is not 64 hex digits", e.Path, e.SHA256)
		}
		if e.Size > 0 {
			total += e.Size
		}
	}
	if total > lim.MaxTotalSize {
		return fmt.Errorf("%d bytes in all: more than the limit of %d", total, lim.MaxTotalSize)
	}
	for p := range seen {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if seen[d] {
				return fmt.Errorf("%q is both a file and a folder", d)
			}
		}
	}
	return nil
}

// isHexDigest reports whether s is 64 lower-case hex digits.
func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
