package pymarshal

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode checks that arbitrary input never panics, that errors are
// returned instead, and that summaries stay bounded.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.marshal"))
	for _, file := range files {
		f.Add(readFixture(f, strings.TrimSuffix(filepath.Base(file), ".marshal"), ".marshal"))
	}
	f.Add(py38Lambda())
	f.Add(py37Lambda())
	f.Add(py2Lambda())
	f.Add(withConsts((&mb{}).tuple(1).raw('r').i32(0).b))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, lim := range []Limits{DefaultLimits(), {MaxDepth: 8, MaxItems: 64, MaxBytes: 4096}} {
			c, err := Decode(data, lim)
			if err != nil {
				if c != nil {
					t.Fatal("non-nil Code with an error")
				}
				if len(data) > lim.MaxBytes && !errors.Is(err, ErrLimit) {
					t.Fatalf("oversized input: %v", err)
				}
				continue
			}
			if s := c.String(); len(s) > maxSummary+10 || strings.ContainsAny(s, "\x00\n\r") {
				t.Fatalf("bad summary %q", s)
			}
			_ = c.AllNames()
			if c.Layout == "" {
				t.Fatal("empty Layout")
			}
		}
	})
}
