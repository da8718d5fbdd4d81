package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/violet-mlsecops/violet/bom"
	"github.com/violet-mlsecops/violet/server"
	"github.com/violet-mlsecops/violet/sign"
	"github.com/violet-mlsecops/violet/source"
	"github.com/violet-mlsecops/violet/store"
)

// Signatures returns the signatures (Sigstore bundles) attached to the
// model at a pinned location outside its files: an OCI artifact's
// referrers. Locations that carry their signature as a file (model.sig)
// return none.
type Signatures func(ctx context.Context, pinned string) ([][]byte, error)

// SourceSignatures is the Signatures of package source: the Sigstore
// bundles attached to an oci:// manifest as referrers; none for other
// locations.
func SourceSignatures(opts source.Options) Signatures {
	return func(ctx context.Context, pinned string) ([][]byte, error) {
		if !strings.HasPrefix(pinned, source.SchemeOCI) {
			return nil, nil
		}
		src, err := source.OpenOCI(ctx, pinned, opts)
		if err != nil {
			return nil, err
		}
		defer src.Close()
		bundles, err := src.Bundles(ctx)
		if err != nil {
			return nil, err
		}
		out := make([][]byte, len(bundles))
		for i, b := range bundles {
			out[i] = b.Data
		}
		return out, nil
	}
}

// signature is a bundle a verify job tries: where it was found, its bytes.
type signature struct {
	where string
	data  []byte
}

// maxSignatureFile bounds a model.sig read by a verify job.
const maxSignatureFile = 16 << 20

// errNoSigners: the team trusts no signer, so nothing can be verified.
var errNoSigners = errors.New("the team trusts no signer: add one (POST /api/v1/signers, docs/server.md#verify-and-bom-jobs)")

// trustedSigner is a signer the team trusts, as a verifier.
type trustedSigner struct {
	name string
	v    sign.Verifier
}

// trustedSigners returns the verifiers of the signers team teamID trusts;
// none is a permanent error (nothing can verify).
func (r *Runner) trustedSigners(ctx context.Context, teamID int64) ([]trustedSigner, error) {
	ts, err := r.st.TrustedSigners(ctx, teamID)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, Permanent(errNoSigners)
	}
	out := make([]trustedSigner, 0, len(ts))
	for _, t := range ts {
		v, err := server.TrustedVerifier(t)
		if err != nil {
			return nil, Permanent(fmt.Errorf("trusted signer %q: %w", t.Name, err))
		}
		out = append(out, trustedSigner{t.Name, v})
	}
	return out, nil
}

// checkFiles checks the model's files against bundle b once a trusted
// signer's v verified its signature: the result, and the files checked
// without downloading them (OCI layer digests).
type checkFiles func(b *sign.Bundle, v sign.Verifier) (*sign.Result, []string, error)

// verifyBundles tries each bundle until one is signed by a trusted signer,
// and checks the files against it. The report says which trusted signer
// verified it; a model with no signature, or none that a trusted signer
// made, is a report that did not verify (a result, not an error).
func verifyBundles(pinned string, trusted []trustedSigner, bundles []signature, check checkFiles) (sign.Report, error) {
	rep := sign.Report{Model: pinned, SignatureError: "the model has no signature (model.sig, or a Sigstore bundle attached to its OCI manifest)"}
	names := make([]string, len(trusted))
	for i, t := range trusted {
		names[i] = t.name
	}
	for _, bundle := range bundles {
		rep = sign.Report{Model: pinned, Signature: bundle.where}
		b, err := sign.ParseBundle(bundle.data)
		if err != nil {
			rep.SignatureError = err.Error()
			continue
		}
		var chosen *trustedSigner
		var last error
		for i := range trusted {
			if _, last = sign.VerifyBundleManifest(b, trusted[i].v); last == nil {
				chosen = &trusted[i]
				break
			}
		}
		if chosen == nil {
			rep.SignatureError = fmt.Sprintf("no signer the team trusts (%s) verifies it: %v", strings.Join(names, ", "), last)
			continue
		}
		res, unpulled, err := check(b, chosen.v)
		if err := rep.Fill(b, chosen.v, res, err); err != nil {
			return rep, err
		}
		rep.TrustedSigner, rep.NotDownloaded = chosen.name, unpulled
		break
	}
	return rep, nil
}

// verifyResult is the job's result of a verify report of version
// versionID, bound to its files as an upload is.
func (r *Runner) verifyResult(ctx context.Context, rep sign.Report, versionID int64, pinned string) (store.ScanResult, error) {
	data, err := rep.JSON()
	if err != nil {
		return store.ScanResult{}, err
	}
	files, err := r.st.VersionFiles(ctx, versionID)
	if err != nil {
		return store.ScanResult{}, err
	}
	signers, err := server.BindVerify(data, files)
	if err != nil {
		return store.ScanResult{}, Permanent(err)
	}
	return store.ScanResult{VersionID: versionID, Report: data, Scanner: r.cfg.ScannerVersion, Pinned: pinned, Signers: signers,
		VerifyFailure: verifyFailure(rep)}, nil
}

// verifyVersion verifies the model fetched to target (version versionID of
// model m) against its team's trusted signers: the signature is model.sig
// in the model, or a bundle attached to the OCI artifact.
func (r *Runner) verifyVersion(ctx context.Context, m store.Model, target, pinned string, versionID int64) (store.ScanResult, error) {
	trusted, err := r.trustedSigners(ctx, m.TeamID)
	if err != nil {
		return store.ScanResult{}, err
	}
	sigPath := sign.DefaultSignaturePath(target)
	var bundles []signature
	if data, err := readLimited(sigPath, maxSignatureFile); err == nil {
		bundles = append(bundles, signature{"model.sig", data})
	} else if !errors.Is(err, os.ErrNotExist) {
		return store.ScanResult{}, err
	}
	attached, err := r.cfg.Signatures(ctx, pinned)
	if err != nil {
		return store.ScanResult{}, fmt.Errorf("the signatures attached to %s: %w", pinned, err)
	}
	for i, data := range attached {
		bundles = append(bundles, signature{fmt.Sprintf("referrer %d", i+1), data})
	}
	rep, err := verifyBundles(pinned, trusted, bundles, func(b *sign.Bundle, v sign.Verifier) (*sign.Result, []string, error) {
		res, err := sign.VerifyModel(ctx, target, b, v, sign.VerifyOptions{SignaturePath: sigPath})
		return res, nil, err
	})
	if err != nil {
		return store.ScanResult{}, err
	}
	return r.verifyResult(ctx, rep, versionID, pinned)
}

// verifyOCI verifies an oci:// model without pulling its layers when it
// can: the version from the layer digests (ListedVersion), the signature
// from the bundles attached as referrers, the files from the layer digests
// (source.VerifyOCI, which pulls only when they cannot stand for the
// signed files). ok is false when the version itself needs a pull (a
// decompressed layer): the caller then fetches.
func (r *Runner) verifyOCI(ctx context.Context, req store.ScanRequest) (res store.ScanResult, ok bool, err error) {
	src, err := source.OpenOCI(ctx, req.Location, r.cfg.Sources)
	if errors.Is(err, source.ErrUnsupported) {
		return store.ScanResult{}, false, Permanent(err)
	}
	if err != nil {
		return store.ScanResult{}, false, fmt.Errorf("opening %s: %w", req.Location, err)
	}
	defer src.Close()
	pinned := src.Location()
	entries, err := src.List(ctx)
	if err != nil {
		return store.ScanResult{}, false, err
	}
	digest, files, err := ListedVersion(entries)
	if err != nil {
		return store.ScanResult{}, false, nil
	}
	m, err := r.st.Model(ctx, req.ModelID)
	if err != nil {
		return store.ScanResult{}, false, err
	}
	trusted, err := r.trustedSigners(ctx, m.TeamID)
	if err != nil {
		return store.ScanResult{}, false, err
	}
	versionID, err := r.requestVersion(ctx, req, digest, files, pinned)
	if err != nil {
		return store.ScanResult{}, false, err
	}
	attached, err := src.Bundles(ctx)
	if err != nil {
		return store.ScanResult{}, false, err
	}
	bundles := make([]signature, len(attached))
	for i, a := range attached {
		bundles[i] = signature{fmt.Sprintf("referrer %d", i+1), a.Data}
	}
	lim := r.cfg.Sources.Limits
	rep, err := verifyBundles(pinned, trusted, bundles, func(b *sign.Bundle, v sign.Verifier) (*sign.Result, []string, error) {
		res, err := source.VerifyOCI(ctx, src, b, v, lim)
		if err != nil {
			return nil, nil, err
		}
		return &res.Result, res.NotDownloaded, nil
	})
	if err != nil {
		return store.ScanResult{}, false, err
	}
	res, err = r.verifyResult(ctx, rep, versionID, pinned)
	return res, err == nil, err
}

// verifyFailure says why a report did not verify; "" when it verified.
func verifyFailure(rep sign.Report) string {
	switch {
	case rep.Verified:
		return ""
	case rep.SignatureError != "":
		return rep.SignatureError
	}
	return fmt.Sprintf("the files differ from the signed ones: %d modified, %d added, %d missing",
		len(rep.Modified), len(rep.Added), len(rep.Missing))
}

// bomVersion writes the ML-BOM (CycloneDX 1.6) of the model fetched to
// target, version versionID of model m, and binds it to the version's
// files. A model the BOM could not read whole is an error: the job ends
// incomplete, never with a BOM that leaves files out.
func (r *Runner) bomVersion(ctx context.Context, m store.Model, target, pinned string, versionID int64) (store.ScanResult, error) {
	model, err := bom.Read(ctx, target)
	if err != nil {
		return store.ScanResult{}, err
	}
	if len(model.Unread) > 0 {
		u := model.Unread[0]
		return store.ScanResult{}, Permanent(fmt.Errorf("the BOM is incomplete: %d entries were not read (%s: %s)", len(model.Unread), u.Path, u.Reason))
	}
	if model.Name == filepath.Base(target) {
		model.Name = m.Name // the job's folder, not the model's name
	}
	var out bytes.Buffer
	if err := bom.WriteCycloneDX(&out, model, bom.CycloneDXOptions{Version: cdx.SpecVersion1_6, Timestamp: time.Now().UTC(),
		ToolVersion: r.cfg.ScannerVersion}); err != nil {
		return store.ScanResult{}, err
	}
	files, err := r.st.VersionFiles(ctx, versionID)
	if err != nil {
		return store.ScanResult{}, err
	}
	lineage, err := server.BindBOM(out.Bytes(), files)
	if err != nil {
		return store.ScanResult{}, Permanent(err)
	}
	return store.ScanResult{VersionID: versionID, Report: out.Bytes(), Scanner: r.cfg.ScannerVersion, Pinned: pinned, Lineage: lineage}, nil
}

// readLimited reads the file at p, refusing one of more than limit bytes.
func readLimited(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: more than %d bytes", filepath.Base(p), limit)
	}
	return data, nil
}
