package bom_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/violet-mlsecops/violet/bom"
	"github.com/violet-mlsecops/violet/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// fixtures are the model folders of testdata/bom (testdata/gen/bom).
var fixtures = map[string]string{
	"base-model":   "base-model",
	"hf-cache":     "hf-cache/models--violet-test--tiny-llama",
	"lora-adapter": "lora-adapter",
	"full-card":    "full-card",
	"gguf-only":    "gguf-only",
	"gguf-file":    "gguf-only/Tiny-Llama-1M-Instruct-Q8_0.gguf",
}

// golden compares got with testdata/golden/name, or rewrites it.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./bom -update)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file; run go test ./bom -update and review the diff", name)
	}
}

// TestGoldenBOMs reads every fixture and checks its CycloneDX BOM and its
// completeness report against golden files; the BOMs validate against the
// official schema.
func TestGoldenBOMs(t *testing.T) {
	schema := testutil.CycloneDXSchema(t, "1.6")
	root := filepath.Join("..", "testdata", "bom")
	for name, dir := range fixtures {
		t.Run(name, func(t *testing.T) {
			m, err := bom.Read(context.Background(), filepath.Join(root, dir))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := bom.WriteCycloneDX(&out, m, bom.CycloneDXOptions{Timestamp: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ToolVersion: "test"}); err != nil {
				t.Fatal(err)
			}
			testutil.ValidateJSON(t, schema, out.Bytes())
			golden(t, name+".cdx.json", out.Bytes())
			var spdx bytes.Buffer
			if err := bom.WriteSPDX(&spdx, m, bom.SPDXOptions{Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Tool: "violet test"}); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".spdx.json", spdx.Bytes())
			var check bytes.Buffer
			bom.Check(m).WriteText(&check, m.Name)
			golden(t, name+".check.txt", check.Bytes())
		})
	}
}

// TestReadFixtures checks what the reader finds in each fixture, field by
// field, where a golden diff would hide a regression in noise.
func TestReadFixtures(t *testing.T) {
	root := filepath.Join("..", "testdata", "bom")
	read := func(dir string) *bom.Model {
		m, err := bom.Read(context.Background(), filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	cache := read(fixtures["hf-cache"])
	if cache.Group != "violet-test" || cache.Name != "tiny-llama" || len(cache.Version) != 40 ||
		cache.PURL != "pkg:huggingface/violet-test/tiny-llama@"+cache.Version {
		t.Errorf("cache snapshot: %q %q %q %q", cache.Group, cache.Name, cache.Version, cache.PURL)
	}
	base := read(fixtures["base-model"])
	for _, f := range base.Files {
		for _, c := range cache.Files {
			if f.Path == c.Path && f.SHA256 != c.SHA256 {
				t.Errorf("%s: the snapshot's link into blobs/ hashes to %s, the file to %s", f.Path, c.SHA256, f.SHA256)
			}
		}
	}
	lora := read(fixtures["lora-adapter"])
	if lora.Adapter == nil || lora.Adapter.Rank != 16 || lora.Adapter.Alpha != 32 || len(lora.BaseModels) == 0 ||
		lora.BaseModels[0].ID != "violet-test/tiny-llama" || lora.Card.Task != "text-generation" {
		t.Errorf("lora: adapter %+v, bases %+v, task %q", lora.Adapter, lora.BaseModels, lora.Card.Task)
	}
	deps := map[string]string{}
	for _, d := range lora.Dependencies {
		deps[d.Name] = d.Version
	}
	if deps["peft"] == "" || deps["trl"] == "" {
		t.Errorf("lora dependencies %v", deps)
	}
	full := read(fixtures["full-card"])
	c := full.Card
	if len(c.Metrics) < 2 || c.Environment == nil || c.Environment.CO2eqKg == 0 || len(c.UseCases) == 0 ||
		len(c.Limitations) == 0 || len(c.EthicalConsiderations) == 0 || c.EthicalConsiderations[0].Mitigation == "" {
		t.Errorf("full card: %+v", c)
	}
	roles := map[string]int{}
	for _, d := range full.Datasets {
		roles[d.Role]++
	}
	if roles["training"] == 0 || roles["evaluation"] == 0 {
		t.Errorf("full card datasets %+v", full.Datasets)
	}
	g := read(fixtures["gguf-only"])
	if g.Card.ArchitectureFamily != "llama" || len(g.Licenses) == 0 || len(g.BaseModels) == 0 {
		t.Errorf("gguf: %+v %v %v", g.Card, g.Licenses, g.BaseModels)
	}
}

// TestCycloneDX17: the 1.7 BOM validates against the 1.7 schema.
func TestCycloneDX17(t *testing.T) {
	schema := testutil.CycloneDXSchema(t, "1.7")
	m, err := bom.Read(context.Background(), filepath.Join("..", "testdata", "bom", fixtures["full-card"]))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := bom.WriteCycloneDX(&out, m, bom.CycloneDXOptions{Version: cdx.SpecVersion1_7}); err != nil {
		t.Fatal(err)
	}
	testutil.ValidateJSON(t, schema, out.Bytes())
}
