package deps_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/deps"
	"github.com/violet-mlsecops/violet/finding"
)

// incidents are the pins of testdata/incidents/affected with the record
// ids each must be reported with.
var incidents = map[string][]string{
	"torch":        {"GHSA-53q9-r3pm-6pq6"},
	"langchain":    {"GHSA-fprp-p869-w6q2", "GHSA-2qmj-7962-cjq8"},
	"transformers": {"GHSA-37q5-v5qm-c9v8"},
	"ultralytics":  {"MAL-0000-violet-ultralytics"},
	"torchtriton":  {"MAL-0000-violet-torchtriton"},
}

// TestIncidents: in every dependency file format, every affected pin of
// the real incidents is found with its record, malware as malicious, and
// no fixed pin is reported.
func TestIncidents(t *testing.T) {
	db, err := deps.OpenDB(filepath.Join("testdata", "osv"))
	if err != nil {
		t.Fatal(err)
	}
	formats := []string{"requirements.txt", "poetry.lock", "uv.lock", "Pipfile.lock", "pdm.lock", "pylock.toml", "environment.yml",
		"pyproject.toml", "poetry/pyproject.toml", "pdm/pyproject.toml", "uv/pyproject.toml", "Pipfile", "setup.cfg", "setup.py"}
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			m, err := deps.ParseFile(filepath.Join("testdata", "incidents", "affected", format))
			if err != nil {
				t.Fatal(err)
			}
			r, err := deps.Check(context.Background(), []*deps.Manifest{m}, db)
			if err != nil {
				t.Fatal(err)
			}
			for pkg, ids := range incidents {
				for _, id := range ids {
					if !slices.ContainsFunc(r.Findings, func(f finding.Finding) bool {
						return f.Evidence == id && strings.HasPrefix(f.Message, pkg+" ") &&
							(f.Rule == finding.DepsVulnerable || f.Rule == finding.DepsMalicious && strings.HasPrefix(id, "MAL-"))
					}) {
						t.Errorf("%s: %s not reported; findings %v", pkg, id, r.Findings)
					}
				}
			}
			fixed, err := deps.ParseFile(filepath.Join("testdata", "incidents", "fixed", format))
			if err != nil {
				t.Fatal(err)
			}
			r, err = deps.Check(context.Background(), []*deps.Manifest{fixed}, db)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range r.Findings {
				if f.Rule == finding.DepsVulnerable || f.Rule == finding.DepsMalicious {
					t.Errorf("a fixed pin is reported: %s %s", f.Rule, f.Message)
				}
			}
		})
	}
}
