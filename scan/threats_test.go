package scan

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
)

// threatRow is one row of docs/threats.md: its technique, the rules it
// names and the fixtures of its Proof column.
type threatRow struct {
	technique string
	rules     []string
	fixtures  []string
}

var (
	backticked = regexp.MustCompile("`([^`]+)`")
	ruleID     = regexp.MustCompile(`^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$`)
)

// threatRows reads the table of docs/threats.md.
func threatRows(t *testing.T) []threatRow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "threats.md"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []threatRow
	header := true
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		// Cells are split on pipes not escaped with a backslash.
		cells := regexp.MustCompile(`[^\\]\|`).Split(line+" ", -1)
		if header || strings.HasPrefix(line, "|---") {
			header = false
			continue
		}
		if len(cells) < 9 {
			t.Fatalf("a row of docs/threats.md has %d cells: %s", len(cells), line)
		}
		r := threatRow{technique: strings.TrimSpace(cells[0][1:])}
		for _, m := range backticked.FindAllStringSubmatch(cells[5], -1) {
			if ruleID.MatchString(m[1]) {
				r.rules = append(r.rules, m[1])
			}
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[6], -1) {
			if strings.Contains(m[1], "testdata/") {
				r.fixtures = append(r.fixtures, m[1])
			}
		}
		rows = append(rows, r)
	}
	if len(rows) < 15 {
		t.Fatalf("docs/threats.md has %d rows", len(rows))
	}
	return rows
}

// TestThreatsTable holds docs/threats.md to what it claims: every row names
// a rule of the catalogue and at least one fixture in testdata/, and every
// fixture it names, scanned, fails (exit 1, or exit 2 for a row whose rule
// says the file could not be read) with one of the row's rules.
func TestThreatsTable(t *testing.T) {
	for _, r := range threatRows(t) {
		t.Run(r.technique, func(t *testing.T) {
			if len(r.rules) == 0 {
				t.Fatal("the row names no rule")
			}
			incomplete := false
			for _, id := range r.rules {
				rule, ok := finding.Lookup(id)
				if !ok {
					t.Errorf("rule %s is not in the catalogue", id)
				}
				incomplete = incomplete || rule.Incomplete
			}
			if len(r.fixtures) == 0 {
				t.Fatal("the row names no fixture under testdata/")
			}
			for _, fx := range fixturePaths(t, r.fixtures) {
				path := filepath.Join("..", filepath.FromSlash(fx))
				rep := scanOne(t, path)
				all := rep.AllFindings()
				matched := false
				for _, id := range r.rules {
					matched = matched || hasRule(all, id)
				}
				if !matched {
					t.Errorf("%s: none of %v in %v", fx, r.rules, all)
				}
				code := rep.ExitCode(finding.High)
				if code != report.ExitFindings && !(incomplete && code == report.ExitIncomplete) {
					t.Errorf("%s: exit %d", fx, code)
				}
			}
		})
	}
}

// fixturePaths expands the fixtures of a row: a path that ends with a slash
// stands for each entry of that folder, scanned on its own; any other path
// (a file, or a folder that makes one model) is scanned as one.
func fixturePaths(t *testing.T, fixtures []string) []string {
	t.Helper()
	var out []string
	for _, fx := range fixtures {
		path := filepath.Join("..", filepath.FromSlash(fx))
		if !strings.HasSuffix(fx, "/") {
			if _, err := os.Stat(path); err != nil {
				t.Errorf("fixture %s: %v", fx, err)
				continue
			}
			out = append(out, fx)
			continue
		}
		entries, err := os.ReadDir(path)
		if err != nil || len(entries) == 0 {
			t.Errorf("fixture folder %s: %v, %d entries", fx, err, len(entries))
			continue
		}
		for _, e := range entries {
			out = append(out, fx+e.Name())
		}
	}
	return out
}

// TestThreatFixturesListed checks that every file of testdata/threats is
// named by a row of docs/threats.md (directly or by a folder that holds it).
func TestThreatFixturesListed(t *testing.T) {
	var named []string
	for _, r := range threatRows(t) {
		named = append(named, r.fixtures...)
	}
	root := filepath.Join("..", "testdata", "threats")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "README.md" {
			return err
		}
		rel, _ := filepath.Rel("..", path)
		rel = filepath.ToSlash(rel)
		for _, n := range named {
			if rel == n || strings.HasPrefix(rel, strings.TrimSuffix(n, "/")+"/") {
				return nil
			}
		}
		t.Errorf("%s is in no row of docs/threats.md", rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
