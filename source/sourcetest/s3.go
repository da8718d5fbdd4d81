package sourcetest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3 is an S3-compatible store (gofakes3, in memory) on 127.0.0.1: any
// access key is accepted.
type S3 struct {
	*httptest.Server
	backend *s3mem.Backend
}

// NewS3 starts an S3 store with the given buckets, until the test ends.
func NewS3(t testing.TB, buckets ...string) *S3 {
	t.Helper()
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	s := &S3{Server: httptest.NewServer(gofakes3.New(backend, gofakes3.WithoutVersioning()).Server()), backend: backend}
	t.Cleanup(s.Close)
	return s
}

// Put stores an object.
func (s *S3) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	if _, err := s.backend.PutObject(bucket, key, map[string]string{"Last-Modified": time.Now().UTC().Format(http.TimeFormat)}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
}

// Delete removes an object.
func (s *S3) Delete(t testing.TB, bucket, key string) {
	t.Helper()
	if _, err := s.backend.DeleteObject(bucket, key); err != nil {
		t.Fatal(err)
	}
}
