//go:build unix

package sign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// TestFileSHA256: the mapped path and the read path give the file's
// digest and size.
func TestFileSHA256(t *testing.T) {
	for _, n := range []int{0, 100, mmapMin + 4097} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 13)
		}
		p := filepath.Join(t.TempDir(), "f.bin")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, size, err := FileSHA256(p)
		want := sha256.Sum256(data)
		if err != nil || size != int64(n) || got != hex.EncodeToString(want[:]) {
			t.Errorf("%d bytes: %s %d %v", n, got, size, err)
		}
	}
}
