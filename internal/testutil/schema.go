package testutil

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// noNetwork refuses every schema the compiler would fetch: the schemas
// tests use are all in testdata/specs.
type noNetwork struct{}

func (noNetwork) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema %s is not available offline", url)
}

// CycloneDXSchema compiles the official CycloneDX JSON schema of version
// ("1.6", "1.7") from testdata/specs/cyclonedx, with the SPDX license and
// JSF schemas it refers to, offline.
func CycloneDXSchema(t testing.TB, version string) *jsonschema.Schema {
	t.Helper()
	dir := SharedDir(t, "specs", "cyclonedx")
	c := jsonschema.NewCompiler()
	c.UseLoader(noNetwork{})
	var main string
	for _, name := range []string{"bom-" + version + ".schema.json", "spdx.schema.json", "jsf-0.82.schema.json", "cryptography-defs.schema.json"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			if name == "cryptography-defs.schema.json" {
				continue
			}
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		id := "http://cyclonedx.org/schema/" + name
		if obj, ok := doc.(map[string]any); ok {
			if s, ok := obj["$id"].(string); ok && s != "" {
				id = s
			}
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
		if main == "" {
			main = id
		}
	}
	s, err := c.Compile(main)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ValidateJSON checks data against the schema and fails the test with the
// schema's explanation when it does not validate.
func ValidateJSON(t testing.TB, s *jsonschema.Schema, data []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("does not validate: %v", err)
	}
}
