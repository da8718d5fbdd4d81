//go:build unix

package sign

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
)

// TestHashMappedTruncated: a file cut short while it is mapped makes the
// hash fail with an error, not crash the process with SIGBUS.
func TestHashMappedTruncated(t *testing.T) {
	p := filepath.Join(t.TempDir(), "weights.bin")
	if err := os.WriteFile(p, make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	if err := hashMapped(context.Background(), f, 0, 8<<20, sha256.New()); err == nil {
		t.Fatal("hashing a truncated mapping succeeded")
	}
}

// TestHashMappedMatchesRead: both paths give the same digest, at offsets
// that are not page-aligned.
func TestHashMappedMatchesRead(t *testing.T) {
	data := make([]byte, 9<<20+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	p := filepath.Join(t.TempDir(), "weights.bin")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, r := range [][2]int64{{0, int64(len(data))}, {4097, 5 << 20}, {1 << 20, int64(len(data))}} {
		h := sha256.New()
		if err := hashMapped(context.Background(), f, r[0], r[1], h); err != nil {
			t.Fatal(err)
		}
		want := sha256.Sum256(data[r[0]:r[1]])
		if string(h.Sum(nil)) != string(want[:]) {
			t.Errorf("range %v: digests differ", r)
		}
	}
}
