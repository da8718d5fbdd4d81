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
var errNoSigners = errors.New("the team trusts no signer: add one (POST /api/v1/signers, docs/scale.md)")

// verifyVersion verifies the model fetched to target (version versionID of
// model m) against its team's trusted signers: the signature is model.sig
// in the model, or a bundle attached to the OCI artifact. The report says
// which trusted signer verified it; a model with no signature, or none
// that a trusted signer made, is a report that did not verify (a result,
// not an error).
func (r *Runner) verifyVersion(ctx context.Context, m store.Model, target, pinned string, versionID int64) (store.ScanResult, error) {
	trusted, err := r.st.TrustedSigners(ctx, m.TeamID)
	if err != nil {
		return store.ScanResult{}, err
	}
	if len(trusted) == 0 {
		return store.ScanResult{}, Permanent(errNoSigners)
	}
	type named struct {
		name string
		v    sign.Verifier
	}
	var verifiers []named
	var names []string
	for _, t := range trusted {
		v, err := server.TrustedVerifier(t)
		if err != nil {
			return store.ScanResult{}, Permanent(fmt.Errorf("trusted signer %q: %w", t.Name, err))
		}
		verifiers = append(verifiers, named{t.Name, v})
		names = append(names, t.Name)
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
	rep := sign.Report{Model: pinned, SignatureError: "the model has no signature (model.sig, or a Sigstore bundle attached to its OCI manifest)"}
	for _, bundle := range bundles {
		rep = sign.Report{Model: pinned, Signature: bundle.where}
		b, err := sign.ParseBundle(bundle.data)
		if err != nil {
			rep.SignatureError = err.Error()
			continue
		}
		var chosen *named
		var last error
		for i := range verifiers {
			if _, err := sign.VerifyBundleManifest(b, verifiers[i].v); err == nil {
				chosen = &verifiers[i]
				break
			} else {
				last = err
			}
		}
		if chosen == nil {
			rep.SignatureError = fmt.Sprintf("no signer the team trusts (%s) verifies it: %v", strings.Join(names, ", "), last)
			continue
		}
		res, err := sign.VerifyModel(ctx, target, b, chosen.v, sign.VerifyOptions{SignaturePath: sigPath})
		if err := rep.Fill(b, chosen.v, res, err); err != nil {
			return store.ScanResult{}, err
		}
		rep.TrustedSigner = chosen.name
		break
	}
	data, err := rep.JSON()
	if err != nil {
		return store.ScanResult{}, err
	}
	signers, err := server.VerifySigners(data)
	if err != nil {
		return store.ScanResult{}, err
	}
	return store.ScanResult{VersionID: versionID, Report: data, Scanner: r.cfg.ScannerVersion, Pinned: pinned, Signers: signers,
		VerifyFailure: verifyFailure(rep)}, nil
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
