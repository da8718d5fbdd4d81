package sign

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultSignaturePath is where a model's signature is when no path is
// given: model.sig inside a model folder, beside a single-file model (the
// reference tool's default name).
func DefaultSignaturePath(model string) string {
	if info, err := os.Stat(model); err == nil && !info.IsDir() {
		return filepath.Join(filepath.Dir(model), "model.sig")
	}
	return filepath.Join(model, "model.sig")
}

// VerifyOptions are the choices of a verification that the signature does
// not record.
type VerifyOptions struct {
	// IgnorePaths are left out of the model besides those the signature
	// records: paths relative to the model root, or absolute paths inside
	// it.
	IgnorePaths []string
	// IgnoreUnsignedFiles hashes only the files the signature names: files
	// added to the model since do not fail the verification.
	IgnoreUnsignedFiles bool
	// SignaturePath is where the bundle was read from; when it is inside
	// the model, it is ignored.
	SignaturePath string
	// Hash tunes the hashing.
	Hash HashOptions
}

// Result is the outcome of a verification whose signature was trusted.
type Result struct {
	// Signed is the manifest the signature covers.
	Signed *Manifest
	// Actual is the manifest of the model on disk, hashed with the signed
	// serialization parameters.
	Actual *Manifest
	// Diff lists the files that differ; it is empty when the model is the
	// one that was signed.
	Diff Diff
}

// OK reports whether the model on disk is the signed one.
func (r *Result) OK() bool { return r.Diff.Empty() }

// VerifyModel verifies the model at modelPath against the bundle: first the
// signature with v (errors wrap ErrSignature, or ErrPayload when what is
// signed is not a usable manifest), then the content, hashed again with
// the serialization parameters the signature records. A content mismatch is
// not an error: the Result's Diff says which files were modified, added or
// are missing.
func VerifyModel(ctx context.Context, modelPath string, b *Bundle, v Verifier, opts VerifyOptions) (*Result, error) {
	signed, err := VerifyBundleManifest(b, v)
	if err != nil {
		return nil, err
	}
	if err := checkNames(signed); err != nil {
		return nil, err
	}
	s := signed.Serialization
	if s.IgnorePaths == nil {
		// Bundles before model_signing 1.1 do not record them: the
		// reference verifier ignores the git files.
		s.IgnorePaths = DefaultIgnorePaths()
	}
	s.IgnorePaths = append(append([]string{}, s.IgnorePaths...), opts.IgnorePaths...)
	if opts.SignaturePath != "" {
		if abs, err := filepath.Abs(opts.SignaturePath); err == nil {
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				abs = real
			}
			s.IgnorePaths = append(s.IgnorePaths, abs)
		}
	}
	hopts := opts.Hash
	if opts.IgnoreUnsignedFiles {
		hopts.Only = signed.Files()
	}
	actual, err := Hash(ctx, modelPath, s, hopts)
	if err != nil {
		return nil, err
	}
	return &Result{Signed: signed, Actual: actual, Diff: Compare(signed, actual)}, nil
}

// checkNames refuses a manifest that names a file outside the model: an
// absolute path, a path that climbs with "..", or one that is not in clean
// POSIX form. Such a manifest was not written by a signer that hashed a
// model; it is an attempt to make the verifier read elsewhere.
func checkNames(m *Manifest) error {
	for _, p := range m.Files() {
		if p == "." && len(m.Resources) == 1 {
			continue // a single-file model
		}
		if p == "" || p == "." || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || path.Clean(p) != p ||
			p == ".." || strings.HasPrefix(p, "../") || filepath.VolumeName(p) != "" {
			return fmt.Errorf("%w: the manifest names %q, a path outside the model or not in clean relative form", ErrPayload, p)
		}
	}
	return nil
}
