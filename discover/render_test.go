package discover

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	tu "github.com/violet-mlsecops/violet/internal/testutil"
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

func TestCycloneDXValidates(t *testing.T) {
	schema := tu.CycloneDXSchema(t, "1.6")
	res := discoverTree(t)
	res.Assets[0].Owners = append(res.Assets[0].Owners, Owner{Name: "Ada Lovelace <ada@example.com>", Source: OwnerGit},
		Owner{Name: "Odd <not an email>", Source: OwnerGit})
	res.Unreadable = []ReadError{{Path: "data/private", Error: "permission denied"}}
	res.GitNote = "git history not read: /x/.git is a symbolic link: not followed"
	var buf bytes.Buffer
	if err := WriteCycloneDX(&buf, res, "test"); err != nil {
		t.Fatal(err)
	}
	tu.ValidateJSON(t, schema, buf.Bytes())
	out := buf.String()
	for _, want := range []string{
		`"specVersion": "1.6"`, `"type": "machine-learning-model"`, `"purl": "pkg:huggingface/acme/tiny@0123456789abcdef"`,
		`"purl": "pkg:huggingface/mistralai/Mistral-7B-v0.1"`, `"purl": "pkg:pypi/torch@2.3.1"`, `"type": "file"`,
		`"name": "violet:owner"`, `"email": "ada@example.com"`, `"value": "data/private: permission denied"`, `"name": "violet:git-note"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the BOM lacks %s", want)
		}
	}
}
