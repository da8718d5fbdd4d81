package bom

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/finding"
)

var updateSPDX = flag.Bool("update-spdx", false, "rewrite the SPDX golden files in testdata/spdx")

// spdxTestModel is a LoRA adapter of a hub model, trained on one dataset
// and evaluated on another, with metrics, energy, files, dependencies and
// a finding.
func spdxTestModel() *Model {
	return &Model{
		Name:        "llama-3.1-8b-support-lora",
		Group:       "acme-ai",
		Version:     "3f1c2a9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
		PURL:        "pkg:huggingface/acme-ai/llama-3.1-8b-support-lora@3f1c2a9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
		Description: "A LoRA adapter that tunes Llama 3.1 8B for customer support chats.",
		Licenses:    []string{"llama3.1", "apache-2.0"},
		Authors:     []string{"acme-ai", "Jane Doe"},
		Released:    time.Date(2025, 3, 14, 9, 30, 0, 0, time.FixedZone("CET", 3600)),
		Languages:   []string{"en", "fr"},
		Tags:        []string{"peft", "lora"},
		Files: []File{
			{Path: "adapter_model.safetensors", Size: 167832240, SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Kind: KindWeights, Format: "safetensors"},
			{Path: "adapter_config.json", Size: 712, SHA256: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752", Kind: KindConfig},
			{Path: "README.md", Size: 5120, SHA256: "fd61a03af4f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13", Kind: KindCard},
			{Path: "training/optimizer.pt", Size: 335664480, SHA256: "a4e624d686e03ed2767c0abd85c14426b0b1157d2ce81d27bb4fe4f6f01d688a", Kind: KindOther, Format: "pickle"},
		},
		Card: Card{
			Approach:           "supervised",
			Task:               "text-generation",
			ArchitectureFamily: "llama",
			Architecture:       "LlamaForCausalLM",
			Inputs:             []string{"text"},
			Outputs:            []string{"text"},
			Parameters:         []Property{{Name: "torch_dtype", Value: "bfloat16"}, {Name: "max_position_embeddings", Value: "131072"}},
			Metrics: []Metric{
				{Type: "accuracy", Value: "0.874", Dataset: "acme-ai/support-eval", Task: "text-generation"},
				{Type: "rougeL", Name: "ROUGE-L", Value: "41.2", Dataset: "acme-ai/support-eval"},
			},
			Users:                 []string{"customer support teams"},
			UseCases:              []string{"drafting replies to support tickets"},
			Limitations:           []string{"English and French only"},
			Tradeoffs:             []string{"lower recall on rare products"},
			EthicalConsiderations: []Risk{{Name: "may reveal customer data seen in training", Mitigation: "training data was anonymized"}},
			Environment:           &Environment{CO2eqKg: 1.25, EnergyKWh: 3.5, Hardware: "1x A100 80GB", HoursUsed: 6, CloudProvider: "example-cloud", Region: "eu-west", Activity: "fine-tuning"},
			TrainingProcedure:     "Three epochs of supervised fine-tuning on anonymized support chats.",
		},
		BaseModels: []ModelRef{{ID: "meta-llama/Llama-3.1-8B-Instruct", Relation: "adapter", PURL: "pkg:huggingface/meta-llama/Llama-3.1-8B-Instruct"}},
		Adapter: &Adapter{
			Type: "LORA", Rank: 16, Alpha: 32, Dropout: 0.05,
			TargetModules: []string{"q_proj", "v_proj"}, TaskType: "CAUSAL_LM",
			BaseModel: "meta-llama/Llama-3.1-8B-Instruct", Library: "peft 0.12.0",
		},
		Datasets: []Dataset{
			{Name: "acme-ai/support-chats", URL: "https://huggingface.co/datasets/acme-ai/support-chats", Role: "training"},
			{Name: "acme-ai/support-eval", URL: "https://huggingface.co/datasets/acme-ai/support-eval", Role: "evaluation", Split: "test", Config: "default"},
		},
		Dependencies: []Package{
			{Name: "transformers", Version: "4.44.0", PURL: "pkg:pypi/transformers@4.44.0", Source: "config.json"},
			{Name: "peft", Version: "0.12.0", PURL: "pkg:pypi/peft@0.12.0", Source: "requirements.txt"},
		},
		Findings: []finding.Finding{{
			Rule: "PICKLE-IMPORT", Severity: finding.High, Title: "Pickle imports a callable",
			Message:  "The pickle imports torch._utils._rebuild_tensor_v2.",
			Location: finding.Location{Path: "/models/lora/training/optimizer.pt", Offset: -1},
		}},
	}
}

var spdxTestOptions = SPDXOptions{
	Created: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
	Tool:    "violet dev",
}

func writeSPDXTest(t *testing.T, m *Model, opts SPDXOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSPDX(&buf, m, opts); err != nil {
		t.Fatalf("WriteSPDX: %v", err)
	}
	return buf.Bytes()
}

func TestSPDXGolden(t *testing.T) {
	got := writeSPDXTest(t, spdxTestModel(), spdxTestOptions)
	golden := filepath.Join("testdata", "spdx", "lora-adapter.golden.json")
	if *updateSPDX {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./bom -run SPDX -update-spdx)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test ./bom -run SPDX -update-spdx and review the diff)", golden)
	}
	validateSPDX(t, got)
}

func TestSPDXValidMinimal(t *testing.T) {
	validateSPDX(t, writeSPDXTest(t, &Model{Name: "model.gguf"}, SPDXOptions{}))
	validateSPDX(t, writeSPDXTest(t, &Model{Name: "x", Group: "y z", Datasets: []Dataset{{Name: "d", Role: "training"}}}, spdxTestOptions))
}

func TestSPDXSpecRestrictions(t *testing.T) {
	// The spec's "External properties restrictions" of AIPackage and
	// DatasetPackage (3.0.1 text; not in its SHACL or JSON schema): met
	// for every property the test model knows.
	doc := decodeSPDX(t, writeSPDXTest(t, spdxTestModel(), spdxTestOptions))
	for _, n := range doc.Graph {
		switch n["type"] {
		case "ai_AIPackage":
			if n["spdxId"] != rootOf(doc) {
				continue
			}
			for _, p := range []string{"suppliedBy", "software_downloadLocation", "software_packageVersion", "software_primaryPurpose", "releaseTime"} {
				if _, ok := n[p]; !ok {
					t.Errorf("ai_AIPackage lacks %s", p)
				}
			}
		case "dataset_DatasetPackage":
			for _, p := range []string{"software_downloadLocation", "software_primaryPurpose"} {
				if _, ok := n[p]; !ok {
					t.Errorf("dataset_DatasetPackage %v lacks %s", n["name"], p)
				}
			}
		}
	}
}

func rootOf(doc spdxTestDoc) any {
	for _, n := range doc.Graph {
		if n["type"] == "SpdxDocument" {
			return n["rootElement"].([]any)[0]
		}
	}
	return nil
}

func TestSPDXDeterministic(t *testing.T) {
	a := writeSPDXTest(t, spdxTestModel(), spdxTestOptions)
	b := writeSPDXTest(t, spdxTestModel(), spdxTestOptions)
	if !bytes.Equal(a, b) {
		t.Fatal("two writes of the same model differ")
	}
	other := spdxTestModel()
	other.Version = "main"
	c := writeSPDXTest(t, other, spdxTestOptions)
	ns := func(doc []byte) string {
		for _, n := range decodeSPDX(t, doc).Graph {
			if n["type"] == "SpdxDocument" {
				id := n["spdxId"].(string)
				return strings.TrimSuffix(id, "document")
			}
		}
		return ""
	}
	if !strings.HasPrefix(ns(a), SPDXDefaultNamespace) || ns(a) == ns(c) {
		t.Errorf("namespaces %q and %q: want distinct, under %s", ns(a), ns(c), SPDXDefaultNamespace)
	}
	custom := spdxTestOptions
	custom.Namespace = "https://example.com/sbom/42"
	if got := ns(writeSPDXTest(t, spdxTestModel(), custom)); got != "https://example.com/sbom/42/" {
		t.Errorf("custom namespace: got %q", got)
	}
	custom.Namespace = "not a uri"
	if err := WriteSPDX(&bytes.Buffer{}, spdxTestModel(), custom); err == nil {
		t.Error("relative namespace accepted")
	}
	before := time.Now().UTC().Truncate(time.Second)
	doc := decodeSPDX(t, writeSPDXTest(t, &Model{Name: "m"}, SPDXOptions{}))
	created, err := time.Parse(time.RFC3339, doc.Graph[0]["created"].(string))
	if err != nil || created.Before(before) || created.After(time.Now().Add(time.Second)) {
		t.Errorf("zero Created: got %v, %v; want now", created, err)
	}
}

func TestSPDXLicenseExpression(t *testing.T) {
	for in, want := range map[string]string{
		"apache-2.0":      "Apache-2.0",
		"MIT":             "MIT",
		"cc-by-nc-4.0":    "CC-BY-NC-4.0",
		"llama3.1":        "LicenseRef-llama3.1",
		"other":           "LicenseRef-other",
		"my license":      "LicenseRef-my-license",
		"unknown":         "NOASSERTION",
		"LicenseRef-acme": "LicenseRef-acme",
	} {
		if got := spdx3LicenseExpression(in); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestSPDXDatasetType(t *testing.T) {
	for _, c := range []struct {
		card Card
		want string
	}{
		{Card{Task: "text-generation"}, "text"},
		{Card{Task: "image-classification"}, "image"},
		{Card{Task: "automatic-speech-recognition"}, "audio"},
		{Card{Inputs: []string{"image"}, Task: "image-to-text"}, "image"},
		{Card{Task: "tabular-classification"}, "structured"},
		{Card{}, "noAssertion"},
	} {
		if got := spdx3DatasetType(c.card); got != c.want {
			t.Errorf("%+v: got %q, want %q", c.card, got, c.want)
		}
	}
}

// spdxClass is what the SPDX 3.0.1 model says of a class: its required
// properties and every property it has (its own and inherited), in the
// compact names of the JSON-LD context.
type spdxClass struct {
	required, allowed []string
}

// spdxClasses are the classes WriteSPDX emits. The lists were generated
// from github.com/spdx/tools-golang v0.6.0-rc4, spdx/v3/v3_0/model.go,
// whose struct tags are generated from the SPDX 3.0.1 SHACL model
// (https://spdx.org/rdf/3.0.1/spdx-model.ttl): every field's iri tag
// mapped to its compact name in https://spdx.org/rdf/3.0.1/spdx-context.jsonld
// (Core terms bare, the other profiles as prefix_name), required:"true"
// tags as required. "type", "spdxId" and "@id" are the context's aliases
// and are checked separately.
var spdxClasses = map[string]spdxClass{
	"ai_AIPackage": {
		required: []string{"creationInfo"},
		allowed:  []string{"ai_autonomyType", "ai_domain", "ai_energyConsumption", "ai_hyperparameter", "ai_informationAboutApplication", "ai_informationAboutTraining", "ai_limitation", "ai_metric", "ai_metricDecisionThreshold", "ai_modelDataPreprocessing", "ai_modelExplainability", "ai_safetyRiskAssessment", "ai_standardCompliance", "ai_typeOfModel", "ai_useSensitivePersonalInformation", "builtTime", "comment", "creationInfo", "description", "extension", "externalIdentifier", "externalRef", "name", "originatedBy", "releaseTime", "software_additionalPurpose", "software_attributionText", "software_contentIdentifier", "software_copyrightText", "software_downloadLocation", "software_homePage", "software_packageUrl", "software_packageVersion", "software_primaryPurpose", "software_sourceInfo", "standardName", "summary", "suppliedBy", "supportLevel", "validUntilTime", "verifiedUsing"},
	},
	"Agent": {
		required: []string{"creationInfo"},
		allowed:  []string{"comment", "creationInfo", "description", "extension", "externalIdentifier", "externalRef", "name", "summary", "verifiedUsing"},
	},
	"Annotation": {
		required: []string{"annotationType", "creationInfo", "subject"},
		allowed:  []string{"annotationType", "comment", "contentType", "creationInfo", "description", "extension", "externalIdentifier", "externalRef", "name", "statement", "subject", "summary", "verifiedUsing"},
	},
	"CreationInfo": {
		required: []string{"created", "createdBy", "specVersion"},
		allowed:  []string{"comment", "created", "createdBy", "createdUsing", "specVersion"},
	},
	"dataset_DatasetPackage": {
		required: []string{"creationInfo", "dataset_datasetType"},
		allowed:  []string{"builtTime", "comment", "creationInfo", "dataset_anonymizationMethodUsed", "dataset_confidentialityLevel", "dataset_dataCollectionProcess", "dataset_dataPreprocessing", "dataset_datasetAvailability", "dataset_datasetNoise", "dataset_datasetSize", "dataset_datasetType", "dataset_datasetUpdateMechanism", "dataset_hasSensitivePersonalInformation", "dataset_intendedUse", "dataset_knownBias", "dataset_sensor", "description", "extension", "externalIdentifier", "externalRef", "name", "originatedBy", "releaseTime", "software_additionalPurpose", "software_attributionText", "software_contentIdentifier", "software_copyrightText", "software_downloadLocation", "software_homePage", "software_packageUrl", "software_packageVersion", "software_primaryPurpose", "software_sourceInfo", "standardName", "summary", "suppliedBy", "supportLevel", "validUntilTime", "verifiedUsing"},
	},
	"DictionaryEntry": {
		required: []string{"key"},
		allowed:  []string{"key", "value"},
	},
	"ai_EnergyConsumption": {
		required: nil,
		allowed:  []string{"ai_finetuningEnergyConsumption", "ai_inferenceEnergyConsumption", "ai_trainingEnergyConsumption"},
	},
	"ai_EnergyConsumptionDescription": {
		required: []string{"ai_energyQuantity", "ai_energyUnit"},
		allowed:  []string{"ai_energyQuantity", "ai_energyUnit"},
	},
	"software_File": {
		required: []string{"creationInfo"},
		allowed:  []string{"builtTime", "comment", "contentType", "creationInfo", "description", "extension", "externalIdentifier", "externalRef", "name", "originatedBy", "releaseTime", "software_additionalPurpose", "software_attributionText", "software_contentIdentifier", "software_copyrightText", "software_fileKind", "software_primaryPurpose", "standardName", "summary", "suppliedBy", "supportLevel", "validUntilTime", "verifiedUsing"},
	},
	"Hash": {
		required: []string{"algorithm", "hashValue"},
		allowed:  []string{"algorithm", "comment", "hashValue"},
	},
	"simplelicensing_LicenseExpression": {
		required: []string{"creationInfo", "simplelicensing_licenseExpression"},
		allowed:  []string{"comment", "creationInfo", "description", "extension", "externalIdentifier", "externalRef", "name", "simplelicensing_customIdToUri", "simplelicensing_licenseExpression", "simplelicensing_licenseListVersion", "summary", "verifiedUsing"},
	},
	"Organization": {
		required: []string{"creationInfo"},
		allowed:  []string{"comment", "creationInfo", "description", "extension", "externalIdentifier", "externalRef", "name", "summary", "verifiedUsing"},
	},
	"software_Package": {
		required: []string{"creationInfo"},
		allowed:  []string{"builtTime", "comment", "creationInfo", "description", "extension", "externalIdentifier", "externalRef", "name", "originatedBy", "releaseTime", "software_additionalPurpose", "software_attributionText", "software_contentIdentifier", "software_copyrightText", "software_downloadLocation", "software_homePage", "software_packageUrl", "software_packageVersion", "software_primaryPurpose", "software_sourceInfo", "standardName", "summary", "suppliedBy", "supportLevel", "validUntilTime", "verifiedUsing"},
	},
	"Relationship": {
		required: []string{"creationInfo", "from", "relationshipType", "to"},
		allowed:  []string{"comment", "completeness", "creationInfo", "description", "endTime", "extension", "externalIdentifier", "externalRef", "from", "name", "relationshipType", "startTime", "summary", "to", "verifiedUsing"},
	},
	"SoftwareAgent": {
		required: []string{"creationInfo"},
		allowed:  []string{"comment", "creationInfo", "description", "extension", "externalIdentifier", "externalRef", "name", "summary", "verifiedUsing"},
	},
	"SpdxDocument": {
		required: []string{"creationInfo"},
		allowed:  []string{"comment", "creationInfo", "dataLicense", "description", "element", "extension", "externalIdentifier", "externalRef", "import", "name", "namespaceMap", "profileConformance", "rootElement", "summary", "verifiedUsing"},
	},
	"Tool": {
		required: []string{"creationInfo"},
		allowed:  []string{"comment", "creationInfo", "description", "extension", "externalIdentifier", "externalRef", "name", "summary", "verifiedUsing"},
	},
}

// spdxVocabularies are the named individuals of the 3.0.1 vocabularies
// WriteSPDX uses (same source as spdxClasses).
var spdxVocabularies = map[string][]string{
	"relationshipType":        {"affects", "amendedBy", "ancestorOf", "availableFrom", "configures", "contains", "coordinatedBy", "copiedTo", "delegatedTo", "dependsOn", "descendantOf", "describes", "doesNotAffect", "expandsTo", "exploitCreatedBy", "fixedBy", "fixedIn", "foundBy", "generates", "hasAddedFile", "hasAssessmentFor", "hasAssociatedVulnerability", "hasConcludedLicense", "hasDataFile", "hasDeclaredLicense", "hasDeletedFile", "hasDependencyManifest", "hasDistributionArtifact", "hasDocumentation", "hasDynamicLink", "hasEvidence", "hasExample", "hasHost", "hasInput", "hasMetadata", "hasOptionalComponent", "hasOptionalDependency", "hasOutput", "hasPrerequisite", "hasProvidedDependency", "hasRequirement", "hasSpecification", "hasStaticLink", "hasTest", "hasTestCase", "hasVariant", "invokedBy", "modifiedBy", "other", "packagedBy", "patchedBy", "publishedBy", "reportedBy", "republishedBy", "serializedInArtifact", "testedOn", "trainedOn", "underInvestigationFor", "usesTool"},
	"software_primaryPurpose": {"application", "archive", "bom", "configuration", "container", "data", "device", "deviceDriver", "diskImage", "documentation", "evidence", "executable", "file", "filesystemImage", "firmware", "framework", "install", "library", "manifest", "model", "module", "operatingSystem", "other", "patch", "platform", "requirement", "source", "specification", "test"},
	"dataset_datasetType":     {"audio", "categorical", "graph", "image", "noAssertion", "numeric", "other", "sensor", "structured", "syntactic", "text", "timeseries", "timestamp", "video"},
	"ai_energyUnit":           {"kilowattHour", "megajoule", "other"},
	"algorithm":               {"adler32", "blake2b256", "blake2b384", "blake2b512", "blake3", "crystalsDilithium", "crystalsKyber", "falcon", "md2", "md4", "md5", "md6", "other", "sha1", "sha224", "sha256", "sha384", "sha3_224", "sha3_256", "sha3_384", "sha3_512", "sha512"},
	"annotationType":          {"other", "review"},
	"profileConformance":      {"ai", "build", "core", "dataset", "expandedLicensing", "extension", "lite", "security", "simpleLicensing", "software"},
	"software_fileKind":       {"directory", "file"},
}

// spdxReferences are the properties whose values are spdxIds of elements
// of the graph (or, for creationInfo, the CreationInfo blank node).
var spdxReferences = []string{"from", "to", "rootElement", "element", "suppliedBy", "originatedBy", "subject", "createdBy", "createdUsing"}

// spdxRelationshipEnds says which classes a relationship type's from and
// to may be in the documents WriteSPDX writes.
var spdxRelationshipEnds = map[string][2][]string{
	"contains":           {{"ai_AIPackage"}, {"software_File"}},
	"hasDeclaredLicense": {{"ai_AIPackage"}, {"simplelicensing_LicenseExpression"}},
	"trainedOn":          {{"ai_AIPackage"}, {"dataset_DatasetPackage"}},
	"testedOn":           {{"ai_AIPackage"}, {"dataset_DatasetPackage"}},
	"ancestorOf":         {{"ai_AIPackage"}, {"ai_AIPackage"}},
	"dependsOn":          {{"ai_AIPackage"}, {"software_Package"}},
}

var (
	spdxDateTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	spdxDecimalRE  = regexp.MustCompile(`^-?\d+(\.\d+)?$`)
	spdxPURLRE     = regexp.MustCompile(`^pkg:[a-z][a-z0-9.+-]*/[^@?#\s]+(@[^?#\s]+)?(\?[^#\s]*)?(#\S*)?$`)
	spdxSHA256RE   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	spdxLicenseRE  = regexp.MustCompile(`^(NOASSERTION|NONE|LicenseRef-[A-Za-z0-9.-]+|[A-Za-z0-9.+-]+)$`)
)

type spdxTestDoc struct {
	Context string           `json:"@context"`
	Graph   []map[string]any `json:"@graph"`
}

func decodeSPDX(t *testing.T, data []byte) spdxTestDoc {
	t.Helper()
	var doc spdxTestDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return doc
}

// validateSPDX checks a document's shape against the SPDX 3.0.1 model: the
// context, the CreationInfo, unique absolute spdxIds, each class's
// properties against spdxClasses (nested objects too), vocabularies,
// references that resolve, dates, decimals, purls and hashes.
func validateSPDX(t *testing.T, data []byte) {
	t.Helper()
	doc := decodeSPDX(t, data)
	if doc.Context != SPDXContext {
		t.Errorf("@context %q", doc.Context)
	}
	types := map[string]string{} // spdxId → type
	var infos int
	for _, n := range doc.Graph {
		typ, _ := n["type"].(string)
		if typ == "CreationInfo" {
			infos++
			if n["@id"] != "_:creationinfo" || n["specVersion"] != "3.0.1" {
				t.Errorf("CreationInfo %v", n)
			}
			continue
		}
		id, _ := n["spdxId"].(string)
		if u, err := url.Parse(id); err != nil || !u.IsAbs() || u.Host == "" || strings.ContainsAny(id, " \"<>{}|\\^`") {
			t.Errorf("%s: spdxId %q is not an absolute IRI", typ, id)
		}
		if _, dup := types[id]; dup {
			t.Errorf("duplicate spdxId %s", id)
		}
		types[id] = typ
		if n["creationInfo"] != "_:creationinfo" {
			t.Errorf("%s: creationInfo %v", id, n["creationInfo"])
		}
	}
	if infos != 1 {
		t.Errorf("%d CreationInfo nodes, want 1", infos)
	}
	var documents int
	for _, n := range doc.Graph {
		typ, _ := n["type"].(string)
		where := typ
		if id, ok := n["spdxId"].(string); ok {
			where = id
		}
		if typ == "SpdxDocument" {
			documents++
			if len(n["rootElement"].([]any)) != 1 {
				t.Errorf("rootElement %v", n["rootElement"])
			} else if r := n["rootElement"].([]any)[0].(string); types[r] != "ai_AIPackage" {
				t.Errorf("root element %s is a %s", r, types[r])
			}
			if len(n["element"].([]any)) != len(types)-1 {
				t.Errorf("element lists %d of the %d other elements", len(n["element"].([]any)), len(types)-1)
			}
		}
		checkSPDXNode(t, where, typ, n, types)
		if typ == "Relationship" {
			rt, _ := n["relationshipType"].(string)
			ends, ok := spdxRelationshipEnds[rt]
			if !ok {
				t.Errorf("%s: unexpected relationshipType %q", where, rt)
				continue
			}
			if from := types[n["from"].(string)]; !slices.Contains(ends[0], from) {
				t.Errorf("%s: %s from a %s", where, rt, from)
			}
			for _, to := range n["to"].([]any) {
				if typ := types[to.(string)]; !slices.Contains(ends[1], typ) {
					t.Errorf("%s: %s to a %s", where, rt, typ)
				}
			}
		}
	}
	if documents != 1 {
		t.Errorf("%d SpdxDocument elements, want 1", documents)
	}
}

// checkSPDXNode checks one node (element or nested object) of class typ.
func checkSPDXNode(t *testing.T, where, typ string, n map[string]any, types map[string]string) {
	t.Helper()
	class, ok := spdxClasses[typ]
	if !ok {
		t.Errorf("%s: class %q is not one the test knows", where, typ)
		return
	}
	for _, p := range class.required {
		if _, ok := n[p]; !ok {
			t.Errorf("%s: %s lacks required %s", where, typ, p)
		}
	}
	for p, v := range n {
		switch p {
		case "type":
			continue
		case "spdxId":
			if typ == "CreationInfo" || typ == "Hash" || typ == "DictionaryEntry" || strings.HasPrefix(typ, "ai_Energy") {
				t.Errorf("%s: %s has an spdxId", where, typ)
			}
			continue
		case "@id":
			if typ != "CreationInfo" {
				t.Errorf("%s: %s has @id", where, typ)
			}
			continue
		}
		if !slices.Contains(class.allowed, p) {
			t.Errorf("%s: %s has no property %q in SPDX 3.0.1", where, typ, p)
			continue
		}
		if s, ok := v.(string); ok && s == "" {
			t.Errorf("%s: empty %s", where, p)
		}
		if vocab, ok := spdxVocabularies[p]; ok {
			for _, x := range spdxList(v) {
				if !slices.Contains(vocab, x.(string)) {
					t.Errorf("%s: %s %q not in the 3.0.1 vocabulary", where, p, x)
				}
			}
		}
		if slices.Contains(spdxReferences, p) {
			for _, x := range spdxList(v) {
				if _, ok := types[x.(string)]; !ok {
					t.Errorf("%s: %s %v is not an element of the graph", where, p, x)
				}
			}
		}
		switch p {
		case "created", "releaseTime", "builtTime":
			if !spdxDateTimeRE.MatchString(v.(string)) {
				t.Errorf("%s: %s %v is not a UTC DateTime", where, p, v)
			}
		case "software_packageUrl":
			if !spdxPURLRE.MatchString(v.(string)) {
				t.Errorf("%s: %s %v is not a purl", where, p, v)
			}
		case "software_downloadLocation":
			if u, err := url.Parse(v.(string)); err != nil || !u.IsAbs() {
				t.Errorf("%s: %s %v is not an absolute URI", where, p, v)
			}
		case "ai_energyQuantity":
			if s, ok := v.(json.Number); !ok || !spdxDecimalRE.MatchString(string(s)) {
				t.Errorf("%s: %s %v is not a decimal number", where, p, v)
			}
		case "hashValue":
			if n["algorithm"] == "sha256" && !spdxSHA256RE.MatchString(v.(string)) {
				t.Errorf("%s: sha256 %v", where, v)
			}
		case "simplelicensing_licenseExpression":
			if !spdxLicenseRE.MatchString(v.(string)) {
				t.Errorf("%s: license expression %v", where, v)
			}
		case "ai_typeOfModel", "ai_domain", "to", "rootElement", "element", "createdBy", "createdUsing", "originatedBy",
			"profileConformance", "dataset_datasetType", "verifiedUsing", "ai_metric", "ai_hyperparameter",
			"ai_trainingEnergyConsumption", "ai_finetuningEnergyConsumption":
			if _, ok := v.([]any); !ok {
				t.Errorf("%s: %s is not a list", where, p)
			}
		}
		// Nested objects: Hash, DictionaryEntry, energy.
		for _, x := range spdxList(v) {
			if obj, ok := x.(map[string]any); ok {
				nt, _ := obj["type"].(string)
				checkSPDXNode(t, where+" "+p, nt, obj, types)
			}
		}
	}
}

func spdxList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// TestSPDXFixtures: the SPDX documents of the real fixture folders
// (testdata/bom) have the shape of the SPDX 3.0.1 model.
func TestSPDXFixtures(t *testing.T) {
	for _, dir := range []string{"base-model", "hf-cache/models--violet-test--tiny-llama", "lora-adapter", "full-card", "gguf-only"} {
		m, err := Read(context.Background(), filepath.Join("..", "testdata", "bom", dir))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := WriteSPDX(&out, m, SPDXOptions{Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		validateSPDX(t, out.Bytes())
	}
}
