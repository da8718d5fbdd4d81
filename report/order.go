package report

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/violet-mlsecops/violet/finding"
)

// compareLocation orders locations by path, then member chain (a container
// before its members), then offset (the whole of a file before its bytes).
func compareLocation(a, b finding.Location) int {
	if c := cmp.Compare(a.Path, b.Path); c != 0 {
		return c
	}
	if c := slices.Compare(a.Member, b.Member); c != 0 {
		return c
	}
	return cmp.Compare(a.Offset, b.Offset)
}

// compareTail breaks ties between findings at the same place and severity,
// so that every order the writers use is total and the output stable.
func compareTail(a, b *finding.Finding) int {
	if c := cmp.Compare(a.Rule, b.Rule); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Evidence, b.Evidence); c != 0 {
		return c
	}
	return cmp.Compare(a.Message, b.Message)
}

// byLocation orders findings by location, then severity descending.
func byLocation(a, b finding.Finding) int {
	if c := compareLocation(a.Location, b.Location); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
		return c
	}
	return compareTail(&a, &b)
}

// bySeverity orders findings by severity descending, then location.
func bySeverity(a, b finding.Finding) int {
	if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
		return c
	}
	if c := compareLocation(a.Location, b.Location); c != 0 {
		return c
	}
	return compareTail(&a, &b)
}

// sortedFiles returns a copy of r's files sorted by path, each with a copy of
// its findings sorted by less. r is not modified.
func sortedFiles(r *Report, less func(a, b finding.Finding) int) []File {
	files := slices.Clone(r.Files)
	if files == nil {
		files = []File{}
	}
	slices.SortStableFunc(files, func(a, b File) int { return cmp.Compare(a.Path, b.Path) })
	for i := range files {
		fs := slices.Clone(files[i].Findings)
		if fs == nil {
			fs = []finding.Finding{}
		}
		slices.SortStableFunc(fs, less)
		files[i].Findings = fs
	}
	return files
}

// validSeverity reports whether s is one of the five severities.
func validSeverity(s finding.Severity) bool {
	return s >= finding.Info && s <= finding.Critical
}

// check returns an error when r cannot be rendered faithfully: a missing
// report, an invalid fail_on threshold or a finding without a valid severity.
func check(r *Report) error {
	if r == nil {
		return fmt.Errorf("report: nil report")
	}
	if !validSeverity(r.FailOn) {
		return fmt.Errorf("report: invalid fail_on severity %d", int(r.FailOn))
	}
	for _, f := range r.Files {
		for _, x := range f.Findings {
			if !validSeverity(x.Severity) {
				return fmt.Errorf("report: finding %s at %s: invalid severity %d", x.Rule, x.Location, int(x.Severity))
			}
		}
	}
	return nil
}

// severitiesDescending lists the severities from critical to info.
var severitiesDescending = []finding.Severity{finding.Critical, finding.High, finding.Medium, finding.Low, finding.Info}
