package source

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/source/sourcetest"
)

func s3Opts(s *sourcetest.S3) Options {
	return Options{S3Endpoint: s.URL, S3Region: "us-east-1", S3AccessKey: "test", S3SecretKey: "test", S3PlainHTTP: true}
}

func TestS3FetchFolderAndVersion(t *testing.T) {
	s := sourcetest.NewS3(t, "models")
	s.Put(t, "models", "fraud/v3/model.pkl", []byte("pickle"))
	s.Put(t, "models", "fraud/v3/sub/config.json", []byte("{}"))
	s.Put(t, "models", "fraud/v30/other.bin", []byte("not in v3"))
	ctx := context.Background()
	src, err := Open(ctx, "s3://models/fraud/v3", s3Opts(s))
	if err != nil {
		t.Fatal(err)
	}
	if src.Location() != "s3://models/fraud/v3" {
		t.Errorf("Location %q", src.Location())
	}
	dir := t.TempDir()
	got, err := Fetch(ctx, src, dir, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Path != "model.pkl" || got[1].Path != "sub/config.json" || got[0].SHA256 != sourcetest.SHA256([]byte("pickle")) {
		t.Fatalf("fetched %+v", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "sub", "config.json")); string(b) != "{}" {
		t.Errorf("config.json holds %q", b)
	}
	v1 := src.(Versioned).Version()
	again, err := Open(ctx, "s3://models/fraud/v3/", s3Opts(s))
	if err != nil {
		t.Fatal(err)
	}
	if again.(Versioned).Version() != v1 {
		t.Error("the same listing gave another version")
	}
	// An object replaced after the listing is refused, not mixed in.
	s.Put(t, "models", "fraud/v3/model.pkl", []byte("replaced"))
	if _, err := Fetch(ctx, src, t.TempDir(), Limits{Retries: -1}); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("an object replaced since the listing: %v", err)
	}
	changed, err := Open(ctx, "s3://models/fraud/v3", s3Opts(s))
	if err != nil {
		t.Fatal(err)
	}
	if changed.(Versioned).Version() == v1 {
		t.Error("a replaced object did not change the version")
	}
}

func TestS3SingleObjectAndErrors(t *testing.T) {
	s := sourcetest.NewS3(t, "models")
	s.Put(t, "models", "m/model.pt", []byte("pt"))
	s.Put(t, "models", "bad/a//b", []byte("x"))
	ctx := context.Background()
	src, err := Open(ctx, "s3://models/m/model.pt", s3Opts(s))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Fetch(ctx, src, t.TempDir(), Limits{})
	if err != nil || len(got) != 1 || got[0].Path != "model.pt" || got[0].Size != 2 {
		t.Fatalf("single object: %+v %v", got, err)
	}
	for loc, want := range map[string]string{
		"s3://models/nothing": "nothing",
		"s3://models/bad":     "not clean",
		"s3://no/x":           "bucket name",
		"s3://missing-bucket": "bucket",
	} {
		if _, err := Open(ctx, loc, s3Opts(s)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q): %v, want an error with %q", loc, err, want)
		}
	}
	if _, err := Open(ctx, "s3://models/m", Options{S3Endpoint: "ftp://x"}); err == nil {
		t.Error("an ftp endpoint was accepted")
	}
}

// TestS3Resume: an S3 object is read from an offset (Range), and Fetch
// resumes a partial file left in its folder.
func TestS3Resume(t *testing.T) {
	s := sourcetest.NewS3(t, "models")
	content := []byte(strings.Repeat("0123456789", 100))
	s.Put(t, "models", "m/model.bin", content)
	ctx := context.Background()
	src, err := Open(ctx, "s3://models/m", s3Opts(s))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := src.(RangeOpener).OpenRange(ctx, "model.bin", 995)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "56789" {
		t.Errorf("from offset 995: %q", b)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.bin"+partialSuffix), content[:400], 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Fetch(ctx, src, dir, Limits{})
	if err != nil || got[0].SHA256 != sourcetest.SHA256(content) {
		t.Errorf("resumed fetch: %+v %v", got, err)
	}
}
