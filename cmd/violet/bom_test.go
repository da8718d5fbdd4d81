package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

// TestBOMCommand writes each format for a fixture, the completeness
// report, and the findings of --scan as vulnerabilities.
func TestBOMCommand(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	lora := filepath.Join("..", "..", "testdata", "bom", "lora-adapter")
	schema := tu.CycloneDXSchema(t, "1.6")
	code, out, errOut := violet(t, "bom", lora)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	tu.ValidateJSON(t, schema, []byte(out))
	if !strings.Contains(out, `"timestamp": "2026-01-01T00:00:00Z"`) || !strings.Contains(out, "machine-learning-model") {
		t.Errorf("cyclonedx:\n%.500s", out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bom", "--format", "cyclonedx-1.7", lora}, 0, `"specVersion": "1.7"`},
		{[]string{"bom", "--format", "spdx3", lora}, 0, `"ai_AIPackage"`},
		{[]string{"bom", "--check", lora}, 0, "ML-BOM completeness of lora-adapter"},
		{[]string{"bom", "--check", "--format", "json", lora}, 0, `"score"`},
		{[]string{"bom", "--check", "--min-score", "100", lora}, 1, "MISSING"},
		{[]string{"bom", "--format", "xml", lora}, 2, ""},
		{[]string{"bom", "--check", "--min-score", "150", lora}, 2, ""},
		{[]string{"bom", "--check", "--min-score", "-1", lora}, 2, ""},
		{[]string{"bom", "--min-score", "80", lora}, 2, ""},
		{[]string{"bom", filepath.Join(lora, "missing")}, 2, ""},
	} {
		code, out, errOut := violet(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("violet %v: exit %d (want %d)\n%.300s\n%s", tc.args, code, tc.code, out, errOut)
		}
	}

	dir := t.TempDir()
	write(t, dir, "config.json", []byte(`{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}`))
	write(t, dir, "pytorch_model.bin", evil)
	code, out, _ = violet(t, "bom", "--scan", dir)
	var doc struct {
		Vulnerabilities []struct {
			ID      string
			Affects []struct{ Ref string }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 || len(doc.Vulnerabilities) == 0 ||
		doc.Vulnerabilities[0].ID != "PICKLE-PROCESS" || doc.Vulnerabilities[0].Affects[0].Ref != "file:pytorch_model.bin" {
		t.Errorf("--scan: exit %d, %v, %+v", code, err, doc)
	}
	tu.ValidateJSON(t, schema, []byte(out))
}
