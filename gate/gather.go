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

	"github.com/violet-mlsecops/violet/bom"
	"github.com/violet-mlsecops/violet/deps"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
	"github.com/violet-mlsecops/violet/sign"
)

// MaxEvidence is the largest evidence file read, in bytes.
const MaxEvidence = 256 << 20

// GatherOptions say how to get each piece of evidence: by running the
// check, or from a JSON report an earlier pipeline step wrote.
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
	// Evidence are JSON files of earlier steps: a scan or deps report
	// (--format json) or a verify report (violet verify --format json).
	// Each one replaces running that check. The ML-BOM is always read
	// from the model: it is quick and its evidence is the model itself.
	Evidence []string
	// Attestations are scan attestation bundles, checked with
	// AttestationVerifier.
	Attestations        []string
	AttestationVerifier sign.Verifier
	// RequireSignature is passed to the policy.
	RequireSignature bool
}

// Gather builds the policy's input for the model at path: it reads the
// evidence files it is given and runs the checks they do not cover.
func Gather(ctx context.Context, path string, o GatherOptions) (*Input, error) {
	in := &Input{SchemaVersion: SchemaVersion, Model: ModelInfo{Path: path, Name: filepath.Base(filepath.Clean(path))},
		Options: Options{RequireSignature: o.RequireSignature}, Attestations: []AttestationEvidence{}}
	for _, f := range o.Evidence {
		if err := readEvidence(in, f); err != nil {
			return nil, err
		}
	}
	if in.Scan == nil {
		r, err := scan.Scan(ctx, []string{path}, o.Scan)
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		in.Scan = scanEvidence(r)
	}
	if in.Signature == nil {
		ev, err := signatureEvidence(ctx, path, o)
		if err != nil {
			return nil, err
		}
		in.Signature = ev
	}
	if in.BOM == nil {
		m, err := bom.Read(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("bom: %w", err)
		}
		in.BOM = bomEvidence(m)
		in.Model.Name = m.Name
	}
	if in.Deps == nil {
		r, err := deps.CheckPath(ctx, path, o.Deps)
		if err != nil {
			return nil, fmt.Errorf("deps: %w", err)
		}
		in.Deps = depsEvidence(r, o.DepsData)
	}
	for _, a := range o.Attestations {
		data, err := os.ReadFile(a)
		if err != nil {
			return nil, err
		}
		if o.AttestationVerifier == nil {
			in.Attestations = append(in.Attestations, AttestationEvidence{Error: "no key or CA was given to verify the attestation " + a})
			continue
		}
		in.Attestations = append(in.Attestations, CheckAttestation(path, data, o.AttestationVerifier))
	}
	return withDerived(in), nil
}

// gateFinding reduces a finding for the policy.
func gateFinding(f finding.Finding) Finding {
	return Finding{Rule: f.Rule, Severity: f.Severity.String(), Path: f.Location.String(), Message: f.Message,
		Evidence: f.Evidence, Incomplete: f.Incomplete}
}

// scanEvidence reduces a scan report.
func scanEvidence(r *report.Report) *ScanEvidence {
	ev := &ScanEvidence{Files: r.Summary.Files, Incomplete: r.Summary.Incomplete, Findings: []Finding{}}
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

// depsEvidence reduces a dependency check.
func depsEvidence(r *deps.Result, data string) *DepsEvidence {
	ev := &DepsEvidence{Files: len(r.Manifests), Packages: r.Packages, Pinned: r.Pinned, Findings: []Finding{}, VulnerabilityData: data}
	for _, f := range r.Findings {
		ev.Findings = append(ev.Findings, gateFinding(f))
	}
	return ev
}

// readEvidence reads a JSON report of an earlier step into in, by what it
// holds: a scan or deps report, or a verify report.
func readEvidence(in *Input, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxEvidence+1)); err != nil {
		return err
	}
	if buf.Len() > MaxEvidence {
		return fmt.Errorf("%s: evidence larger than %d bytes", path, MaxEvidence)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &probe); err != nil {
		return fmt.Errorf("%s: not a JSON report: %w", path, err)
	}
	switch {
	case probe["schema_version"] != nil && probe["files"] != nil:
		var r report.Report
		if err := json.Unmarshal(buf.Bytes(), &r); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if r.Tool.Name == "violet deps" {
			ev := &DepsEvidence{Files: len(r.Files), Findings: []Finding{}, VulnerabilityData: "from " + path}
			for _, f := range r.AllFindings() {
				ev.Findings = append(ev.Findings, gateFinding(f))
			}
			in.Deps = ev
		} else {
			in.Scan = scanEvidence(&r)
		}
	case probe["verified"] != nil:
		var v struct {
			Verified       bool     `json:"verified"`
			SignatureError string   `json:"signature_error"`
			Modified       []string `json:"modified"`
			Added          []string `json:"added"`
			Missing        []string `json:"missing"`
		}
		if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		ev := &SignatureEvidence{Present: true, Verified: v.Verified, Error: v.SignatureError, Modified: v.Modified, Added: v.Added, Missing: v.Missing}
		if !v.Verified && ev.Error == "" {
			ev.Error = "the content does not match the signature"
		}
		in.Signature = ev
	default:
		return fmt.Errorf("%s: not a report of violet scan, deps or verify (--format json)", path)
	}
	return nil
}
