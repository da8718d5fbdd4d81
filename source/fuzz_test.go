package source

import (
	"strings"
	"testing"
)

// FuzzParseHFModelInfo checks that no model info answer makes the parser
// panic, and that every entry it accepts is a path Fetch may write.
func FuzzParseHFModelInfo(f *testing.F) {
	f.Add([]byte(`{"sha":"` + strings.Repeat("a", 40) + `","siblings":[{"rfilename":"a/b.bin","size":3,"lfs":{"sha256":"` + strings.Repeat("0", 64) + `","size":3}}]}`))
	f.Add([]byte(`{"sha":"` + strings.Repeat("a", 40) + `","siblings":[{"rfilename":"../x"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		info, err := ParseHFModelInfo(body, 1000)
		if err != nil {
			return
		}
		for _, e := range info.Entries {
			if CheckPath(e.Path) != nil || (e.SHA256 != "" && !isHexDigest(e.SHA256)) || e.Size < -1 {
				t.Fatalf("accepted %+v", e)
			}
		}
	})
}

// FuzzParseHFTree is FuzzParseHFModelInfo for a tree page.
func FuzzParseHFTree(f *testing.F) {
	f.Add([]byte(`[{"type":"file","path":"a","size":1,"lfs":{"oid":"` + strings.Repeat("0", 64) + `","size":1}},{"type":"directory","path":"d"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		entries, err := ParseHFTree(body, 1000)
		if err != nil {
			return
		}
		for _, e := range entries {
			if CheckPath(e.Path) != nil || (e.SHA256 != "" && !isHexDigest(e.SHA256)) {
				t.Fatalf("accepted %+v", e)
			}
		}
	})
}

// FuzzCheckPath checks that an accepted path never climbs out of a folder.
func FuzzCheckPath(f *testing.F) {
	for _, s := range []string{"a/b", "../a", "a/../b", "/a", "a\\..\\b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if CheckPath(p) != nil {
			return
		}
		for _, part := range strings.Split(p, "/") {
			if part == ".." || part == "." || part == "" {
				t.Fatalf("accepted %q", p)
			}
		}
	})
}
