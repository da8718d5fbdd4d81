package scan

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
)

// formatsRoot holds the fixtures of testdata/gen/formats.
var formatsRoot = filepath.Join("..", "testdata", "formats")

// TestFormatFixtures scans every row of testdata/formats/expected.tsv:
// benign files pass with nothing above low; malicious files fail and
// suspicious ones pass with a medium finding (checkLabelled), and each shows,
// at that severity, the evidence its note quotes. Every file of the folder
// has a row (its own or its folder's), and every row a file.
func TestFormatFixtures(t *testing.T) {
	all := rows(t, filepath.Join(formatsRoot, "expected.tsv"))
	if len(all) < 30 {
		t.Fatalf("expected.tsv lists %d files", len(all))
	}
	var labelled [][2]string
	for _, row := range all {
		labelled = append(labelled, [2]string{row[0], row[1]})
	}
	checkLabelled(t, formatsRoot, labelled)
	for _, row := range all {
		t.Run("evidence/"+row[0], func(t *testing.T) {
			t.Parallel()
			checkEvidence(t, row)
		})
	}
	checkCoverage(t, all)
}

// checkEvidence checks the severities of one row's findings against its
// label, and that its note quotes one finding of the expected severity: its
// evidence, or its rule id when the finding carries no evidence.
func checkEvidence(t *testing.T, row [3]string) {
	path, label, note := row[0], row[1], row[2]
	r := scanOne(t, filepath.Join(formatsRoot, path))
	findings := r.AllFindings()
	if label == "benign" {
		for _, f := range findings {
			if f.Severity > finding.Low {
				t.Errorf("benign %s: %s %s at %s: %s [%s]", path, f.Severity, f.Rule, f.Location, f.Message, f.Evidence)
			}
		}
		return
	}
	want := map[string]func(finding.Severity) bool{
		"malicious":  func(s finding.Severity) bool { return s >= finding.High },
		"suspicious": func(s finding.Severity) bool { return s == finding.Medium },
	}[label]
	if want == nil {
		t.Fatalf("%s: unknown label %q", path, label)
	}
	quoted := slices.ContainsFunc(findings, func(f finding.Finding) bool {
		if !want(f.Severity) {
			return false
		}
		if f.Evidence == "" {
			return strings.Contains(note, f.Rule)
		}
		return strings.Contains(note, f.Evidence)
	})
	if !quoted {
		t.Errorf("%s (%s): no finding of the expected severity shows what the note quotes (%s); findings:", path, label, note)
		for _, f := range findings {
			t.Errorf("  %s %s: %s [%s]", f.Severity, f.Rule, f.Message, f.Evidence)
		}
	}
}

// checkCoverage checks that every file under formatsRoot, but the keras-h5
// folders (whose rows their maker adds), expected.tsv and README.md, is
// named by a row or lies in a folder a row names, and that every row names
// a file or a folder.
func checkCoverage(t *testing.T, all [][3]string) {
	t.Helper()
	named := map[string]bool{}
	for _, row := range all {
		named[row[0]] = true
		if _, err := os.Stat(filepath.Join(formatsRoot, filepath.FromSlash(row[0]))); err != nil {
			t.Errorf("row %s: %v", row[0], err)
		}
	}
	err := filepath.WalkDir(formatsRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "keras-h5" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(formatsRoot, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "expected.tsv" || rel == "README.md" {
			return nil
		}
		for p := rel; p != "."; p = filepath.ToSlash(filepath.Dir(p)) {
			if named[p] {
				return nil
			}
		}
		t.Errorf("%s has no row in expected.tsv", rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
