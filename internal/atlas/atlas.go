// Package atlas holds the MITRE ATLAS techniques and mitigations (ids and
// names) of the ATLAS data vendored in testdata/specs/atlas/ATLAS.yaml, so
// that threat models name techniques that exist, with their names, without
// reading the YAML at run time. table.go is generated from the YAML by
// `go test ./internal/atlas -run TestTable -update`; TestTable checks it
// against the YAML.
package atlas

import (
	"slices"
	"strings"
)

// Version is the ATLAS release the table comes from.
const Version = atlasVersion

// Entry is a technique or a mitigation.
type Entry struct {
	// ID is "AML.T0051", "AML.T0024.000" (a sub-technique) or "AML.M0014".
	ID string
	// Name is ATLAS's name; a sub-technique's is "Technique: Sub-technique".
	Name string
}

// Technique returns the name of a technique or sub-technique id, and
// whether ATLAS has it.
func Technique(id string) (string, bool) {
	name, ok := techniques[id]
	return name, ok
}

// Mitigation returns the name of a mitigation id, and whether ATLAS has it.
func Mitigation(id string) (string, bool) {
	name, ok := mitigations[id]
	return name, ok
}

// Techniques lists every technique and sub-technique, by id.
func Techniques() []Entry { return entries(techniques) }

// Mitigations lists every mitigation, by id.
func Mitigations() []Entry { return entries(mitigations) }

func entries(m map[string]string) []Entry {
	out := make([]Entry, 0, len(m))
	for id, name := range m {
		out = append(out, Entry{ID: id, Name: name})
	}
	// Ids are fixed-width ("AML.T0010" < "AML.T0010.003" < "AML.T0011"):
	// text order is id order.
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// URL returns the address of the ATLAS page of a technique or mitigation.
func URL(id string) string {
	if strings.HasPrefix(id, "AML.M") {
		return "https://atlas.mitre.org/mitigations/" + id
	}
	return "https://atlas.mitre.org/techniques/" + id
}
