package sign_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/violet-mlsecops/violet/sign"
)

// TestNameEncoding: UTF-8 names are written as they are; other bytes as
// NUL and two hex digits; what EncodeName does not write is refused.
func TestNameEncoding(t *testing.T) {
	for raw, written := range map[string]string{
		"config.json":       "config.json",
		"dir/é.bin":         "dir/é.bin",
		"w\xff.bin":         "w\x00ff.bin",
		"w\xfe.bin":         "w\x00fe.bin",
		"d\xe9/x\xc3":       "d\x00e9/x\x00c3",
		"\xed\xb3\xbf":      "\x00ed\x00b3\x00bf", // a surrogate in UTF-8 form is not UTF-8
		"w\xff.bin:0:10":    "w\x00ff.bin:0:10",
		"%ff \\xff \\udcff": "%ff \\xff \\udcff",
	} {
		if got := sign.EncodeName(raw); got != written {
			t.Errorf("EncodeName(%q) = %q, want %q", raw, got, written)
		}
		if !utf8.ValidString(written) {
			t.Errorf("%q: written form %q is not UTF-8", raw, written)
		}
		if got, err := sign.DecodeName(written); err != nil || got != raw {
			t.Errorf("DecodeName(%q) = %q, %v; want %q", written, got, err, raw)
		}
	}
	for _, bad := range []string{"w\x00", "w\x00f", "w\x00FF.bin", "w\x00zz", "\x0041", "\x00c3\x00a9", "a\x00"} {
		if p, err := sign.DecodeName(bad); err == nil {
			t.Errorf("DecodeName(%q) = %q, want an error", bad, p)
		}
	}
}

// FuzzNameEncoding: every name round-trips, and a decoded name is the
// one file name that is written that way.
func FuzzNameEncoding(f *testing.F) {
	for _, s := range []string{"a", "w\xff.bin", "w\x00ff.bin", "\x00c3\x00a9", "\xed\xb3\xbf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.Contains(s, "\x00") {
			w := sign.EncodeName(s)
			if p, err := sign.DecodeName(w); err != nil || p != s || !utf8.ValidString(w) {
				t.Fatalf("%q: written %q, read back %q, %v", s, w, p, err)
			}
		}
		if p, err := sign.DecodeName(s); err == nil && (sign.EncodeName(p) != s || strings.Contains(p, "\x00")) {
			t.Fatalf("DecodeName(%q) = %q, written back %q", s, p, sign.EncodeName(p))
		}
	})
}

// TestNonUTF8Names: a model whose file names are not UTF-8 is hashed,
// signed and verified; two such names differing in one byte stay two
// files, and changing, renaming or adding one is reported by its name.
func TestNonUTF8Names(t *testing.T) {
	files := map[string]string{"w\xff.bin": "one", "w\xfe.bin": "two", "d\xe9/x.bin": "three", "ok.json": "{}"}
	write := func(t *testing.T) string {
		dir := t.TempDir()
		for name, content := range files {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Skipf("this file system refuses names that are not UTF-8: %v", err)
			}
		}
		return dir
	}
	dir := write(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := sign.NewKeySigner(key)
	v, _ := sign.NewKeyVerifier(&key.PublicKey)
	for _, ser := range []sign.Serialization{sign.DefaultSerialization(), {Method: sign.MethodShards, HashType: sign.HashSHA256, ShardSize: 2,
		IgnorePaths: []string{"ignored\xff"}}} {
		t.Run(ser.Method, func(t *testing.T) {
			m, err := sign.Hash(context.Background(), dir, ser, sign.HashOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Files(); !slices.Equal(got, []string{"d\xe9/x.bin", "ok.json", "w\xfe.bin", "w\xff.bin"}) {
				t.Fatalf("files %q", got)
			}
			out, err := json.Marshal(m)
			if err != nil || !utf8.Valid(out) || !strings.Contains(string(out), `"w\u0000ff.bin`) {
				t.Errorf("manifest JSON: %v\n%s", err, out)
			}
			bundle, err := sign.SignManifest(m, s)
			if err != nil {
				t.Fatal(err)
			}
			b, err := sign.ParseBundle(bundle)
			if err != nil {
				t.Fatal(err)
			}
			r, err := sign.VerifyModel(context.Background(), dir, b, v, sign.VerifyOptions{})
			if err != nil || !r.OK() || !slices.Equal(r.Signed.Files(), m.Files()) ||
				!slices.Equal(r.Signed.Serialization.IgnorePaths, m.Serialization.IgnorePaths) {
				t.Fatalf("verify: %v %+v", err, r)
			}

			tampered := write(t)
			if err := os.WriteFile(filepath.Join(tampered, "w\xff.bin"), []byte("changed"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(tampered, "w\xfe.bin"), filepath.Join(tampered, "w\xfd.bin")); err != nil {
				t.Fatal(err)
			}
			r, err = sign.VerifyModel(context.Background(), tampered, b, v, sign.VerifyOptions{})
			want := sign.Diff{Modified: []string{"w\xff.bin"}, Added: []string{"w\xfd.bin"}, Missing: []string{"w\xfe.bin"}}
			if err != nil || !slices.Equal(r.Diff.Modified, want.Modified) || !slices.Equal(r.Diff.Added, want.Added) ||
				!slices.Equal(r.Diff.Missing, want.Missing) {
				t.Errorf("after tampering: %v, diff %q", err, r.Diff)
			}
		})
	}
}

// TestForgedEscapedNames: a validly signed manifest whose names are not
// ones EncodeName writes is refused: a NUL that starts no escape, or an
// escape of bytes that are UTF-8 (another spelling of "é").
func TestForgedEscapedNames(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := sign.NewKeySigner(key)
	v, _ := sign.NewKeyVerifier(&key.PublicKey)
	for _, name := range []string{"a\x00", "\x00c3\x00a9.bin", "w\x00FF.bin"} {
		payload := `{"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "m", "digest": {"sha256": "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"}}],
			"predicateType": "https://model_signing/signature/v1.0", "predicate": {"serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": false},
			"resources": [{"name": ` + jsonString(t, name) + `, "algorithm": "sha256", "digest": "0000000000000000000000000000000000000000000000000000000000000000"}]}}`
		if _, err := sign.ParsePayload([]byte(payload)); !errors.Is(err, sign.ErrPayload) || !strings.Contains(err.Error(), "NUL") {
			t.Errorf("%q: %v", name, err)
		}
		m := &sign.Manifest{ModelName: "m", Serialization: sign.DefaultSerialization(),
			Resources: []sign.Resource{{Name: "ok", Algorithm: "sha256", Digest: make([]byte, 32)}}}
		m.Serialization.IgnorePaths = []string{name}
		bundle, err := sign.SignManifest(m, s)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := sign.ParseBundle(bundle)
		if _, err := sign.VerifyBundleManifest(b, v); !errors.Is(err, sign.ErrPayload) {
			t.Errorf("ignore path %q: %v", name, err)
		}
	}
}

// jsonString is s as a JSON string.
func jsonString(t *testing.T, s string) string {
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
