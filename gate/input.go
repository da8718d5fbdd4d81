// Package gate decides whether a model may be released: it gathers the
// evidence about a model folder (the scan report, the signature check,
// the ML-BOM's completeness, the dependency findings, scan attestations)
// into one Input document, and evaluates a Rego policy over it
// (package violet.gate in policies/) to allow or deny, with every reason.
package gate

import "slices"

// SchemaVersion is the version of the Input document.
const SchemaVersion = "1"

// Input is the document the policy sees: everything known about the model,
// and nothing else. Absent evidence is null: a policy tells "not checked"
// from "checked and clean".
type Input struct {
	// SchemaVersion is SchemaVersion.
	SchemaVersion string `json:"schema_version"`
	// Model names the model under decision.
	Model ModelInfo `json:"model"`
	// Scan is the scanner's verdict on the model's files.
	Scan *ScanEvidence `json:"scan"`
	// Signature is the signature check; Present is false when the model
	// has no signature.
	Signature *SignatureEvidence `json:"signature"`
	// BOM is what the ML-BOM says about the model.
	BOM *BOMEvidence `json:"bom"`
	// Deps is the dependency check of the files beside the model.
	Deps *DepsEvidence `json:"deps"`
	// Attestations are the scan attestations given to the gate, verified.
	Attestations []AttestationEvidence `json:"attestations"`
	// Evidence are the reports of earlier steps given to the gate, and
	// whether they match the model.
	Evidence []EvidenceFile `json:"evidence"`
	// Release is the release of the model's version and its sign-offs on
	// the server (violet gate --server); null when the gate was not asked.
	Release *ReleaseEvidence `json:"release"`
	// Options are the gate's flags the policy may read.
	Options Options `json:"options"`
}

// ModelInfo names the model.
type ModelInfo struct {
	// Path is the model folder or file as given.
	Path string `json:"path"`
	// Name is its name (the hub id's name, or the folder's).
	Name string `json:"name"`
}

// Finding is one finding, as a policy needs it.
type Finding struct {
	// Rule is the rule id ("PICKLE-PROCESS"); Severity its severity name.
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	// Path is the file; Message and Evidence say what.
	Path     string `json:"path"`
	Message  string `json:"message"`
	Evidence string `json:"evidence,omitempty"`
	// Incomplete marks a file that could not be fully analyzed.
	Incomplete bool `json:"incomplete,omitempty"`
}

// Where the scan evidence comes from (ScanEvidence.Source).
const (
	// SourceGate: the gate scanned the model itself.
	SourceGate = "gate"
	// SourceAttestation: the signed predicates of the verified scan
	// attestations.
	SourceAttestation = "attestation"
)

// ScanEvidence is the scan report, reduced.
type ScanEvidence struct {
	// Source is SourceGate or SourceAttestation.
	Source string `json:"source,omitempty"`
	// Files, Incomplete: how many files were scanned, and not fully.
	// Incomplete is at least 1 when a finding is marked incomplete.
	Files      int `json:"files"`
	Incomplete int `json:"incomplete"`
	// Findings are every finding.
	Findings []Finding `json:"findings"`
	// Counts are the findings by severity name.
	Counts map[string]int `json:"counts"`
	// BySeverity gives, for each severity name found, the positions in
	// Findings of its findings, in order: a policy reaches the findings
	// of the severities it blocks without walking them all.
	//
	// Counts, BySeverity and that bound of Incomplete are computed
	// from Findings by Gather and again by Policy.Evaluate: whatever
	// evidence or caller set them to, the policy sees the true values.
	BySeverity map[string][]int `json:"by_severity"`
}

// bySeverity returns the findings' counts and positions by severity name.
func bySeverity(findings []Finding) (map[string]int, map[string][]int) {
	positions := map[string][]int{}
	for i, f := range findings {
		positions[f.Severity] = append(positions[f.Severity], i)
	}
	counts := make(map[string]int, len(positions))
	for s, p := range positions {
		counts[s] = len(p)
	}
	return counts, positions
}

// withDerived returns in with what the policy relies on computed from the
// evidence itself: Release.Latest, Scan.Counts, Scan.BySeverity, and Scan.Incomplete
// raised to 1 when a finding is marked incomplete (a finding's path may
// name a member and an offset, so findings do not count files). in is not
// modified.
func withDerived(in *Input) *Input {
	out := *in
	if in.Release != nil {
		rel := *in.Release
		rel.Latest = latestDecisions(rel.Decisions)
		out.Release = &rel
	}
	if in.Scan == nil {
		return &out
	}
	scan := *in.Scan
	scan.Counts, scan.BySeverity = bySeverity(scan.Findings)
	if scan.Incomplete == 0 && slices.ContainsFunc(scan.Findings, func(f Finding) bool { return f.Incomplete }) {
		scan.Incomplete = 1
	}
	out.Scan = &scan
	return &out
}

// SignatureEvidence is the outcome of verifying the model's signature.
type SignatureEvidence struct {
	// Present is true when a signature file was found or given.
	Present bool `json:"present"`
	// Verified is true when the signature is trusted and the content
	// matches it.
	Verified bool `json:"verified"`
	// Method is "key", "certificate" or "sigstore"; empty when none was
	// given to check it.
	Method string `json:"method,omitempty"`
	// Error says why the signature is not trusted.
	Error string `json:"error,omitempty"`
	// Modified, Added, Missing are the files that differ.
	Modified []string `json:"modified,omitempty"`
	Added    []string `json:"added,omitempty"`
	Missing  []string `json:"missing,omitempty"`
}

// BOMEvidence is what the ML-BOM says.
type BOMEvidence struct {
	// Licenses are the model's licenses (SPDX ids, or names).
	Licenses []string `json:"licenses"`
	// Completeness is the completeness score, in percent.
	Completeness int `json:"completeness"`
	// Missing are the fields a review expects that the model lacks.
	Missing []string `json:"missing"`
	// UseCases, Limitations and EthicalConsiderations are what the model
	// card states.
	UseCases              []string `json:"use_cases"`
	Limitations           []string `json:"limitations"`
	EthicalConsiderations []string `json:"ethical_considerations"`
	// BaseModels are the models it derives from.
	BaseModels []string `json:"base_models"`
	// Datasets are the training datasets.
	Datasets []string `json:"datasets"`
}

// DepsEvidence is the dependency check.
type DepsEvidence struct {
	// Files are how many dependency files were read, Paths their paths
	// (relative to the model folder); Packages and Pinned count the
	// packages, and those pinned.
	Files    int      `json:"files"`
	Paths    []string `json:"paths"`
	Packages int      `json:"packages"`
	Pinned   int      `json:"pinned"`
	// Findings are every finding (rules DEPS-*).
	Findings []Finding `json:"findings"`
	// VulnerabilityData says whether advisories were checked ("offline",
	// "online", or "" when no data was used).
	VulnerabilityData string `json:"vulnerability_data"`
}

// AttestationEvidence is a verified scan attestation.
type AttestationEvidence struct {
	// Verified is true when its signature is trusted and its subjects are
	// exactly the model's files as they are now.
	Verified bool `json:"verified"`
	// Error says why not.
	Error string `json:"error,omitempty"`
	// Signer names the key (its hint) or certificate subject.
	Signer string `json:"signer,omitempty"`
	// Counts are the findings by severity that the attested scan found.
	Counts map[string]int `json:"counts,omitempty"`
}

// EvidenceFile is a report of an earlier step given to the gate.
type EvidenceFile struct {
	// Path is the file as given; Kind is "scan" or "deps".
	Path string `json:"path"`
	Kind string `json:"kind"`
	// Error says how a scan report does not match the model: other files
	// or digests, or other findings than the verified attestation's.
	Error string `json:"error,omitempty"`
}

// Options are the flags of the gate a policy may read.
type Options struct {
	// RequireSignature asks for a verified signature.
	RequireSignature bool `json:"require_signature"`
}
