package finding

import (
	"bytes"
	"os"
	"regexp"
	"testing"

	"gopkg.in/yaml.v3"
)

const atlasYAML = "../testdata/specs/atlas/ATLAS.yaml"

// readShared reads a file of the repository's test data.
func readShared(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// atlasTechniques reads the techniques of ATLAS.yaml and returns their full
// names by id: "Technique: Sub-technique" for a sub-technique.
func atlasTechniques(t *testing.T) map[string]string {
	t.Helper()
	var doc struct {
		Matrices []struct {
			Techniques []struct {
				ID             string `yaml:"id"`
				Name           string `yaml:"name"`
				SubtechniqueOf string `yaml:"subtechnique-of"`
			} `yaml:"techniques"`
		} `yaml:"matrices"`
	}
	if err := yaml.Unmarshal(readShared(t, atlasYAML), &doc); err != nil {
		t.Fatalf("%s: %v", atlasYAML, err)
	}
	names := map[string]string{}
	parents := map[string]string{}
	for _, m := range doc.Matrices {
		for _, tech := range m.Techniques {
			names[tech.ID] = tech.Name
			if tech.SubtechniqueOf != "" {
				parents[tech.ID] = tech.SubtechniqueOf
			}
		}
	}
	if len(names) == 0 {
		t.Fatalf("%s: no techniques found", atlasYAML)
	}
	full := make(map[string]string, len(names))
	for id, name := range names {
		if parent, ok := parents[id]; ok {
			name = names[parent] + ": " + name
		}
		full[id] = name
	}
	return full
}

var ruleID = regexp.MustCompile(`^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$`)

func TestCatalogue(t *testing.T) {
	techniques := atlasTechniques(t)
	seen := map[string]bool{}
	for i, r := range catalogue {
		if r.ID == "" {
			t.Errorf("catalogue[%d] (%q) has no id", i, r.Title)
			continue
		}
		if seen[r.ID] {
			t.Errorf("%s: the id is used twice", r.ID)
		}
		seen[r.ID] = true
		if !ruleID.MatchString(r.ID) {
			t.Errorf("%s: an id is upper-case words joined by dashes (it is also a Markdown anchor and a SARIF rule id)", r.ID)
		}
		if r.Title == "" {
			t.Errorf("%s: no title", r.ID)
		}
		if r.Severity < Info || r.Severity > Critical {
			t.Errorf("%s: invalid severity %d", r.ID, int(r.Severity))
		}
		if r.Description == "" {
			t.Errorf("%s: no description", r.ID)
		}
		if r.Remediation == "" {
			t.Errorf("%s: no remediation", r.ID)
		}
		// GitHub code scanning truncates longer SARIF descriptions.
		for what, s := range map[string]string{"title": r.Title, "description": r.Description} {
			if len(s) > 1024 {
				t.Errorf("%s: the %s is %d bytes; SARIF consumers accept at most 1024", r.ID, what, len(s))
			}
		}
		atlasSeen := map[string]bool{}
		for _, id := range r.ATLAS {
			if atlasSeen[id] {
				t.Errorf("%s: ATLAS technique %s is listed twice", r.ID, id)
			}
			atlasSeen[id] = true
			if _, ok := techniques[id]; !ok {
				t.Errorf("%s: ATLAS technique %s is not in %s", r.ID, id, atlasYAML)
			}
			if _, ok := ATLASName(id); !ok {
				t.Errorf("%s: ATLAS technique %s has no name in atlasNames (finding/docs.go)", r.ID, id)
			}
		}
	}
	for id, name := range atlasNames {
		want, ok := techniques[id]
		switch {
		case !ok:
			t.Errorf("atlasNames: %s is not a technique of %s", id, atlasYAML)
		case name != want:
			t.Errorf("atlasNames[%s] = %q, ATLAS names it %q", id, name, want)
		}
	}
	for id, r := range byID {
		if id != r.ID {
			t.Errorf("byID[%s] holds rule %s", id, r.ID)
		}
	}
}

func TestWriteRulesMarkdownUnknownATLAS(t *testing.T) {
	saved := catalogue
	defer func() { catalogue = saved }()
	catalogue = append([]Rule{{ID: "TEST-RULE", Title: "t", Severity: Low, ATLAS: []string{"AML.T9999"},
		Description: "d", Remediation: "r"}}, saved...)
	if err := WriteRulesMarkdown(&bytes.Buffer{}); err == nil {
		t.Fatal("WriteRulesMarkdown accepted an ATLAS technique without a name")
	}
}
