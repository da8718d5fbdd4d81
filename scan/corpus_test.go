package scan

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/report"
)

// labels reads a tab-separated expected.tsv: path, label, and more columns.
func labels(t *testing.T, path string) [][2]string {
	var out [][2]string
	for _, row := range rows(t, path) {
		out = append(out, [2]string{row[0], row[1]})
	}
	return out
}

// rows reads expected.tsv as path, label and note (empty when absent).
func rows(t *testing.T, path string) [][3]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][3]string
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		cols := strings.Split(sc.Text(), "\t")
		if first || len(cols) < 2 || cols[0] == "" {
			continue
		}
		cols = append(cols, "")
		out = append(out, [3]string{cols[0], cols[1], cols[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func defaultOptions() Options {
	return Options{Analyzers: Analyzers(pickle.DefaultPolicy()), Limits: analyzer.DefaultLimits(), FailOn: finding.High}
}

// scanOne scans one path with the default options.
func scanOne(t *testing.T, path string) *report.Report {
	t.Helper()
	r, err := Scan(context.Background(), []string{path}, defaultOptions())
	if err != nil {
		t.Fatalf("scan %s: %v", path, err)
	}
	return r
}

// checkLabelled scans every labelled file under root and checks its exit
// code: malicious 1, benign 0 (and no finding of high or above), either
// anything but 0.
func checkLabelled(t *testing.T, root string, rows [][2]string) {
	for _, row := range rows {
		path, label := filepath.Join(root, row[0]), row[1]
		t.Run(row[0], func(t *testing.T) {
			t.Parallel()
			r := scanOne(t, path)
			code := r.ExitCode(finding.High)
			ok := map[string]bool{
				"malicious": code == report.ExitFindings,
				"benign":    code == report.ExitPass || code == report.ExitIncomplete && onlyUnrecognized(r),
				"either":    code != report.ExitPass,
				"suspicious": code == report.ExitPass && slices.ContainsFunc(r.AllFindings(), func(f finding.Finding) bool {
					return f.Severity == finding.Medium
				}),
			}[label]
			if !ok {
				t.Errorf("%s is %s but the scan exits %d; findings:", row[0], label, code)
				for _, f := range r.AllFindings() {
					t.Errorf("  %s %s %s: %s %s", f.Severity, f.Rule, f.Location, f.Message, f.Evidence)
				}
			}
		})
	}
}

// onlyUnrecognized reports whether every finding of r says a file is named
// as a model but holds no format (a PNG named .pt, a text named .bin):
// benign, and not passed as a checked model either (exit 2).
func onlyUnrecognized(r *report.Report) bool {
	for _, f := range r.AllFindings() {
		if f.Rule != finding.FormatUnrecognized {
			return false
		}
	}
	return len(r.AllFindings()) > 0
}

// TestPicklescanCorpus runs every file of the public picklescan corpus.
func TestPicklescanCorpus(t *testing.T) {
	root := tu.SharedDir(t, "corpus", "picklescan")
	rows := labels(t, filepath.Join(root, "expected.tsv"))
	if len(rows) < 100 {
		t.Fatalf("expected.tsv lists %d files", len(rows))
	}
	checkLabelled(t, root, rows)
}

// TestRealLibraryFixtures runs the files made by PyTorch, scikit-learn,
// joblib, NumPy, pandas, XGBoost and SciPy (testdata/gen): benign ones must
// pass clean, their malicious twins must fail.
func TestRealLibraryFixtures(t *testing.T) {
	root := filepath.Join("..", "testdata", "models")
	rows := labels(t, filepath.Join(root, "expected.tsv"))
	if len(rows) < 50 {
		t.Fatalf("expected.tsv lists %d files", len(rows))
	}
	checkLabelled(t, root, rows)
}

// TestBenignFixturesHaveNoNoise checks that real benign models raise nothing
// above low: a scanner that cries wolf on real models gets switched off.
func TestBenignFixturesHaveNoNoise(t *testing.T) {
	r := scanOne(t, filepath.Join("..", "testdata", "models", "benign"))
	if r.Summary.Files < 50 {
		t.Fatalf("only %d benign files", r.Summary.Files)
	}
	for _, f := range r.AllFindings() {
		if f.Severity > finding.Low {
			t.Errorf("%s %s at %s: %s", f.Severity, f.Rule, f.Location, f.Evidence)
		}
	}
}

// TestMaliciousFixturesShowEvidence checks that each malicious fixture is
// reported, at high or above, with the evidence its note names: the
// payload's callable for a pickle, the location for ONNX external data.
func TestMaliciousFixturesShowEvidence(t *testing.T) {
	root := filepath.Join("..", "testdata", "models")
	for _, row := range rows(t, filepath.Join(root, "expected.tsv")) {
		if row[1] != "malicious" {
			continue
		}
		r := scanOne(t, filepath.Join(root, row[0]))
		found := false
		for _, f := range r.AllFindings() {
			if f.Severity < finding.High || f.Evidence == "" {
				continue
			}
			for _, payload := range []string{"posix.system", "builtins.exec", "builtins.eval", "subprocess.check_output"} {
				found = found || f.Severity == finding.Critical && strings.HasPrefix(f.Evidence, payload)
			}
			found = found || strings.Contains(row[2], f.Evidence)
		}
		if !found {
			t.Errorf("%s: no finding shows the evidence its note names (%s); findings: %v", row[0], row[2], r.AllFindings())
		}
	}
}
