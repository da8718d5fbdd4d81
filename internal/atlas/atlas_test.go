package atlas

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"
	"sort"
	"testing"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite table.go from ATLAS.yaml")

// atlasYAML is the vendored ATLAS data, in the repository.
const atlasYAML = "../../testdata/specs/atlas/ATLAS.yaml"

// fromYAML reads the techniques (full names: "Technique: Sub-technique")
// and mitigations of ATLAS.yaml, and its version.
func fromYAML(t *testing.T) (version string, techs, mits map[string]string) {
	t.Helper()
	b, err := os.ReadFile(atlasYAML)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version  string `yaml:"version"`
		Matrices []struct {
			Techniques []struct {
				ID             string `yaml:"id"`
				Name           string `yaml:"name"`
				SubtechniqueOf string `yaml:"subtechnique-of"`
			} `yaml:"techniques"`
			Mitigations []struct {
				ID   string `yaml:"id"`
				Name string `yaml:"name"`
			} `yaml:"mitigations"`
		} `yaml:"matrices"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", atlasYAML, err)
	}
	names, parents := map[string]string{}, map[string]string{}
	mits = map[string]string{}
	for _, m := range doc.Matrices {
		for _, x := range m.Techniques {
			names[x.ID] = x.Name
			if x.SubtechniqueOf != "" {
				parents[x.ID] = x.SubtechniqueOf
			}
		}
		for _, x := range m.Mitigations {
			mits[x.ID] = x.Name
		}
	}
	techs = map[string]string{}
	for id, name := range names {
		if p, ok := parents[id]; ok {
			name = names[p] + ": " + name
		}
		techs[id] = name
	}
	if len(techs) < 100 || len(mits) < 20 {
		t.Fatalf("%s: %d techniques, %d mitigations: not the ATLAS data", atlasYAML, len(techs), len(mits))
	}
	return doc.Version, techs, mits
}

// TestTable: table.go holds exactly the techniques and mitigations of
// ATLAS.yaml, with their names (-update rewrites it).
func TestTable(t *testing.T) {
	version, techs, mits := fromYAML(t)
	if *update {
		writeTable(t, version, techs, mits)
		return
	}
	if atlasVersion != version {
		t.Errorf("table of ATLAS %s, the YAML is %s: go test ./internal/atlas -run TestTable -update", atlasVersion, version)
	}
	for _, c := range []struct {
		what      string
		got, want map[string]string
	}{{"technique", techniques, techs}, {"mitigation", mitigations, mits}} {
		for id, name := range c.want {
			if c.got[id] != name {
				t.Errorf("%s %s: table %q, ATLAS %q", c.what, id, c.got[id], name)
			}
		}
		for id := range c.got {
			if _, ok := c.want[id]; !ok {
				t.Errorf("%s %s: in the table, not in ATLAS", c.what, id)
			}
		}
	}
}

func writeTable(t *testing.T, version string, techs, mits map[string]string) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated from testdata/specs/atlas/ATLAS.yaml by `go test ./internal/atlas -run TestTable -update`. DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "package atlas\n\nconst atlasVersion = %q\n\n", version)
	for _, tb := range []struct {
		name, doc string
		m         map[string]string
	}{{"techniques", "techniques names every technique and sub-technique by id.", techs},
		{"mitigations", "mitigations names every mitigation by id.", mits}} {
		ids := make([]string, 0, len(tb.m))
		for id := range tb.m {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		fmt.Fprintf(&b, "// %s\nvar %s = map[string]string{\n", tb.doc, tb.name)
		for _, id := range ids {
			fmt.Fprintf(&b, "\t%q: %q,\n", id, tb.m[id])
		}
		fmt.Fprintf(&b, "}\n\n")
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("table.go", src, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLookups(t *testing.T) {
	for id, want := range map[string]string{
		"AML.T0051":     "LLM Prompt Injection",
		"AML.T0024.000": "Exfiltration via AI Inference API: Infer Training Data Membership",
		"AML.T0010.003": "AI Supply Chain Compromise: Model",
	} {
		if got, ok := Technique(id); !ok || got != want {
			t.Errorf("Technique(%s) = %q, %v; want %q", id, got, ok, want)
		}
	}
	for _, id := range []string{"", "AML.T9999", "AML.M0014", "aml.t0051", "AML.T0051 "} {
		if _, ok := Technique(id); ok {
			t.Errorf("Technique(%q) accepted", id)
		}
	}
	if name, ok := Mitigation("AML.M0014"); !ok || name != "Verify AI Artifacts" {
		t.Errorf("Mitigation(AML.M0014) = %q, %v", name, ok)
	}
	ts := Techniques()
	if len(ts) != len(techniques) || ts[0].ID > ts[1].ID {
		t.Errorf("Techniques: %d, first %v", len(ts), ts[:2])
	}
}
