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

// FuzzParseOCIManifest checks that no manifest makes the parser or the
// layer naming panic, and that every file name it gives is one Fetch may
// write, once.
func FuzzParseOCIManifest(f *testing.F) {
	d := "sha256:" + strings.Repeat("a", 64)
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.cncf.model.weight.v1.raw","digest":"` + d + `","size":1,"annotations":{"org.cncf.model.filepath":"w/model.bin"}}]}`))
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.kitops.modelkit.model.v1.tar+gzip","digest":"` + d + `","size":1}]}`))
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + d + `","size":1,"annotations":{"org.opencontainers.image.title":"../x"}}]}`))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"digest":"` + d + `"},{"digest":"x","annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if one, ok, err := singleManifest(body); ok && err == nil {
			if _, valid := sha256Hex(one); !valid {
				t.Fatalf("index gave digest %q", one)
			}
		}
		m, err := ParseOCIManifest(body, 100)
		if err != nil {
			return
		}
		layers, err := OCILayers(m)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, l := range layers {
			if CheckPath(l.Path) != nil || seen[l.Path] {
				t.Fatalf("accepted %q", l.Path)
			}
			seen[l.Path] = true
		}
	})
}
