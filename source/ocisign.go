package source

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/violet-mlsecops/violet/sign"
)

// OCIBundle is a Sigstore bundle attached to an artifact as a referrer.
type OCIBundle struct {
	// Digest is the referrer manifest's digest.
	Digest string
	// Data is the bundle's bytes.
	Data []byte
}

// Bundles returns the Sigstore bundles attached to the artifact: the
// referrers whose artifact type is a Sigstore bundle, each one's first
// layer of a bundle media type (or its only layer), at most MaxMetadata
// bytes each.
func (o *OCISource) Bundles(ctx context.Context) ([]OCIBundle, error) {
	refs, err := o.reg.referrers(ctx, o.digest)
	if err != nil {
		return nil, fmt.Errorf("%s: referrers: %w", o.Location(), err)
	}
	if len(refs) > 100 {
		refs = refs[:100]
	}
	var out []OCIBundle
	for _, r := range refs {
		// Registries report a referrer's artifactType, or (older ones)
		// its config's media type: the manifest itself says.
		if r.ArtifactType != "" && !strings.HasPrefix(r.ArtifactType, MediaTypeSigstoreBundle) && r.ArtifactType != mediaTypeEmpty {
			continue
		}
		raw, _, err := o.reg.manifest(ctx, r.Digest)
		if err != nil {
			return nil, fmt.Errorf("%s: referrer %s: %w", o.Location(), r.Digest, err)
		}
		m, err := ParseOCIManifest(raw, 16)
		if err != nil {
			return nil, fmt.Errorf("%s: referrer %s: %w", o.Location(), r.Digest, err)
		}
		if !strings.HasPrefix(m.ArtifactType, MediaTypeSigstoreBundle) && !strings.HasPrefix(m.Config.MediaType, MediaTypeSigstoreBundle) {
			continue
		}
		var layer *OCIDescriptor
		for i, l := range m.Layers {
			if strings.HasPrefix(l.MediaType, MediaTypeSigstoreBundle) || len(m.Layers) == 1 {
				layer = &m.Layers[i]
				break
			}
		}
		if layer == nil {
			continue
		}
		if layer.Size > o.lim.MaxMetadata {
			return nil, fmt.Errorf("%s: referrer %s: a bundle of %d bytes", o.Location(), r.Digest, layer.Size)
		}
		rc, err := o.reg.blob(ctx, layer.Digest)
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(rc, o.lim.MaxMetadata+1))
		rc.Close()
		if err != nil {
			return nil, err
		}
		if int64(len(data)) > o.lim.MaxMetadata {
			return nil, fmt.Errorf("%s: referrer %s: bundle too large", o.Location(), r.Digest)
		}
		out = append(out, OCIBundle{Digest: r.Digest, Data: data})
	}
	return out, nil
}

// mediaTypeEmpty is the OCI empty descriptor's media type (the config of
// an artifact with no config).
const mediaTypeEmpty = "application/vnd.oci.empty.v1+json"

// OCIVerifyResult is the outcome of VerifyOCI once the signature is
// trusted.
type OCIVerifyResult struct {
	sign.Result
	// NotDownloaded are the files whose layer digest stood for their
	// SHA-256: no byte of them was pulled.
	NotDownloaded []string
	// Downloaded are the files that were pulled and hashed (all of them
	// when the layer digests could not stand for the files).
	Downloaded []string
}

// ErrNeedsPull is wrapped by ManifestFromLayers when the artifact's
// layers cannot stand for the signed files: a layer that is an archive, or
// a signature that is not of whole files with SHA-256.
var ErrNeedsPull = errors.New("the layer digests cannot stand for the signed files")

// ManifestFromLayers builds the manifest of an artifact pushed one file
// per layer, from the layer digests (the files' SHA-256), with the signed
// serialization: no layer is pulled. Files under the serialization's
// ignore paths are left out.
func ManifestFromLayers(o *OCISource, s sign.Serialization) (*sign.Manifest, error) {
	if s.Method != sign.MethodFiles || s.HashType != sign.HashSHA256 {
		return nil, fmt.Errorf("%w: the signature hashes %s with %s", ErrNeedsPull, s.Method, s.HashType)
	}
	m := &sign.Manifest{ModelName: o.Location(), Serialization: s}
	for _, l := range o.layers {
		if l.Kind != LayerFile {
			return nil, fmt.Errorf("%w: layer %s (%s) is an archive", ErrNeedsPull, l.Path, l.MediaType)
		}
		if sign.Ignored(l.Path, s.IgnorePaths) {
			continue
		}
		h, _ := sha256Hex(l.Digest)
		raw, err := hex.DecodeString(h)
		if err != nil {
			return nil, err
		}
		m.Resources = append(m.Resources, sign.Resource{Name: l.Path, Algorithm: s.ResourceAlgorithm(), Digest: raw})
	}
	return m, nil
}

// VerifyOCI verifies an OCI model artifact against an OMS bundle: the
// signature with v (errors wrap sign.ErrSignature or sign.ErrPayload),
// then the files. When the model was pushed one file per layer and signed
// as whole files with SHA-256, the layer digests are the files' digests
// and no layer is pulled; otherwise the artifact is fetched into a
// temporary folder (removed) and hashed as violet verify hashes a folder.
func VerifyOCI(ctx context.Context, o *OCISource, b *sign.Bundle, v sign.Verifier, lim Limits) (*OCIVerifyResult, error) {
	signed, err := sign.VerifyBundleManifest(b, v)
	if err != nil {
		return nil, err
	}
	actual, err := ManifestFromLayers(o, signed.Serialization)
	if err == nil {
		res := &OCIVerifyResult{Result: sign.Result{Signed: signed, Actual: actual, Diff: sign.Compare(signed, actual)}}
		for _, r := range actual.Resources {
			res.NotDownloaded = append(res.NotDownloaded, r.Name)
		}
		sort.Strings(res.NotDownloaded)
		return res, nil
	}
	if !errors.Is(err, ErrNeedsPull) {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "violet-verify-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	entries, err := Fetch(ctx, o, dir, lim)
	if err != nil {
		return nil, err
	}
	r, err := sign.VerifyModel(ctx, dir, b, v, sign.VerifyOptions{})
	if err != nil {
		return nil, err
	}
	res := &OCIVerifyResult{Result: *r}
	for _, e := range entries {
		res.Downloaded = append(res.Downloaded, e.Path)
	}
	return res, nil
}
