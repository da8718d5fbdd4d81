// Package report holds the scan report, the document every output of
// `violet scan` is rendered from, and its writers: text, json and sarif.
package report

import (
	"time"

	"github.com/violet-mlsecops/violet/finding"
)

// SchemaVersion is the version of the JSON report's schema
// (docs/report-json.md). It changes when a field is removed or changes meaning.
const SchemaVersion = "1.2.0"

// Exit codes of the commands that judge (scan, and later verify, deps, gate).
const (
	ExitPass       = 0 // nothing at or above the threshold
	ExitFindings   = 1 // a finding at or above the threshold
	ExitIncomplete = 2 // the command could not do its job (bad usage, unreadable or not fully analyzed input)
)

// Report is the result of a scan.
type Report struct {
	// SchemaVersion is SchemaVersion.
	SchemaVersion string `json:"schema_version"`
	// Tool names the program that wrote the report.
	Tool Tool `json:"tool"`
	// StartedAt is when the scan started.
	StartedAt time.Time `json:"started_at"`
	// DurationMS is how long the scan took, in milliseconds.
	DurationMS int64 `json:"duration_ms"`
	// Targets are the paths the scan was given.
	Targets []string `json:"targets"`
	// FailOn is the severity threshold the verdict used.
	FailOn finding.Severity `json:"fail_on"`
	// RequireModels is true when the scan was asked to fail unless some
	// file was read as a model (--require-models).
	RequireModels bool `json:"require_models,omitempty"`
	// Summary counts what the scan saw.
	Summary Summary `json:"summary"`
	// Files lists every file the scan looked at, in path order.
	Files []File `json:"files"`
}

// Tool names the program and the analyzers that ran.
type Tool struct {
	// Name is "violet".
	Name string `json:"name"`
	// Version is the program's version.
	Version string `json:"version"`
	// Analyzers lists the analyzers as name/version.
	Analyzers []string `json:"analyzers"`
}

// Summary counts what the scan saw.
type Summary struct {
	// Files is how many files on disk were looked at.
	Files int `json:"files"`
	// Scanned is how many of them held a format Violet analyzes.
	Scanned int `json:"scanned"`
	// Skipped is how many held no model format (a README, an image).
	Skipped int `json:"skipped"`
	// Incomplete is how many could not be fully analyzed.
	Incomplete int `json:"incomplete"`
	// Formats counts the formats found, by analyzer format name, members included.
	Formats map[string]int `json:"formats"`
	// Findings counts the findings by severity name.
	Findings map[string]int `json:"findings"`
	// Bytes is the number of bytes of the files on disk.
	Bytes int64 `json:"bytes"`
}

// File is what the scan found in one file on disk.
type File struct {
	// Path is the file's path.
	Path string `json:"path"`
	// Size is its size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of the file's bytes, when the scan computed it.
	SHA256 string `json:"sha256,omitempty"`
	// Formats lists the formats found in the file and in its members.
	Formats []string `json:"formats,omitempty"`
	// Skipped is true when the file holds no format Violet analyzes.
	Skipped bool `json:"skipped,omitempty"`
	// Incomplete is true when some of the file could not be analyzed.
	Incomplete bool `json:"incomplete,omitempty"`
	// Findings are the findings in the file and its members, in order of
	// location.
	Findings []finding.Finding `json:"findings"`
	// Packages are the packages a dependency file declares, in file order
	// (violet deps; absent in scan reports).
	Packages []Package `json:"packages,omitempty"`
}

// Package is a package that a dependency file declares.
type Package struct {
	// Ecosystem is the OSV ecosystem: "PyPI", or "conda" for a conda
	// package that is not on PyPI.
	Ecosystem string `json:"ecosystem"`
	// Name is the PEP 503 name.
	Name string `json:"name"`
	// Version is the exact version when the file pins one.
	Version string `json:"version,omitempty"`
	// Specifier is the version specifier as written, when not a pin.
	Specifier string `json:"specifier,omitempty"`
	// Line is the 1-based line of the declaration; 0 when unknown.
	Line int `json:"line,omitempty"`
}

// ExitCode is the exit code a command gives for r: ExitFindings when a
// finding is at or above failOn, else ExitIncomplete when a file could not
// be fully analyzed, else ExitPass.
func (r *Report) ExitCode(failOn finding.Severity) int {
	incomplete := false
	for _, f := range r.Files {
		incomplete = incomplete || f.Incomplete
		for _, x := range f.Findings {
			if x.Severity >= failOn {
				return ExitFindings
			}
		}
	}
	if incomplete || r.RequireModels && !r.HoldsModel() {
		return ExitIncomplete
	}
	return ExitPass
}

// HoldsModel reports whether some file was read as a format.
func (r *Report) HoldsModel() bool {
	for _, f := range r.Files {
		if len(f.Formats) > 0 {
			return true
		}
	}
	return false
}

// AllFindings returns the findings of every file, in file order.
func (r *Report) AllFindings() []finding.Finding {
	var out []finding.Finding
	for _, f := range r.Files {
		out = append(out, f.Findings...)
	}
	return out
}
