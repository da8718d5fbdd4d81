package report

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/violet-mlsecops/violet/finding"
)

// ScanAttestation is the predicate of a scan attestation (predicate type
// sign.ScanPredicateType): what `violet scan --attest` found in the files
// the statement's subjects name. docs/signing.md describes it.
type ScanAttestation struct {
	// Scanner names the program that scanned.
	Scanner AttestedScanner `json:"scanner"`
	// StartedAt is when the scan started.
	StartedAt time.Time `json:"started_at"`
	// Targets are the paths the scan was given, as given.
	Targets []string `json:"targets"`
	// FailOn is the severity threshold of the verdict.
	FailOn string `json:"fail_on"`
	// ExitCode is the scan's verdict: ExitPass, ExitFindings or
	// ExitIncomplete.
	ExitCode int `json:"exit_code"`
	// Summary counts what the scan saw.
	Summary AttestedSummary `json:"summary"`
	// Findings are every finding, in file order.
	Findings []AttestedFinding `json:"findings"`
}

// AttestedScanner names the scanner.
type AttestedScanner struct {
	// Name is "violet"; Version its version.
	Name    string `json:"name"`
	Version string `json:"version"`
}

// AttestedSummary counts what the scan saw.
type AttestedSummary struct {
	// Files, Scanned, Skipped and Incomplete are Summary's counts.
	Files      int `json:"files"`
	Scanned    int `json:"scanned"`
	Skipped    int `json:"skipped"`
	Incomplete int `json:"incomplete"`
	// Findings counts the findings by severity name; every severity is
	// present, zero included.
	Findings map[string]int `json:"findings"`
}

// AttestedFinding is one finding, located by the attested file's name.
type AttestedFinding struct {
	// Rule is the rule id; Severity its severity name.
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	// Path is the file, named as the statement's subjects name it (relative
	// to the scan target, forward slashes).
	Path string `json:"path"`
	// Member is the path of container members inside Path, outermost first.
	Member []string `json:"member,omitempty"`
	// Offset is the byte offset in the innermost file or member, -1 for
	// the whole of it.
	Offset int64 `json:"offset"`
	// Evidence is what was found.
	Evidence string `json:"evidence,omitempty"`
}

// AttestedName is the name an attestation gives to the file path found by
// scanning target: its path relative to target with forward slashes, or
// its base name when target is the file itself.
func AttestedName(target, path string) (string, error) {
	if filepath.Clean(path) == filepath.Clean(target) {
		return filepath.Base(path), nil
	}
	rel, err := filepath.Rel(target, path)
	if err != nil {
		return "", err
	}
	rel = filepath.ToSlash(rel)
	if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%s is not inside %s", path, target)
	}
	return rel, nil
}

// ScanPredicate returns the scan attestation predicate of r, a scan of one
// target whose command exited with exitCode. Finding paths are named with
// AttestedName.
func ScanPredicate(r *Report, exitCode int) (*ScanAttestation, error) {
	if len(r.Targets) != 1 {
		return nil, errors.New("a scan attestation is about one target")
	}
	p := &ScanAttestation{
		Scanner:   AttestedScanner{Name: r.Tool.Name, Version: r.Tool.Version},
		StartedAt: r.StartedAt.UTC(),
		Targets:   append([]string{}, r.Targets...),
		FailOn:    r.FailOn.String(),
		ExitCode:  exitCode,
		Summary: AttestedSummary{Files: r.Summary.Files, Scanned: r.Summary.Scanned, Skipped: r.Summary.Skipped,
			Incomplete: r.Summary.Incomplete, Findings: map[string]int{}},
		Findings: []AttestedFinding{},
	}
	for s := finding.Info; s <= finding.Critical; s++ {
		p.Summary.Findings[s.String()] = r.Summary.Findings[s.String()]
	}
	for _, f := range r.Files {
		name, err := AttestedName(r.Targets[0], f.Path)
		if err != nil {
			return nil, err
		}
		for _, x := range f.Findings {
			p.Findings = append(p.Findings, AttestedFinding{Rule: x.Rule, Severity: x.Severity.String(), Path: name,
				Member: x.Location.Member, Offset: x.Location.Offset, Evidence: x.Evidence})
		}
	}
	return p, nil
}
