package webui

import (
	"encoding/json"
	"strings"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
)

// Verdicts of a version, from its latest scan evidence.
const (
	verdictPass       = "pass"
	verdictFail       = "fail"
	verdictIncomplete = "incomplete" // the scan could not finish, or its report cannot be read
	verdictNone       = "no scan"
)

// scanVerdict reads a scan report (violet scan --format json) and returns
// its verdict against its own threshold. Anything that is not a readable
// report of schema 1.x with a valid threshold is incomplete, never a pass.
func scanVerdict(b []byte) string {
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return verdictIncomplete
	}
	if !strings.HasPrefix(r.SchemaVersion, "1.") || r.FailOn < finding.Info || r.FailOn > finding.Critical {
		return verdictIncomplete
	}
	// A finding without a valid severity would count as below any
	// threshold: the report is not one violet wrote.
	for _, f := range r.Files {
		for _, x := range f.Findings {
			if x.Severity < finding.Info || x.Severity > finding.Critical {
				return verdictIncomplete
			}
		}
	}
	switch r.ExitCode(r.FailOn) {
	case report.ExitPass:
		return verdictPass
	case report.ExitFindings:
		return verdictFail
	default:
		return verdictIncomplete
	}
}

// Signature states, from the latest verify evidence.
const (
	sigVerified   = "verified"
	sigFailed     = "not verified"
	sigUnreadable = "report unreadable"
	sigNone       = "no verification"
)

// signature is what the UI shows of a verify report.
type signature struct {
	Status string
	// Signer is who signed (the key's hint, the certificate's subject);
	// Trusted the team's trusted signer that verified it (verify jobs).
	Signer, Trusted string
	Error           string
	Modified        []string
	Added           []string
	Missing         []string
}

// verifySummary reads a verify report (violet verify --format json). Only
// "verified": true with no error and no changed file is verified.
func verifySummary(b []byte) signature {
	var r struct {
		Verified       *bool    `json:"verified"`
		Signer         string   `json:"signer"`
		TrustedSigner  string   `json:"trusted_signer"`
		SignatureError string   `json:"signature_error"`
		Error          string   `json:"error"`
		Modified       []string `json:"modified"`
		Added          []string `json:"added"`
		Missing        []string `json:"missing"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Verified == nil {
		return signature{Status: sigUnreadable}
	}
	s := signature{Status: sigFailed, Error: firstNonEmpty(r.SignatureError, r.Error),
		Modified: clipList(r.Modified), Added: clipList(r.Added), Missing: clipList(r.Missing)}
	if *r.Verified && s.Error == "" && len(r.Modified)+len(r.Added)+len(r.Missing) == 0 {
		s.Status, s.Signer, s.Trusted = sigVerified, r.Signer, r.TrustedSigner
	}
	return s
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// maxListed is how many components, files or packages a summary lists;
// the rest are counted.
const maxListed = 200

func clipList(v []string) []string {
	if len(v) > maxListed {
		return v[:maxListed]
	}
	return v
}

// component is one entry of a BOM or dependency summary.
type component struct {
	Type, Name, Version, PURL string
}

// bomSummary is what the UI shows of a CycloneDX document (an ML-BOM, or
// deps --format cyclonedx) or of a deps report in the scan's shape.
type bomSummary struct {
	Readable        bool
	Format          string // "CycloneDX 1.6", "violet report 1.1.0"
	Components      []component
	Total           int // components, or dependency files
	Vulnerabilities int
	Findings        map[string]int // by severity (report shape)
}

// summarizeBOM reads a CycloneDX JSON document or a violet report.
func summarizeBOM(b []byte) bomSummary {
	var doc struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
		Components  []struct {
			Type    string `json:"type"`
			Name    string `json:"name"`
			Version string `json:"version"`
			PURL    string `json:"purl"`
		} `json:"components"`
		Vulnerabilities []json.RawMessage `json:"vulnerabilities"`
		// The scan report's shape (violet deps --format json).
		SchemaVersion string        `json:"schema_version"`
		Files         []report.File `json:"files"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return bomSummary{}
	}
	switch {
	case doc.BOMFormat == "CycloneDX":
		s := bomSummary{Readable: true, Format: "CycloneDX " + doc.SpecVersion, Total: len(doc.Components),
			Vulnerabilities: len(doc.Vulnerabilities)}
		for i, c := range doc.Components {
			if i == maxListed {
				break
			}
			s.Components = append(s.Components, component{Type: c.Type, Name: c.Name, Version: c.Version, PURL: c.PURL})
		}
		return s
	case strings.HasPrefix(doc.SchemaVersion, "1."):
		s := bomSummary{Readable: true, Format: "violet report " + doc.SchemaVersion, Total: len(doc.Files),
			Findings: map[string]int{}}
		for i, f := range doc.Files {
			if i < maxListed {
				s.Components = append(s.Components, component{Type: "file", Name: f.Path})
			}
			for _, x := range f.Findings {
				s.Findings[x.Severity.String()]++
			}
		}
		return s
	}
	return bomSummary{}
}
