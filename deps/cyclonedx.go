package deps

import (
	"io"
	"slices"
	"strconv"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/violet-mlsecops/violet/finding"
)

// purl is the package URL of a PyPI package version.
func purl(p Package) string {
	s := "pkg:pypi/" + p.NormalizedName
	if p.Version != "" {
		s += "@" + p.Version
	}
	return s
}

// cdxSeverities maps finding severities to CycloneDX's.
var cdxSeverities = map[finding.Severity]cdx.Severity{
	finding.Info: cdx.SeverityInfo, finding.Low: cdx.SeverityLow, finding.Medium: cdx.SeverityMedium,
	finding.High: cdx.SeverityHigh, finding.Critical: cdx.SeverityCritical,
}

// CycloneDXSeverity is the CycloneDX rating of a finding's severity, for
// the vulnerabilities of every BOM Violet writes.
func CycloneDXSeverity(s finding.Severity) cdx.Severity {
	if c, ok := cdxSeverities[s]; ok {
		return c
	}
	return cdx.SeverityUnknown
}

// vulnerabilityRules are the findings that are vulnerabilities of a
// package in CycloneDX's sense; the others (pins, hashes, indexes) are
// about the files.
var vulnerabilityRules = []string{finding.DepsVulnerable, finding.DepsMalicious, finding.DepsTyposquat}

// WriteCycloneDX writes the packages as CycloneDX 1.6 library components
// with purls, and the vulnerable, malicious and typosquatted ones as
// vulnerabilities affecting them, so that an ML-BOM can include them.
func WriteCycloneDX(w io.Writer, r *Result, toolVersion string) error {
	b := cdx.NewBOM()
	b.Metadata = &cdx.Metadata{Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication,
		Name: "violet", Group: "violet-mlsecops", Version: toolVersion}}}}
	var comps []cdx.Component
	refs := map[string]string{} // file:line -> bom-ref
	seen := map[string]bool{}
	for _, m := range r.Manifests {
		for _, p := range m.Packages {
			if p.Ecosystem != "" && p.Ecosystem != "PyPI" {
				continue
			}
			ref := purl(p)
			refs[locKey(p.File, p.Line)] = ref
			if seen[ref] {
				continue
			}
			seen[ref] = true
			c := cdx.Component{Type: cdx.ComponentTypeLibrary, BOMRef: ref, Name: p.Name, Version: p.Version, PackageURL: ref,
				Properties: &[]cdx.Property{{Name: "violet:source-file", Value: p.File}}}
			for _, h := range p.Hashes {
				if v, ok := strings.CutPrefix(h, "sha256:"); ok {
					if c.Hashes == nil {
						c.Hashes = &[]cdx.Hash{}
					}
					*c.Hashes = append(*c.Hashes, cdx.Hash{Algorithm: cdx.HashAlgoSHA256, Value: v})
				}
			}
			comps = append(comps, c)
		}
	}
	if len(comps) > 0 {
		b.Components = &comps
	}
	source := &cdx.Source{Name: "Violet", URL: "https://github.com/violet-mlsecops/violet/blob/main/docs/rules.md"}
	var vulns []cdx.Vulnerability
	reported := map[string]bool{} // id and package: one vulnerability however many files pin it
	for _, f := range r.Findings {
		if !slices.Contains(vulnerabilityRules, f.Rule) {
			continue
		}
		ref, ok := refs[locKey(f.Location.Path, f.Location.Line)]
		if !ok {
			continue
		}
		id := f.Evidence
		if f.Rule == finding.DepsTyposquat {
			id = f.Rule
		}
		if reported[id+"\x00"+ref] {
			continue
		}
		reported[id+"\x00"+ref] = true
		v := cdx.Vulnerability{ID: id, Source: source, Description: f.Message, Recommendation: f.Remediation,
			Ratings: &[]cdx.VulnerabilityRating{{Source: source, Severity: CycloneDXSeverity(f.Severity), Method: cdx.ScoringMethodOther}},
			Affects: &[]cdx.Affects{{Ref: ref}}, Properties: &[]cdx.Property{{Name: "violet:rule", Value: f.Rule}}}
		if strings.HasPrefix(id, "GHSA-") || strings.HasPrefix(id, "PYSEC-") || strings.HasPrefix(id, "MAL-") || strings.HasPrefix(id, "CVE-") {
			v.Source = &cdx.Source{Name: "OSV", URL: "https://osv.dev/vulnerability/" + id}
		}
		vulns = append(vulns, v)
	}
	if len(vulns) > 0 {
		b.Vulnerabilities = &vulns
	}
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	return enc.EncodeVersion(b, cdx.SpecVersion1_6)
}

// locKey identifies a package declaration.
func locKey(file string, line int) string {
	return file + ":" + strconv.Itoa(line)
}
