package gate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/violet-mlsecops/violet/bom"
	"github.com/violet-mlsecops/violet/deps"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
	"github.com/violet-mlsecops/violet/sign"
)

// MaxEvidence is the largest evidence file read, in bytes.
const MaxEvidence = 256 << 20

// GatherOptions say how to get each piece of evidence. The gate runs every
// check itself, on the model as it is; what earlier steps give it can make
// the decision stricter, never more lenient, unless it is signed and bound
// to the model's bytes (a verified scan attestation).
type GatherOptions struct {
	// Scan are the scanner's options.
	Scan scan.Options
	// Signature is the signature file (default: model.sig in the model
	// folder, or beside a model file; absent means unsigned).
	Signature string
	// Verifier checks the signature; nil records a present signature as
	// not verified, with the reason that no key, CA or identity was given.
	Verifier sign.Verifier
	// Method names the verifier's kind: "key", "certificate", "sigstore".
	Method string
	// Verify are the verification options (ignore paths, unsigned files).
	Verify sign.VerifyOptions
	// Deps is the vulnerability data of the dependency check; DepsData
	// names it ("offline", "online"), empty when none.
	Deps     deps.Querier
	DepsData string
	// Evidence are JSON reports of earlier steps (--format json). A scan
	// report is checked against the model's files and against the
	// verified attestations (Input.Evidence says how it differs), but its
	// verdict is never used: it is not signed, so anyone could have edited
	// it. The findings of a deps report are added to the gate's own
	// dependency check. A verify report is an error: the gate verifies
	// the signature itself.
	Evidence []string
	// Attestations are scan attestation bundles, checked with
	// AttestationVerifier. When one verifies, its signed predicate is the
	// scan the policy sees, and the gate does not scan.
	Attestations        []string
	AttestationVerifier sign.Verifier
	// RequireSignature is passed to the policy.
	RequireSignature bool
	// Release, when set, is where the sign-offs of the model's release
	// are found (Input.Release).
	Release *ReleaseSource
}

// Gather builds the policy's input for the model at path.
func Gather(ctx context.Context, path string, o GatherOptions) (*Input, error) {
	in := &Input{SchemaVersion: SchemaVersion, Model: ModelInfo{Path: path, Name: filepath.Base(filepath.Clean(path))},
		Options: Options{RequireSignature: o.RequireSignature}, Attestations: []AttestationEvidence{}, Evidence: []EvidenceFile{}}
	var reports []*evidenceReport
	for _, f := range o.Evidence {
		r, err := readEvidence(f)
		if err != nil {
			return nil, err
		}
		reports = append(reports, r)
	}
	// The attestations, and their digests: an attestation written into the
	// model folder is not one of its files.
	bundles := make([][]byte, len(o.Attestations))
	given := map[string]bool{}
	for i, a := range o.Attestations {
		data, err := readBounded(a)
		if err != nil {
			return nil, err
		}
		given[digestOf(data)] = true
		bundles[i] = data
	}
	var files modelFiles
	if len(bundles) > 0 && o.AttestationVerifier != nil || slices.ContainsFunc(reports, func(r *evidenceReport) bool { return r.kind == "scan" }) {
		var err error
		if files, err = listModelFiles(ctx, path); err != nil {
			return nil, fmt.Errorf("hashing the model's files: %w", err)
		}
	}
	var preds []*report.ScanAttestation
	for i, data := range bundles {
		if o.AttestationVerifier == nil {
			in.Attestations = append(in.Attestations, AttestationEvidence{Error: "no key or CA was given to verify the attestation " + o.Attestations[i]})
			continue
		}
		ev, pred := checkAttestation(files, data, o.AttestationVerifier, given)
		in.Attestations = append(in.Attestations, ev)
		if pred != nil {
			preds = append(preds, pred)
		}
	}
	if len(preds) > 0 {
		in.Scan = attestedScan(preds)
	} else {
		r, err := scan.Scan(ctx, []string{path}, o.Scan)
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		in.Scan = scanEvidence(r)
	}
	sig, err := signatureEvidence(ctx, path, o)
	if err != nil {
		return nil, err
	}
	in.Signature = sig
	m, err := bom.Read(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("bom: %w", err)
	}
	in.BOM = bomEvidence(m)
	in.Model.Name = m.Name
	dr, err := deps.CheckPath(ctx, path, o.Deps)
	if err != nil {
		return nil, fmt.Errorf("deps: %w", err)
	}
	in.Deps = depsEvidence(path, dr, o.DepsData)
	for _, r := range reports {
		ev := EvidenceFile{Path: r.path, Kind: r.kind}
		switch r.kind {
		case "scan":
			ev.Error = checkReport(r.report, files, given, preds)
		case "deps":
			for _, f := range r.report.AllFindings() {
				in.Deps.Findings = append(in.Deps.Findings, gateFinding(f))
			}
		}
		in.Evidence = append(in.Evidence, ev)
	}
	if o.Release != nil {
		if in.Release, err = releaseEvidence(ctx, path, o.Release); err != nil {
			return nil, err
		}
	}
	return withDerived(in), nil
}

// checkReport says how a scan report differs from the model's files (by
// name, and by SHA-256 where the report gives it) and from the verified
// attestations' findings: "" when it does not.
func checkReport(r *report.Report, files modelFiles, given map[string]bool, preds []*report.ScanAttestation) string {
	if len(r.Targets) != 1 {
		return fmt.Sprintf("it is a scan of %d targets, not of this model alone", len(r.Targets))
	}
	claimed := make(map[string]string, len(r.Files))
	for _, f := range r.Files {
		name, err := report.AttestedName(r.Targets[0], f.Path)
		if err != nil {
			return err.Error()
		}
		claimed[name] = f.SHA256
	}
	if diff := files.compare(claimed, given); diff != "" {
		return "it is not a scan of this model's files: " + diff
	}
	if len(preds) > 0 {
		if d := disagreement(r, preds); d != "" {
			return "it disagrees with the verified scan attestation, whose verdict is used: " + d
		}
	}
	return ""
}

// gateFinding reduces a finding for the policy.
func gateFinding(f finding.Finding) Finding {
	return Finding{Rule: f.Rule, Severity: f.Severity.String(), Path: f.Location.String(), Message: f.Message,
		Evidence: f.Evidence, Incomplete: f.Incomplete}
}

// scanEvidence reduces a scan report.
func scanEvidence(r *report.Report) *ScanEvidence {
	ev := &ScanEvidence{Source: SourceGate, Files: r.Summary.Files, Incomplete: r.Summary.Incomplete, Findings: []Finding{}}
	for _, f := range r.AllFindings() {
		ev.Findings = append(ev.Findings, gateFinding(f))
	}
	return ev
}

// signatureEvidence verifies the model's signature, when it has one.
func signatureEvidence(ctx context.Context, path string, o GatherOptions) (*SignatureEvidence, error) {
	sig := o.Signature
	if sig == "" {
		sig = sign.DefaultSignaturePath(path)
	}
	data, err := os.ReadFile(sig)
	if errors.Is(err, os.ErrNotExist) && o.Signature == "" {
		return &SignatureEvidence{Present: false}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	ev := &SignatureEvidence{Present: true, Method: o.Method}
	if o.Verifier == nil {
		ev.Error = "the model has a signature, but no --key, --ca or --identity was given to verify it"
		return ev, nil
	}
	b, err := sign.ParseBundle(data)
	var res *sign.Result
	if err == nil {
		vo := o.Verify
		vo.SignaturePath = sig
		res, err = sign.VerifyModel(ctx, path, b, o.Verifier, vo)
	}
	switch {
	case errors.Is(err, sign.ErrSignature) || errors.Is(err, sign.ErrPayload):
		ev.Error = err.Error()
	case err != nil:
		return nil, fmt.Errorf("signature: %w", err)
	default:
		ev.Verified = res.OK()
		ev.Modified, ev.Added, ev.Missing = res.Diff.Modified, res.Diff.Added, res.Diff.Missing
		if !res.OK() {
			ev.Error = "the content does not match the signature"
		}
	}
	return ev, nil
}

// bomEvidence reduces an ML-BOM.
func bomEvidence(m *bom.Model) *BOMEvidence {
	c := bom.Check(m)
	ev := &BOMEvidence{Licenses: nonNil(m.Licenses), Completeness: c.Score, Missing: []string{},
		UseCases: nonNil(m.Card.UseCases), Limitations: nonNil(m.Card.Limitations), EthicalConsiderations: []string{},
		BaseModels: []string{}, Datasets: []string{}}
	for _, r := range c.Requirements {
		if !r.Present {
			ev.Missing = append(ev.Missing, r.Field)
		}
	}
	for _, r := range m.Card.EthicalConsiderations {
		ev.EthicalConsiderations = append(ev.EthicalConsiderations, r.Name)
	}
	for _, b := range m.BaseModels {
		ev.BaseModels = append(ev.BaseModels, b.ID)
	}
	for _, d := range m.Datasets {
		if d.Role == "training" {
			ev.Datasets = append(ev.Datasets, d.Name)
		}
	}
	return ev
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// depsEvidence reduces a dependency check of the model at path.
func depsEvidence(path string, r *deps.Result, data string) *DepsEvidence {
	ev := &DepsEvidence{Files: len(r.Manifests), Paths: []string{}, Packages: r.Packages, Pinned: r.Pinned, Findings: []Finding{}, VulnerabilityData: data}
	for _, m := range r.Manifests {
		name, err := report.AttestedName(path, m.Path)
		if err != nil {
			name = m.Path
		}
		ev.Paths = append(ev.Paths, name)
	}
	for _, f := range r.Findings {
		ev.Findings = append(ev.Findings, gateFinding(f))
	}
	return ev
}

// evidenceReport is a JSON report of an earlier step.
type evidenceReport struct {
	path, kind string // kind: "scan" or "deps"
	report     *report.Report
}

// readBounded reads a file of at most MaxEvidence bytes.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxEvidence+1)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if buf.Len() > MaxEvidence {
		return nil, fmt.Errorf("%s: evidence larger than %d bytes", path, MaxEvidence)
	}
	return buf.Bytes(), nil
}

// readEvidence reads a JSON report of an earlier step: a scan or deps
// report. A verify report is an error: a claim that a signature verified
// proves nothing, the gate verifies it itself.
func readEvidence(path string) (*evidenceReport, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%s: not a JSON report: %w", path, err)
	}
	switch {
	case probe["schema_version"] != nil && probe["files"] != nil:
		var r report.Report
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		kind := "scan"
		if r.Tool.Name == "violet deps" {
			kind = "deps"
		}
		return &evidenceReport{path: path, kind: kind, report: &r}, nil
	case probe["verified"] != nil:
		return nil, fmt.Errorf("%s: a verify report is not evidence: the gate verifies the model's signature itself (give it --key, --ca or --identity)", path)
	}
	return nil, fmt.Errorf("%s: not a report of violet scan or deps (--format json)", path)
}
