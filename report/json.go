package report

import (
	"encoding/json"
	"io"
	"maps"
	"slices"
)

// WriteJSON writes r as the JSON report documented in docs/report-json.md
// and described by docs/report.schema.json: indented, with files in path
// order and the findings of each file in location order, and with no null
// where a consumer expects a list or an object (targets, analyzers, files,
// findings, formats are empty rather than null; summary.findings always
// counts all five severities). An empty SchemaVersion or Tool.Name is
// written as SchemaVersion and "violet". r itself is not modified.
func WriteJSON(w io.Writer, r *Report) error {
	if err := check(r); err != nil {
		return err
	}
	out := normalized(r)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Evidence such as os.system('a && b > c') stays readable.
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// normalized returns a copy of r in the stable shape of the JSON report.
func normalized(r *Report) *Report {
	out := *r
	if out.SchemaVersion == "" {
		out.SchemaVersion = SchemaVersion
	}
	if out.Tool.Name == "" {
		out.Tool.Name = "violet"
	}
	out.Tool.Analyzers = nonNil(out.Tool.Analyzers)
	out.Targets = nonNil(out.Targets)
	out.Summary.Formats = maps.Clone(out.Summary.Formats)
	if out.Summary.Formats == nil {
		out.Summary.Formats = map[string]int{}
	}
	counts := maps.Clone(out.Summary.Findings)
	if counts == nil {
		counts = map[string]int{}
	}
	for _, s := range severitiesDescending {
		counts[s.String()] += 0
	}
	out.Summary.Findings = counts
	out.Files = sortedFiles(r, byLocation)
	return &out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return slices.Clone(s)
}
