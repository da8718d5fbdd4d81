package bom_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/violet-mlsecops/violet/bom"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/testutil"
)

// richModel is a model with every field set.
func richModel() *bom.Model {
	return &bom.Model{
		Name: "tiny-llama-lora", Group: "violet-test", Version: "0123456789abcdef0123456789abcdef01234567",
		PURL:        "pkg:huggingface/violet-test/tiny-llama-lora@0123456789abcdef0123456789abcdef01234567",
		Description: "A LoRA adapter.", Licenses: []string{"Apache-2.0", "LLAMA-3.1"}, Authors: []string{"Violet"},
		Languages: []string{"en"}, Tags: []string{"lora", "sft"},
		Files: []bom.File{{Path: "adapter_model.safetensors", Size: 10, SHA256: strings.Repeat("ab", 32), Kind: bom.KindWeights}, {Path: "README.md", Size: 5, SHA256: strings.Repeat("cd", 32), Kind: bom.KindCard}},
		Card: bom.Card{Approach: "supervised", Task: "text-generation", ArchitectureFamily: "llama", Architecture: "LlamaForCausalLM",
			Inputs: []string{"text"}, Outputs: []string{"text"}, Parameters: []bom.Property{{Name: "hidden_size", Value: "64"}},
			Metrics: []bom.Metric{{Type: "accuracy", Value: "0.91", Dataset: "imdb"}}, Users: []string{"researchers"},
			UseCases: []string{"chat"}, Limitations: []string{"English only"}, Tradeoffs: []string{"small"},
			EthicalConsiderations: []bom.Risk{{Name: "bias", Mitigation: "review"}}, FairnessAssessments: []string{"not assessed"},
			Environment:       &bom.Environment{CO2eqKg: 12.5, EnergyKWh: 40, Hardware: "1x A100", HoursUsed: 3, CloudProvider: "GCP", Region: "europe-west4", Activity: "fine-tuning"},
			TrainingProcedure: "SFT for one epoch."},
		BaseModels:   []bom.ModelRef{{ID: "violet-test/tiny-llama", Relation: "adapter", PURL: "pkg:huggingface/violet-test/tiny-llama"}},
		Adapter:      &bom.Adapter{Type: "LORA", Rank: 16, Alpha: 32, Dropout: 0.05, TargetModules: []string{"q_proj", "v_proj"}, TaskType: "CAUSAL_LM", BaseModel: "violet-test/tiny-llama", Library: "peft"},
		Datasets:     []bom.Dataset{{Name: "violet-test/chat", URL: "https://huggingface.co/datasets/violet-test/chat", Role: "training"}, {Name: "imdb", Role: "evaluation", Split: "test"}},
		Dependencies: []bom.Package{{Name: "transformers", Version: "4.46.3", PURL: "pkg:pypi/transformers@4.46.3", Source: "config.json"}},
		Findings:     []finding.Finding{finding.New(finding.PickleProcess, finding.Location{Path: "adapter_model.safetensors", Offset: 12}, "Pickle starts a process.", "posix.system('id')")},
	}
}

// TestCycloneDXValidates: the BOM of every model validates against the
// official schema of the version it claims.
func TestCycloneDXValidates(t *testing.T) {
	for _, v := range []struct {
		spec cdx.SpecVersion
		name string
	}{{cdx.SpecVersion1_6, "1.6"}, {cdx.SpecVersion1_7, "1.7"}} {
		schema := testutil.CycloneDXSchema(t, v.name)
		for _, m := range []*bom.Model{richModel(), {Name: "bare"}} {
			var out bytes.Buffer
			if err := bom.WriteCycloneDX(&out, m, bom.CycloneDXOptions{Version: v.spec, ToolVersion: "test"}); err != nil {
				t.Fatal(err)
			}
			testutil.ValidateJSON(t, schema, out.Bytes())
			if !bytes.Contains(out.Bytes(), []byte(`"specVersion": "`+v.name+`"`)) {
				t.Errorf("%s: wrong specVersion", v.name)
			}
		}
	}
}

// TestModelCardProperties: the model card's properties, which
// cyclonedx-go drops, are written and read back.
func TestModelCardProperties(t *testing.T) {
	var out bytes.Buffer
	if err := bom.WriteCycloneDX(&out, richModel(), bom.CycloneDXOptions{}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Metadata struct {
			Component struct {
				ModelCard struct {
					Properties []cdx.Property `json:"properties"`
				} `json:"modelCard"`
			} `json:"component"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	props := doc.Metadata.Component.ModelCard.Properties
	want := map[string]string{"violet:adapter:rank": "16", "violet:adapter:type": "LORA", "violet:config:hidden_size": "64"}
	for name, value := range want {
		found := false
		for _, p := range props {
			found = found || p.Name == name && p.Value == value
		}
		if !found {
			t.Errorf("modelCard.properties lacks %s=%s: %v", name, value, props)
		}
	}
	d, err := bom.DecodeCycloneDX(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.ModelCardProperties["model"], props) {
		t.Errorf("read back %v", d.ModelCardProperties)
	}
}

// TestOfficialExamplesRoundTrip: the ML example BOMs of the CycloneDX
// specification go through Violet's types and come out the same.
func TestOfficialExamplesRoundTrip(t *testing.T) {
	dir := testutil.SharedDir(t, "specs", "cyclonedx")
	for _, name := range []string{"valid-machine-learning-1.6.json", "valid-machine-learning-considerations-env-1.6.json"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			d, err := bom.DecodeCycloneDX(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := d.Encode(&out, cdx.SpecVersion1_6); err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(want, got) {
				w, _ := json.MarshalIndent(want, "", " ")
				g, _ := json.MarshalIndent(got, "", " ")
				t.Errorf("round trip changed the BOM:\nwant %s\ngot  %s", w, g)
			}
		})
	}
}

// TestFindingsAsVulnerabilities: a finding becomes a vulnerability of the
// file it is in, rated by its severity, with its ATLAS techniques.
func TestFindingsAsVulnerabilities(t *testing.T) {
	d := bom.BuildCycloneDX(richModel(), bom.CycloneDXOptions{})
	vs := *d.BOM.Vulnerabilities
	if len(vs) != 1 {
		t.Fatalf("vulnerabilities %+v", vs)
	}
	v := vs[0]
	if v.ID != finding.PickleProcess || (*v.Ratings)[0].Severity != cdx.SeverityCritical || (*v.Affects)[0].Ref != "file:adapter_model.safetensors" ||
		v.References == nil || len(*v.References) == 0 || (*v.References)[0].Source.Name != "MITRE ATLAS" {
		t.Errorf("vulnerability %+v", v)
	}
}
