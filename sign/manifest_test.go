package sign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/zeebo/blake3"

	"github.com/violet-mlsecops/violet/internal/testutil"
)

// manifestSharedDir is the repository's testdata folder, which holds the reference data.
func manifestSharedDir(t *testing.T) string {
	return testutil.SharedDir(t)
}

// refPayload is the part of a reference statement that the manifest must reproduce.
type refPayload struct {
	Subject []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType string `json:"predicateType"`
	Predicate     struct {
		Serialization Serialization `json:"serialization"`
		Resources     []struct {
			Name      string `json:"name"`
			Algorithm string `json:"algorithm"`
			Digest    string `json:"digest"`
		} `json:"resources"`
	} `json:"predicate"`
}

// TestHashReferenceBundles hashes every reference model with the parameters its signature records and
// expects the signed resources, order, root digest and model name exactly.
func TestHashReferenceBundles(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(manifestSharedDir(t), "specs/model-signing/reference-bundles/v*-*"))
	if err != nil {
		t.Fatal(err)
	}
	tested := 0
	for _, dir := range dirs {
		raw, err := os.ReadFile(filepath.Join(dir, "model.sig"))
		if err != nil {
			t.Fatal(err)
		}
		var bundle struct {
			DSSE struct {
				Payload string `json:"payload"`
			} `json:"dsseEnvelope"`
		}
		if err := json.Unmarshal(raw, &bundle); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		data, err := base64.StdEncoding.DecodeString(bundle.DSSE.Payload)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		var p refPayload
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if p.PredicateType != "https://model_signing/signature/v1.0" {
			continue // v0.2.0: one subject per file, no manifest
		}
		tested++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			s := p.Predicate.Serialization
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			model := dir
			if len(p.Predicate.Resources) == 1 && p.Predicate.Resources[0].Name == "." {
				model = filepath.Join(dir, "signme-1")
			}
			if s.IgnorePaths == nil {
				// Signatures before v1.1 do not record them: the verifier is told.
				s.IgnorePaths = append(DefaultIgnorePaths(), "model.sig", "ignore-me")
			}
			m, err := Hash(context.Background(), model, s, HashOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Resources) != len(p.Predicate.Resources) {
				t.Fatalf("%d resources, want %d", len(m.Resources), len(p.Predicate.Resources))
			}
			for i, want := range p.Predicate.Resources {
				got := m.Resources[i]
				if got.Name != want.Name || got.Algorithm != want.Algorithm || hex.EncodeToString(got.Digest) != want.Digest {
					t.Errorf("resource %d = %s %s %x, want %s %s %s", i, got.Name, got.Algorithm, got.Digest,
						want.Name, want.Algorithm, want.Digest)
				}
			}
			if got, want := hex.EncodeToString(m.RootDigest()), p.Subject[0].Digest["sha256"]; got != want {
				t.Errorf("root digest %s, want %s", got, want)
			}
			if m.ModelName != p.Subject[0].Name {
				t.Errorf("model name %q, want %q", m.ModelName, p.Subject[0].Name)
			}
			if p.Predicate.Serialization.IgnorePaths != nil {
				want := slices.Clone(p.Predicate.Serialization.IgnorePaths)
				slices.Sort(want)
				if !reflect.DeepEqual(m.Serialization.IgnorePaths, want) {
					t.Errorf("ignore paths %q, want %q", m.Serialization.IgnorePaths, want)
				}
			}
		})
	}
	if tested < 10 {
		t.Fatalf("only %d reference bundles tested", tested)
	}
}

// writeHashTree writes files (path → content) under a new temporary folder.
func writeHashTree(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func mustHashModel(t *testing.T, path string, s Serialization, opts HashOptions) *Manifest {
	t.Helper()
	m, err := Hash(context.Background(), path, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func resourceNames(m *Manifest) []string {
	var out []string
	for _, r := range m.Resources {
		out = append(out, r.Name)
	}
	return out
}

func sha256Of(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

func TestHashOrderByComponents(t *testing.T) {
	root := writeHashTree(t, map[string]string{
		"a.b": "1", "a-b": "2", "a/b": "3", "a/c/d": "4", "a0": "5", "B": "6", "a/b0": "7", "é": "8", "z": "9",
	})
	m := mustHashModel(t, root, DefaultSerialization(), HashOptions{})
	want := []string{"B", "a/b", "a/b0", "a/c/d", "a-b", "a.b", "a0", "z", "é"}
	if got := resourceNames(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("order %q, want %q", got, want)
	}
	for _, r := range m.Resources {
		if r.Algorithm != "sha256" {
			t.Errorf("%s: algorithm %q", r.Name, r.Algorithm)
		}
	}
	if !bytes.Equal(m.Resources[1].Digest, sha256Of("3")) {
		t.Errorf("a/b digest %x", m.Resources[1].Digest)
	}
	if m.ModelName != filepath.Base(root) {
		t.Errorf("model name %q", m.ModelName)
	}
	var cat []byte
	for _, r := range m.Resources {
		cat = append(cat, r.Digest...)
	}
	if !bytes.Equal(m.RootDigest(), sha256Of(string(cat))) {
		t.Error("root digest is not the sha256 of the concatenated digests")
	}
}

func TestHashIgnorePaths(t *testing.T) {
	root := writeHashTree(t, map[string]string{
		"keep": "k", ".git/HEAD": "h", ".gitattributes": "x", ".gitignore": "x", ".github/w.yml": "x",
		"model.sig": "sig", "docs/a/b.md": "x", "docs/c": "x", "docsx": "x", "sub/.git": "kept: not at the root",
		"w/skip.bin": "x", "w/keep.bin": "x",
	})
	s := DefaultSerialization()
	s.IgnorePaths = append(s.IgnorePaths, "model.sig", "./docs/", "w/skip.bin", filepath.Join(root, "abs"), "/elsewhere", "../up")
	m := mustHashModel(t, root, s, HashOptions{})
	want := []string{"docsx", "keep", "sub/.git", "w/keep.bin"}
	if got := resourceNames(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("files %q, want %q", got, want)
	}
	wantIgnore := []string{".git", ".gitattributes", ".github", ".gitignore", "abs", "docs", "model.sig", "w/skip.bin"}
	if !reflect.DeepEqual(m.Serialization.IgnorePaths, wantIgnore) {
		t.Errorf("recorded ignore paths %q, want %q", m.Serialization.IgnorePaths, wantIgnore)
	}
	// Ignoring everything leaves no file: an error for method files, as in the reference tool.
	s.IgnorePaths = []string{"."}
	if _, err := Hash(context.Background(), root, s, HashOptions{}); err == nil {
		t.Error("no error for a model with every file ignored")
	}
}

func TestHashSingleFile(t *testing.T) {
	root := writeHashTree(t, map[string]string{"model.bin": "0123456789"})
	file := filepath.Join(root, "model.bin")
	m := mustHashModel(t, file, DefaultSerialization(), HashOptions{})
	if got := resourceNames(m); !reflect.DeepEqual(got, []string{"."}) || m.ModelName != "model.bin" {
		t.Fatalf("single file: %q, model %q", got, m.ModelName)
	}
	s := Serialization{Method: MethodShards, HashType: HashSHA256, ShardSize: 4}
	m = mustHashModel(t, file, s, HashOptions{})
	if got, want := resourceNames(m), []string{".:0:4", ".:4:8", ".:8:10"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("single file shards %q, want %q", got, want)
	}
}

func TestHashShards(t *testing.T) {
	root := writeHashTree(t, map[string]string{
		"exact": "abcdefgh", "small": "xy", "empty": "", "d/big": strings.Repeat("z", 9), "d-e": "q",
	})
	s := Serialization{Method: MethodShards, HashType: HashSHA256, ShardSize: 4}
	m := mustHashModel(t, root, s, HashOptions{Workers: 3, ReadSize: 3})
	want := []string{"d/big:0:4", "d/big:4:8", "d/big:8:9", "d-e:0:1", "exact:0:4", "exact:4:8", "small:0:2"}
	if got := resourceNames(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("shards %q, want %q", got, want)
	}
	for _, r := range m.Resources {
		if r.Algorithm != "sha256-sharded-4" {
			t.Errorf("%s: algorithm %q", r.Name, r.Algorithm)
		}
	}
	if !bytes.Equal(m.Resources[5].Digest, sha256Of("efgh")) || !bytes.Equal(m.Resources[2].Digest, sha256Of("z")) {
		t.Error("wrong shard digests")
	}
	// Shards order by start as numbers, not as text.
	root = writeHashTree(t, map[string]string{"f": strings.Repeat("a", 25)})
	m = mustHashModel(t, root, Serialization{Method: MethodShards, HashType: HashSHA256, ShardSize: 2}, HashOptions{})
	if got := resourceNames(m); got[4] != "f:8:10" || got[5] != "f:10:12" {
		t.Errorf("shard order %q", got)
	}
	// The default shard size, recorded.
	m = mustHashModel(t, root, Serialization{Method: MethodShards, HashType: HashSHA256}, HashOptions{})
	if m.Serialization.ShardSize != DefaultShardSize || m.Resources[0].Algorithm != "sha256-sharded-1000000000" {
		t.Errorf("default shards: %+v %q", m.Serialization, m.Resources[0].Algorithm)
	}
	raw, _ := json.Marshal(m.Serialization)
	if string(raw) != `{"method":"shards","hash_type":"sha256","shard_size":1000000000,"allow_symlinks":false}` {
		t.Errorf("serialization JSON %s", raw)
	}
}

func TestHashEmpty(t *testing.T) {
	root := writeHashTree(t, map[string]string{"e": ""})
	m := mustHashModel(t, root, DefaultSerialization(), HashOptions{})
	if len(m.Resources) != 1 || !bytes.Equal(m.Resources[0].Digest, sha256Of("")) {
		t.Fatalf("empty file: %+v", m.Resources)
	}
	if _, err := Hash(context.Background(), t.TempDir(), DefaultSerialization(), HashOptions{}); err == nil {
		t.Error("no error for an empty folder")
	}
}

func TestHashBLAKE3(t *testing.T) {
	root := writeHashTree(t, map[string]string{"a": "hello", "b/c": strings.Repeat("x", 5000)})
	for _, method := range []string{MethodFiles, MethodShards} {
		s := Serialization{Method: method, HashType: HashBLAKE3}
		if method == MethodShards {
			s.ShardSize = 10
		}
		m := mustHashModel(t, root, s, HashOptions{ReadSize: 1000})
		// As the reference tool: BLAKE3 always hashes whole files.
		if m.Serialization.Method != MethodFiles || m.Serialization.ShardSize != 0 {
			t.Errorf("%s: serialization %+v", method, m.Serialization)
		}
		want := blake3.Sum256([]byte(strings.Repeat("x", 5000)))
		if got := resourceNames(m); !reflect.DeepEqual(got, []string{"a", "b/c"}) || m.Resources[1].Algorithm != "blake3" ||
			!bytes.Equal(m.Resources[1].Digest, want[:]) {
			t.Errorf("%s: %q %+v", method, got, m.Resources[1])
		}
	}
	if _, err := Hash(context.Background(), root, Serialization{Method: MethodFiles, HashType: HashBLAKE2b}, HashOptions{}); err == nil {
		t.Error("blake2b accepted")
	}
}

func TestHashSymlinks(t *testing.T) {
	outside := writeHashTree(t, map[string]string{"secret": "s"})
	root := writeHashTree(t, map[string]string{"real": "r", "dir/f": "f"})
	link := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Skip(err)
		}
	}
	link("real", "alias")
	link("dir", "dirlink")
	allow := DefaultSerialization()
	allow.AllowSymlinks = true

	if _, err := Hash(context.Background(), root, DefaultSerialization(), HashOptions{}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("symlink refused? %v", err)
	}
	m := mustHashModel(t, root, allow, HashOptions{})
	if got, want := resourceNames(m), []string{"alias", "dir/f", "real"}; !reflect.DeepEqual(got, want) {
		t.Errorf("allowed symlinks: %q, want %q", got, want)
	}
	if !bytes.Equal(m.Resources[0].Digest, sha256Of("r")) {
		t.Error("alias not hashed as its target")
	}
	// An ignored link is not looked at.
	s := DefaultSerialization()
	s.IgnorePaths = append(s.IgnorePaths, "alias", "dirlink")
	mustHashModel(t, root, s, HashOptions{})

	// Outside the model: always refused, even allowed, file or directory, absolute or relative.
	for i, target := range []string{filepath.Join(outside, "secret"), "../" + filepath.Base(outside) + "/secret", outside, "missing"} {
		name := "out" + string(rune('0'+i))
		link(target, name)
		if _, err := Hash(context.Background(), root, allow, HashOptions{}); err == nil {
			t.Errorf("link to %s accepted", target)
		}
		if _, err := Hash(context.Background(), root, allow, HashOptions{Only: []string{name}}); err == nil {
			t.Errorf("link to %s accepted with Only", target)
		}
		os.Remove(filepath.Join(root, name))
	}
	// The model itself as a link.
	top := filepath.Join(t.TempDir(), "model")
	if err := os.Symlink(root, top); err != nil {
		t.Fatal(err)
	}
	if _, err := Hash(context.Background(), top, DefaultSerialization(), HashOptions{}); err == nil {
		t.Error("model symlink accepted with allow_symlinks false")
	}
	if m := mustHashModel(t, top, allow, HashOptions{}); m.ModelName != "model" || len(m.Resources) != 3 {
		t.Errorf("model symlink allowed: %q %q", m.ModelName, resourceNames(m))
	}
}

func TestHashSpecialFile(t *testing.T) {
	root := writeHashTree(t, map[string]string{"a": "a"})
	if err := mkfifo(filepath.Join(root, "fifo")); err != nil {
		t.Skip(err)
	}
	if _, err := Hash(context.Background(), root, DefaultSerialization(), HashOptions{}); err == nil || !strings.Contains(err.Error(), "fifo") {
		t.Errorf("fifo: %v", err)
	}
}

func TestHashOnlyAndCompare(t *testing.T) {
	root := writeHashTree(t, map[string]string{"a": "a", "b/c": "c", "d": "d", "big": strings.Repeat("x", 10)})
	for _, s := range []Serialization{DefaultSerialization(), {Method: MethodShards, HashType: HashSHA256, ShardSize: 4}} {
		signed := mustHashModel(t, root, s, HashOptions{})
		if d := Compare(signed, mustHashModel(t, root, signed.Serialization, HashOptions{})); !d.Empty() {
			t.Fatalf("%s: unchanged model differs: %+v", s.Method, d)
		}
		if got, want := signed.Files(), []string{"a", "b/c", "big", "d"}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: files %q", s.Method, got)
		}
		changed := writeHashTree(t, map[string]string{"a": "A", "b/c": "c", "big": strings.Repeat("x", 11), "new": "n"})
		want := Diff{Modified: []string{"a", "big"}, Added: []string{"new"}, Missing: []string{"d"}}
		actual := mustHashModel(t, changed, signed.Serialization, HashOptions{})
		if d := Compare(signed, actual); !reflect.DeepEqual(d, want) {
			t.Errorf("%s: diff %+v, want %+v", s.Method, d, want)
		}
		// Unsigned files ignored: hash only what the signature names; the missing one stays missing.
		actual = mustHashModel(t, changed, signed.Serialization, HashOptions{Only: signed.Files()})
		want.Added = nil
		if d := Compare(signed, actual); !reflect.DeepEqual(d, want) {
			t.Errorf("%s: only: diff %+v, want %+v", s.Method, d, want)
		}
	}
	for _, bad := range []string{"../x", "/etc/passwd", "a/../b", "", "."} {
		if _, err := Hash(context.Background(), root, DefaultSerialization(), HashOptions{Only: []string{bad}}); err == nil {
			t.Errorf("Only %q accepted", bad)
		}
	}
	// Only through a symbolic link directory is refused unless allowed.
	if err := os.Symlink("b", filepath.Join(root, "bl")); err == nil {
		if _, err := Hash(context.Background(), root, DefaultSerialization(), HashOptions{Only: []string{"bl/c"}}); err == nil {
			t.Error("Only through a symlink accepted")
		}
	}
}

func TestCompareShardLayout(t *testing.T) {
	m := func(names ...string) *Manifest {
		out := &Manifest{Serialization: Serialization{Method: MethodShards, HashType: HashSHA256, ShardSize: 4}}
		for _, n := range names {
			out.Resources = append(out.Resources, Resource{Name: n, Algorithm: "sha256-sharded-4", Digest: sha256Of(n)})
		}
		return out
	}
	d := Compare(m("f:0:4", "f:4:8", "g:0:1", "x:y:0:2"), m("f:0:4", "f:4:8", "f:8:9", "g:0:2", "x:y:0:2"))
	if want := (Diff{Modified: []string{"f", "g"}}); !reflect.DeepEqual(d, want) {
		t.Errorf("diff %+v, want %+v", d, want)
	}
}

func TestHashCancel(t *testing.T) {
	root := writeHashTree(t, map[string]string{"a": strings.Repeat("a", 1<<20), "b": "b"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Hash(ctx, root, DefaultSerialization(), HashOptions{ReadSize: 4096}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestManifestJSON(t *testing.T) {
	root := writeHashTree(t, map[string]string{"a": "a"})
	m := mustHashModel(t, root, DefaultSerialization(), HashOptions{})
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got["root_digest"] != "sha256:"+hex.EncodeToString(m.RootDigest()) || got["model_name"] != m.ModelName {
		t.Errorf("JSON %s", raw)
	}
	ser := got["serialization"].(map[string]any)
	if _, ok := ser["shard_size"]; ok || ser["method"] != "files" || len(ser["ignore_paths"].([]any)) != 4 {
		t.Errorf("serialization JSON %v", ser)
	}
	res := got["resources"].([]any)[0].(map[string]any)
	if res["name"] != "a" || res["algorithm"] != "sha256" || res["digest"] != hex.EncodeToString(sha256Of("a")) {
		t.Errorf("resource JSON %v", res)
	}
	var s Serialization
	if err := json.Unmarshal([]byte(`{"method":"files","hash_type":"sha256","allow_symlinks":false}`), &s); err != nil ||
		s.IgnorePaths != nil || s.Validate() != nil {
		t.Errorf("old serialization: %+v %v", s, err)
	}
}

func TestModelName(t *testing.T) {
	cwd, _ := os.Getwd()
	for in, want := range map[string]string{"a/b": "b", "a/b/": "b", "a/b/.": "b", "x": "x", ".": filepath.Base(cwd), "": filepath.Base(cwd), "..": filepath.Base(filepath.Dir(cwd))} {
		if got := modelName(in); got != want {
			t.Errorf("modelName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHashTooManyShards: a shard size tiny against the model (one a
// signature chose, that the verifier must follow) is refused before any
// shard is listed, instead of listing and hashing millions of them; the
// bound counts files and shards, exactly at the limit is accepted.
func TestHashTooManyShards(t *testing.T) {
	root := writeHashTree(t, map[string]string{"w.bin": strings.Repeat("a", 64), "x": "yz"})
	s := Serialization{Method: MethodShards, HashType: HashSHA256, ShardSize: 2}
	if _, err := Hash(context.Background(), root, s, HashOptions{MaxResources: 32}); err == nil || !strings.Contains(err.Error(), "too many to hash") {
		t.Errorf("33 shards, a limit of 32: %v", err)
	}
	if _, err := Hash(context.Background(), root, s, HashOptions{MaxResources: 33}); err != nil {
		t.Errorf("33 shards, a limit of 33: %v", err)
	}
	big := writeHashTree(t, map[string]string{})
	f, err := os.Create(filepath.Join(big, "sparse.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil { // 1 GiB of holes: a billion 1-byte shards
		t.Fatal(err)
	}
	f.Close()
	if _, err := Hash(context.Background(), big, Serialization{Method: MethodShards, HashType: HashSHA256, ShardSize: 1}, HashOptions{}); err == nil {
		t.Error("a billion shards: no error")
	}
}
