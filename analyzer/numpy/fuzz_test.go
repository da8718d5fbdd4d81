package numpy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
)

// FuzzNpyHeader parses arbitrary headers and analyzes the whole input as a
// .npy file: no panic, a parsed header stays inside the input, and the
// analyzer reports only catalogued rules.
func FuzzNpyHeader(f *testing.F) {
	for _, dir := range []string{"benign", "malicious"} {
		files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "models", dir, "numpy", "*.npy"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	for _, h := range []string{
		"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }",
		"{'descr': [('a', '<i4'), ('b', [('c', '|O', (2,))])], 'fortran_order': True, 'shape': (), }",
		"{'descr': 'i4,O', 'fortran_order': False, 'shape': (1L,), }",
		"{\"descr\": \"<U10\", \"fortran_order\": False, \"shape\": (9223372036854775807, 2)}",
		strings.Repeat("(", 40),
	} {
		f.Add(npyFile(1, h, nil))
		f.Add(npyFile(3, h, []byte(npyPayload)))
	}
	a := New(pickle.New(pickle.DefaultPolicy()))
	f.Fuzz(func(t *testing.T, data []byte) {
		if h, err := ParseHeader(data); err == nil {
			if h.DataOffset < 10 || h.DataOffset > int64(len(data)) {
				t.Fatalf("data offset %d of a %d-byte input", h.DataOffset, len(data))
			}
			for _, d := range h.Shape {
				if d < 0 {
					t.Fatalf("negative dimension in %v", h.Shape)
				}
			}
			h.HasObject()
			if size, ok := h.DataSize(); ok && size < 0 {
				t.Fatalf("negative data size %d", size)
			}
		}
		in := analyzer.NewBytesInput("fuzz.npy", data)
		if !a.Sniff(in) {
			return
		}
		out := &npyOutput{}
		done := make(chan error, 1)
		go func() { done <- a.Analyze(context.Background(), in, out) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Analyze did not finish in 20s")
		}
		for _, f := range out.findings {
			if _, ok := finding.Lookup(f.Rule); !ok {
				t.Fatalf("finding of rule %q", f.Rule)
			}
			if f.Location.Offset < -1 || f.Location.Offset > int64(len(data)) {
				t.Fatalf("finding %s at %d of a %d-byte input", f.Rule, f.Location.Offset, len(data))
			}
		}
	})
}
