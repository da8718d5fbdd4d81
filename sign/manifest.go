// Package sign signs and verifies machine learning models in the OpenSSF Model Signing format (OMS v1.0),
// interoperable with the reference tool model_signing (sigstore/model-transparency).
//
// This file holds the manifest: the list of a model's files (or file shards) with their digests, named,
// ordered and recorded exactly as the reference tool serializes them. Hash (hash.go) builds one from a
// folder or a single file.
package sign

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Serialization methods, as recorded in the "method" field of the serialization parameters.
const (
	// MethodFiles hashes every file as a whole: one resource per file, named by its path.
	MethodFiles = "files"
	// MethodShards hashes every file in shards of ShardSize bytes: one resource per shard, named
	// "path:start:end" (start included, end excluded). Empty files have no shard and no resource.
	MethodShards = "shards"
)

// Hash types, as recorded in the "hash_type" field of the serialization parameters and, for the files
// method, in the "algorithm" of every resource.
const (
	// HashSHA256 is SHA-256, the reference tool's default.
	HashSHA256 = "sha256"
	// HashBLAKE3 is BLAKE3 with a 32-byte output. The reference tool never shards BLAKE3: it hashes
	// whole files instead (method files), and so does Hash.
	HashBLAKE3 = "blake3"
	// HashBLAKE2b is the reference tool's name for BLAKE2b-512. It is recognized but not supported here.
	HashBLAKE2b = "blake2b"
)

// DefaultShardSize is the reference tool's default shard size for the shards method: 1,000,000,000 bytes.
const DefaultShardSize int64 = 1_000_000_000

// DefaultIgnorePaths returns the paths that the reference tool ignores by default in every model folder:
// the git files. The signer adds the signature file's own path (relative to the model) when the signature
// is written inside the model.
func DefaultIgnorePaths() []string {
	return []string{".git", ".gitattributes", ".github", ".gitignore"}
}

// Serialization describes how a model was turned into a manifest: the "serialization" object of the OMS
// predicate. A verifier reads it from the bundle and hashes the model again with the same parameters.
type Serialization struct {
	// Method is MethodFiles or MethodShards.
	Method string
	// HashType is the hash of every resource: HashSHA256 or HashBLAKE3.
	HashType string
	// ShardSize is the shard size in bytes for MethodShards (Hash takes 0 for DefaultShardSize); it is
	// 0 and not recorded for MethodFiles.
	ShardSize int64
	// AllowSymlinks lets Hash follow symbolic links to files inside the model. When false, a symbolic
	// link anywhere in the model (not ignored) is an error. A link whose target is outside the model
	// is always an error, and a link to a directory is never followed (as in the reference tool).
	AllowSymlinks bool
	// IgnorePaths are paths relative to the model root, in POSIX form, left out of the manifest with
	// everything under them. Nil means the field is absent (bundles of reference versions before 1.1).
	IgnorePaths []string
}

// DefaultSerialization returns the reference tool's default parameters: method files, SHA-256, no
// symbolic links, and the default ignore paths.
func DefaultSerialization() Serialization {
	return Serialization{Method: MethodFiles, HashType: HashSHA256, IgnorePaths: DefaultIgnorePaths()}
}

// Validate reports whether the parameters can be hashed by this package.
func (s Serialization) Validate() error {
	switch s.Method {
	case MethodFiles:
		if s.ShardSize != 0 {
			return fmt.Errorf("serialization: shard_size %d given for method %q", s.ShardSize, s.Method)
		}
	case MethodShards:
		if s.ShardSize <= 0 {
			return fmt.Errorf("serialization: shard_size %d is not positive", s.ShardSize)
		}
	default:
		return fmt.Errorf("serialization: unsupported method %q", s.Method)
	}
	switch s.HashType {
	case HashSHA256, HashBLAKE3:
	case HashBLAKE2b:
		return fmt.Errorf("serialization: hash type %q is not supported", s.HashType)
	default:
		return fmt.Errorf("serialization: unknown hash type %q", s.HashType)
	}
	return nil
}

// ResourceAlgorithm is the "algorithm" that the reference tool records for every resource: the hash type
// for method files, and "<hash_type>-sharded-<shard_size>" for method shards (e.g. "sha256-sharded-1000000000").
func (s Serialization) ResourceAlgorithm() string {
	if s.Method == MethodShards {
		return s.HashType + "-sharded-" + strconv.FormatInt(s.ShardSize, 10)
	}
	return s.HashType
}

// serializationJSON is the reference tool's dict: shard_size only for shards, ignore_paths when known.
type serializationJSON struct {
	Method        string    `json:"method"`
	HashType      string    `json:"hash_type"`
	ShardSize     *int64    `json:"shard_size,omitempty"`
	AllowSymlinks bool      `json:"allow_symlinks"`
	IgnorePaths   *[]string `json:"ignore_paths,omitempty"`
}

// MarshalJSON writes the parameters as the reference tool does: method, hash_type, shard_size (shards
// only), allow_symlinks and, unless IgnorePaths is nil, ignore_paths (written with EncodeName).
func (s Serialization) MarshalJSON() ([]byte, error) {
	j := serializationJSON{Method: s.Method, HashType: s.HashType, AllowSymlinks: s.AllowSymlinks}
	if s.Method == MethodShards {
		size := s.ShardSize
		j.ShardSize = &size
	}
	if s.IgnorePaths != nil {
		paths := encodeNames(s.IgnorePaths)
		j.IgnorePaths = &paths
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the "serialization" object of an OMS predicate; ignore paths are read back with
// DecodeName. It does not validate the values: call Validate.
func (s *Serialization) UnmarshalJSON(data []byte) error {
	var j serializationJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*s = Serialization{Method: j.Method, HashType: j.HashType, AllowSymlinks: j.AllowSymlinks}
	if j.ShardSize != nil {
		s.ShardSize = *j.ShardSize
	}
	if j.IgnorePaths != nil {
		paths, err := decodeNames(*j.IgnorePaths)
		if err != nil {
			return fmt.Errorf("ignore_paths: %w", err)
		}
		s.IgnorePaths = append([]string{}, paths...)
	}
	return nil
}

// Resource is one file or file shard of a model with its digest.
type Resource struct {
	// Name is the POSIX path relative to the model root ("." for a single-file model), followed by
	// ":start:end" for a shard.
	Name string
	// Algorithm is Serialization.ResourceAlgorithm() of the manifest.
	Algorithm string
	// Digest is the raw digest of the file or shard.
	Digest []byte
}

// Manifest is a model's list of resources, in the reference tool's order, with the parameters that
// produced it.
type Manifest struct {
	// ModelName is the last element of the model's path (informative only: it is not covered by the
	// root digest, and renaming a model does not invalidate its signature).
	ModelName string
	// Serialization is the parameters used, as they are recorded in the signature.
	Serialization Serialization
	// Resources are sorted by path components, then shard start.
	Resources []Resource
}

// RootDigest is the SHA-256 of the concatenated raw digests of the resources in manifest order: the
// digest of the in-toto subject.
func (m *Manifest) RootDigest() []byte {
	h := sha256.New()
	for _, r := range m.Resources {
		h.Write(r.Digest)
	}
	return h.Sum(nil)
}

// Files returns the file paths named by the resources, once each, in manifest order: the list of
// files to hash again with HashOptions.Only when verifying with unsigned files ignored.
func (m *Manifest) Files() []string {
	var out []string
	seen := make(map[string]bool, len(m.Resources))
	for _, r := range m.Resources {
		p := m.resourceFile(r.Name)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// resourceFile is the file path of a resource name (the name itself for method files).
func (m *Manifest) resourceFile(name string) string {
	if m.Serialization.Method == MethodShards {
		if p, _, _, ok := splitShardName(name); ok {
			return p
		}
	}
	return name
}

// shardName is the reference tool's name of a shard.
func shardName(path string, start, end int64) string {
	return path + ":" + strconv.FormatInt(start, 10) + ":" + strconv.FormatInt(end, 10)
}

// splitShardName parses "path:start:end"; the path may itself hold colons.
func splitShardName(name string) (path string, start, end int64, ok bool) {
	i := strings.LastIndexByte(name, ':')
	if i < 0 {
		return "", 0, 0, false
	}
	j := strings.LastIndexByte(name[:i], ':')
	if j < 0 {
		return "", 0, 0, false
	}
	start, err1 := strconv.ParseInt(name[j+1:i], 10, 64)
	end, err2 := strconv.ParseInt(name[i+1:], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, 0, false
	}
	return name[:j], start, end, true
}

// comparePaths orders POSIX paths by their components, as Python orders PurePosixPath objects:
// "a/b" < "a-b" < "a.b" < "a0", and a path comes before the paths under it.
func comparePaths(a, b string) int {
	for {
		ia, ib := strings.IndexByte(a, '/'), strings.IndexByte(b, '/')
		ca, cb := a, b
		if ia >= 0 {
			ca = a[:ia]
		}
		if ib >= 0 {
			cb = b[:ib]
		}
		if c := strings.Compare(ca, cb); c != 0 {
			return c
		}
		switch {
		case ia < 0 && ib < 0:
			return 0
		case ia < 0:
			return -1
		case ib < 0:
			return 1
		}
		a, b = a[ia+1:], b[ib+1:]
	}
}

// manifestJSON is the JSON form of a manifest printed by `violet hash`.
type manifestJSON struct {
	ModelName     string         `json:"model_name"`
	Serialization Serialization  `json:"serialization"`
	RootDigest    string         `json:"root_digest"`
	Resources     []resourceJSON `json:"resources"`
}

type resourceJSON struct {
	Name      string `json:"name"`
	Algorithm string `json:"algorithm"`
	Digest    string `json:"digest"`
}

// MarshalJSON writes {"model_name", "serialization", "root_digest": "sha256:<hex>", "resources":
// [{"name", "algorithm", "digest": "<hex>"}]}, names written with EncodeName.
func (m *Manifest) MarshalJSON() ([]byte, error) {
	j := manifestJSON{
		ModelName:     EncodeName(m.ModelName),
		Serialization: m.Serialization,
		RootDigest:    "sha256:" + hex.EncodeToString(m.RootDigest()),
		Resources:     make([]resourceJSON, len(m.Resources)),
	}
	for i, r := range m.Resources {
		j.Resources[i] = resourceJSON{Name: EncodeName(r.Name), Algorithm: r.Algorithm, Digest: hex.EncodeToString(r.Digest)}
	}
	return json.Marshal(j)
}

// Diff is the difference between a signed manifest and the manifest of the model on disk, by file path
// (a file whose shards differ is reported once). Every list is sorted by path components.
type Diff struct {
	// Modified are files in both whose content (digest, algorithm, or shard layout) differs.
	Modified []string
	// Added are files on disk that the signature does not name.
	Added []string
	// Missing are files that the signature names and that are not on disk (or were not hashed).
	Missing []string
}

// Empty reports whether the two manifests agree.
func (d Diff) Empty() bool {
	return len(d.Modified) == 0 && len(d.Added) == 0 && len(d.Missing) == 0
}

// Compare compares the resources of two manifests by name. It does not compare the model names or the
// serialization parameters: hash the model with the signed manifest's parameters first.
func Compare(signed, actual *Manifest) Diff {
	type status struct{ both, onlySigned, onlyActual, differ int }
	files := map[string]*status{}
	get := func(p string) *status {
		st := files[p]
		if st == nil {
			st = &status{}
			files[p] = st
		}
		return st
	}
	act := make(map[string]*Resource, len(actual.Resources))
	for i := range actual.Resources {
		act[actual.Resources[i].Name] = &actual.Resources[i]
	}
	seen := make(map[string]bool, len(signed.Resources))
	for _, r := range signed.Resources {
		seen[r.Name] = true
		st := get(signed.resourceFile(r.Name))
		a := act[r.Name]
		switch {
		case a == nil:
			st.onlySigned++
		case a.Algorithm != r.Algorithm || string(a.Digest) != string(r.Digest):
			st.differ++
		default:
			st.both++
		}
	}
	for _, r := range actual.Resources {
		if !seen[r.Name] {
			get(actual.resourceFile(r.Name)).onlyActual++
		}
	}
	var d Diff
	for p, st := range files {
		switch {
		case st.differ == 0 && st.onlyActual == 0 && st.onlySigned == 0:
		case st.differ == 0 && st.both == 0 && st.onlyActual == 0:
			d.Missing = append(d.Missing, p)
		case st.differ == 0 && st.both == 0 && st.onlySigned == 0:
			d.Added = append(d.Added, p)
		default:
			d.Modified = append(d.Modified, p)
		}
	}
	for _, l := range [][]string{d.Modified, d.Added, d.Missing} {
		slices.SortFunc(l, comparePaths)
	}
	return d
}
