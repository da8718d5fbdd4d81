package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiscoverCommand(t *testing.T) {
	dir := t.TempDir()
	model, err := os.ReadFile("../../testdata/formats/benign/gguf/plain_v2.gguf")
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "tiny.gguf", model)
	write(t, dir, "train.py", []byte(`m = AutoModel.from_pretrained("acme/base")`+"\n"))
	write(t, dir, "requirements.txt", []byte("torch==2.3.1\n"))

	code, out, errOut := violet(t, "discover", "--no-git", dir)
	if code != 0 || !strings.Contains(out, "tiny.gguf") || !strings.Contains(out, "acme/base") {
		t.Fatalf("text: exit %d\n%s%s", code, out, errOut)
	}

	code, out, _ = violet(t, "discover", "--no-git", "--format", "json", dir)
	var doc struct {
		SchemaVersion string         `json:"schema_version"`
		Summary       map[string]int `json:"summary"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc.SchemaVersion != "1" || doc.Summary["model-file"] != 1 ||
		doc.Summary["dependency-file"] != 1 || doc.Summary["model-reference"] != 1 {
		t.Fatalf("json: exit %d, %+v\n%s", code, doc, out)
	}

	bom := filepath.Join(t.TempDir(), "bom.json")
	code, _, _ = violet(t, "discover", "--no-git", "--format", "cyclonedx", "-o", bom, dir)
	data, err := os.ReadFile(bom)
	if code != 0 || err != nil || !strings.Contains(string(data), `"pkg:huggingface/acme/base"`) {
		t.Fatalf("cyclonedx: exit %d, %v\n%s", code, err, data)
	}

	for _, args := range [][]string{
		{"discover", filepath.Join(dir, "missing")},
		{"discover", "--format", "sarif", dir},
		{"discover"},
	} {
		if code, _, _ := violet(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
