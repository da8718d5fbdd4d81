package source

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// DefaultS3Endpoint is AWS S3.
const DefaultS3Endpoint = "s3.amazonaws.com"

// s3src is the objects under a prefix of an S3 bucket (any S3-compatible
// store, through minio-go), or one object. S3 has no version of a prefix:
// the listing (keys, ETags, sizes) is taken when the source is opened, and
// each object is read only if its ETag is still the listed one.
type s3src struct {
	client   *minio.Client
	bucket   string
	prefix   string // "" or ending in "/" for a folder; the key for one object
	location string
	entries  []Entry
	etags    map[string]string
	version  string
}

// ParseS3 splits s3://bucket/prefix into the bucket and the prefix.
func ParseS3(location string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(location, SchemeS3)
	if !ok {
		return "", "", fmt.Errorf("%q: not an %s location", location, SchemeS3)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if len(bucket) < 3 || len(bucket) > 63 || strings.Trim(bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
		return "", "", fmt.Errorf("%q: %q is not a bucket name", location, bucket)
	}
	if strings.ContainsAny(prefix, "\x00\\") {
		return "", "", fmt.Errorf("%q: the prefix holds a NUL byte or a backslash", location)
	}
	return bucket, prefix, nil
}

// s3Client makes the minio client of the options.
func s3Client(opts Options) (*minio.Client, error) {
	endpoint, secure := opts.S3Endpoint, !opts.S3PlainHTTP
	if endpoint == "" {
		endpoint = DefaultS3Endpoint
	}
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("S3 endpoint %q: want host[:port] or http(s)://host[:port]", endpoint)
		}
		endpoint, secure = u.Host, u.Scheme == "https" && !opts.S3PlainHTTP
	}
	// Empty keys: anonymous requests.
	creds := credentials.NewStaticV4(opts.S3AccessKey, opts.S3SecretKey, opts.S3SessionToken)
	lookup := minio.BucketLookupAuto
	if endpoint != DefaultS3Endpoint {
		lookup = minio.BucketLookupPath // S3-compatible stores answer on the path
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: opts.Limits.Timeout}).DialContext,
		TLSHandshakeTimeout:   opts.Limits.Timeout,
		ResponseHeaderTimeout: opts.Limits.Timeout,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		DisableCompression:    true,
	}
	return minio.New(endpoint, &minio.Options{Creds: creds, Secure: secure, Region: opts.S3Region, BucketLookup: lookup, Transport: tr})
}

// openS3 lists the objects under the prefix (or the one object it names).
func openS3(ctx context.Context, location string, opts Options) (Source, error) {
	bucket, prefix, err := ParseS3(location)
	if err != nil {
		return nil, err
	}
	client, err := s3Client(opts)
	if err != nil {
		return nil, err
	}
	s := &s3src{client: client, bucket: bucket, etags: map[string]string{}}
	folder := prefix
	if folder != "" && !strings.HasSuffix(folder, "/") {
		folder += "/"
	}
	if err := s.list(ctx, folder, opts.Limits); err != nil {
		return nil, err
	}
	if len(s.entries) == 0 && prefix != "" && !strings.HasSuffix(prefix, "/") {
		// No folder of that name: one object?
		info, err := client.StatObject(ctx, bucket, prefix, minio.StatObjectOptions{})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", location, err)
		}
		name := prefix[strings.LastIndex(prefix, "/")+1:]
		s.prefix = prefix
		s.entries = []Entry{{Path: name, Size: info.Size}}
		s.etags[name] = info.ETag
	} else {
		s.prefix = folder
	}
	if len(s.entries) == 0 {
		return nil, fmt.Errorf("%s: no object", location)
	}
	if err := checkEntries(s.entries, opts.Limits); err != nil {
		return nil, fmt.Errorf("%s: %w", location, err)
	}
	s.location = SchemeS3 + bucket + "/" + prefix
	h := sha256.New()
	for _, e := range s.entries {
		fmt.Fprintf(h, "%q %q %d\n", e.Path, s.etags[e.Path], e.Size)
	}
	s.version = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return s, nil
}

// list lists the objects under folder.
func (s *s3src) list(ctx context.Context, folder string, lim Limits) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: folder, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("%s%s/%s: %w", SchemeS3, s.bucket, folder, obj.Err)
		}
		if strings.HasSuffix(obj.Key, "/") && obj.Size == 0 {
			continue // a folder marker
		}
		rel := strings.TrimPrefix(obj.Key, folder)
		if err := CheckPath(rel); err != nil {
			return fmt.Errorf("%s%s/%s: object key %w", SchemeS3, s.bucket, obj.Key, err)
		}
		if len(s.entries) >= lim.MaxFiles {
			return fmt.Errorf("%s%s/%s: more than %d objects", SchemeS3, s.bucket, folder, lim.MaxFiles)
		}
		s.entries = append(s.entries, Entry{Path: rel, Size: obj.Size})
		s.etags[rel] = obj.ETag
	}
	sort.Slice(s.entries, func(i, j int) bool { return s.entries[i].Path < s.entries[j].Path })
	return nil
}

// Location is s3://bucket/prefix: S3 cannot pin a prefix; Version names
// the listing.
func (s *s3src) Location() string { return s.location }

// Version is the SHA-256 of the sorted (key, ETag, size) of the listing.
func (s *s3src) Version() string { return s.version }

// List returns the listed objects.
func (s *s3src) List(context.Context) ([]Entry, error) {
	return append([]Entry(nil), s.entries...), nil
}

// Open reads an object, if it still has its listed ETag.
func (s *s3src) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	return s.OpenRange(ctx, p, 0)
}

// OpenRange reads an object from offset, if it still has its listed ETag.
func (s *s3src) OpenRange(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	etag, ok := s.etags[p]
	if !ok {
		return nil, fmt.Errorf("%s: no object %q", s.location, p)
	}
	key := s.prefix + p
	if !strings.HasSuffix(s.prefix, "/") && s.prefix != "" {
		key = s.prefix // one object
	}
	var o minio.GetObjectOptions
	if etag != "" {
		if err := o.SetMatchETag(etag); err != nil {
			return nil, err
		}
	}
	if offset > 0 {
		if err := o.SetRange(offset, 0); err != nil {
			return nil, err
		}
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, o)
	if err != nil {
		return nil, err
	}
	// GetObject sends the request on the first read: Stat sends it now,
	// so that a changed object is an error here. The ETag is compared
	// here too, for stores that ignore If-Match on a GET.
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && resp.Code == "PreconditionFailed" {
			return nil, fmt.Errorf("%s: the object changed since it was listed", key)
		}
		return nil, err
	}
	if etag != "" && strings.Trim(info.ETag, `"`) != strings.Trim(etag, `"`) {
		obj.Close()
		return nil, fmt.Errorf("%s: the object changed since it was listed (ETag %s, listed %s)", key, info.ETag, etag)
	}
	return obj, nil
}

// Close does nothing: the client holds no connection that matters.
func (s *s3src) Close() error { return nil }
