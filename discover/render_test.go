package discover

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func discoverTree(t *testing.T) *Result {
	t.Helper()
	dir := t.TempDir()
	buildTree(t, dir)
	res, err := Discover(context.Background(), dir, Options{NoGit: true})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestWriteText(t *testing.T) {
	res := discoverTree(t)
	var buf bytes.Buffer
	if err := WriteText(&buf, res); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Log("\n" + out)
	for _, want := range []string{
		"Model files (4)", "Model folders (3)", "Hugging Face cache snapshots (1)", "Notebooks (1)",
		"acme/tiny@0123456789ab", "src/serve.py:15", "gpt-4o  openai  via ChatOpenAI", "@acme/serving",
		"requirements: peft, torch ==2.3.1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the text report lacks %q", want)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	res := discoverTree(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SchemaVersion string         `json:"schema_version"`
		Assets        []Asset        `json:"assets"`
		Summary       map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SchemaVersion != SchemaVersion || len(doc.Assets) != len(res.Assets) || doc.Summary["model-file"] != 4 {
		t.Errorf("JSON: version %q, %d assets, summary %v", doc.SchemaVersion, len(doc.Assets), doc.Summary)
	}
}

// noNetwork refuses to load any schema that was not registered.
type noNetwork struct{}

func (noNetwork) Load(url string) (any, error) {
	return nil, errors.New("schema " + url + " is not registered and will not be fetched")
}

// cyclonedxSchema compiles the CycloneDX 1.6 schema with the schemas it
// references, registered by their $id.
func cyclonedxSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.UseLoader(noNetwork{})
	main := ""
	for _, name := range []string{"spdx.schema.json", "jsf-0.82.schema.json", "bom-1.6.schema.json"} {
		data, err := os.ReadFile("../../shared/specs/cyclonedx/" + name)
		if err != nil {
			t.Skip("the CycloneDX schemas are not here:", err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
		main = id
	}
	s, err := c.Compile(main)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCycloneDXValidates(t *testing.T) {
	schema := cyclonedxSchema(t)
	res := discoverTree(t)
	res.Assets[0].Owners = append(res.Assets[0].Owners, Owner{Name: "Ada Lovelace <ada@example.com>", Source: OwnerGit},
		Owner{Name: "Odd <not an email>", Source: OwnerGit})
	var buf bytes.Buffer
	if err := WriteCycloneDX(&buf, res, "test"); err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(v); err != nil {
		t.Fatalf("the BOM does not validate:\n%v", err)
	}
	out := buf.String()
	for _, want := range []string{
		`"specVersion": "1.6"`, `"type": "machine-learning-model"`, `"purl": "pkg:huggingface/acme/tiny@0123456789abcdef"`,
		`"purl": "pkg:huggingface/mistralai/Mistral-7B-v0.1"`, `"purl": "pkg:pypi/torch@2.3.1"`, `"type": "file"`,
		`"name": "violet:owner"`, `"email": "ada@example.com"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the BOM lacks %s", want)
		}
	}
}
