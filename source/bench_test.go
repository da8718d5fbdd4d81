package source

import (
	"bytes"
	"context"
	"testing"

	"github.com/violet-mlsecops/violet/source/sourcetest"
)

// BenchmarkFetchHF fetches a 64 MiB file from the local Hugging Face
// server: B/op shows that memory does not grow with the file (it is
// streamed to disk and hashed as it goes).
func BenchmarkFetchHF(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 4<<20)
	s := sourcetest.NewHF(b, "org/model", map[string][]byte{"model.safetensors": data})
	s.LFS["model.safetensors"] = true
	src, err := Open(context.Background(), "hf://org/model", hfOpts(s))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Fetch(context.Background(), src, b.TempDir(), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
