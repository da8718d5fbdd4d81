package bom

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/violet-mlsecops/violet/analyzer/gguf"
	"github.com/violet-mlsecops/violet/deps"
)

// configParameters are the config.json keys recorded as the model's
// technical parameters.
var configParameters = []string{"torch_dtype", "hidden_size", "intermediate_size", "num_hidden_layers",
	"num_attention_heads", "num_key_value_heads", "vocab_size", "max_position_embeddings", "rope_theta",
	"sliding_window", "num_labels", "hidden_act", "n_layer", "n_embd", "n_head", "n_positions", "d_model"}

// architectureTasks maps the suffix of a transformers architecture to the
// task it does, when the card names none.
var architectureTasks = []struct{ suffix, task string }{
	{"ForCausalLM", "text-generation"},
	{"LMHeadModel", "text-generation"},
	{"ForSequenceClassification", "text-classification"},
	{"ForTokenClassification", "token-classification"},
	{"ForQuestionAnswering", "question-answering"},
	{"ForMaskedLM", "fill-mask"},
	{"ForSeq2SeqLM", "text2text-generation"},
	{"ForImageClassification", "image-classification"},
	{"ForObjectDetection", "object-detection"},
	{"ForSpeechSeq2Seq", "automatic-speech-recognition"},
	{"ForCTC", "automatic-speech-recognition"},
	{"ForAudioClassification", "audio-classification"},
	{"ForImageTextToText", "image-text-to-text"},
}

// taskIO are the input and output formats of each task.
var taskIO = map[string][2][]string{
	"text-generation":              {{"text"}, {"text"}},
	"text2text-generation":         {{"text"}, {"text"}},
	"text-classification":          {{"text"}, {"label"}},
	"token-classification":         {{"text"}, {"label per token"}},
	"question-answering":           {{"text"}, {"text span"}},
	"fill-mask":                    {{"text"}, {"text"}},
	"summarization":                {{"text"}, {"text"}},
	"translation":                  {{"text"}, {"text"}},
	"feature-extraction":           {{"text"}, {"embedding"}},
	"sentence-similarity":          {{"text"}, {"similarity score"}},
	"image-classification":         {{"image"}, {"label"}},
	"object-detection":             {{"image"}, {"bounding boxes and labels"}},
	"image-text-to-text":           {{"image", "text"}, {"text"}},
	"text-to-image":                {{"text"}, {"image"}},
	"automatic-speech-recognition": {{"audio"}, {"text"}},
	"audio-classification":         {{"audio"}, {"label"}},
	"text-to-speech":               {{"text"}, {"audio"}},
}

// readConfig reads config.json: the architecture, the technical
// parameters, and the transformers version that wrote it.
func (r *reader) readConfig() {
	var c map[string]any
	if !r.readJSON("config.json", &c) {
		return
	}
	card := &r.m.Card
	if s, ok := c["model_type"].(string); ok {
		card.ArchitectureFamily = s
	}
	if list, ok := c["architectures"].([]any); ok && len(list) > 0 {
		card.Architecture, _ = list[0].(string)
	}
	for _, k := range configParameters {
		if v, ok := c[k]; ok && v != nil {
			card.Parameters = append(card.Parameters, Property{Name: k, Value: scalar(v)})
		}
	}
	if q, ok := c["quantization_config"].(map[string]any); ok {
		if s, ok := q["quant_method"].(string); ok {
			card.Parameters = append(card.Parameters, Property{Name: "quantization", Value: s})
		}
	}
	if v, ok := c["transformers_version"].(string); ok && v != "" {
		r.addPackage("transformers", v, "config.json")
	}
}

// scalar writes a JSON scalar as text.
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%f", x), "0"), ".")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// readAdapter reads a PEFT adapter_config.json.
func (r *reader) readAdapter() {
	var c struct {
		PeftType      string  `json:"peft_type"`
		R             int     `json:"r"`
		Alpha         float64 `json:"lora_alpha"`
		Dropout       float64 `json:"lora_dropout"`
		TargetModules any     `json:"target_modules"`
		TaskType      string  `json:"task_type"`
		BaseModel     string  `json:"base_model_name_or_path"`
		PeftVersion   string  `json:"peft_version"`
	}
	if !r.readJSON("adapter_config.json", &c) || c.PeftType == "" {
		return
	}
	a := &Adapter{Type: c.PeftType, Rank: c.R, Alpha: c.Alpha, Dropout: c.Dropout, TaskType: c.TaskType, BaseModel: c.BaseModel, Library: "peft"}
	switch t := c.TargetModules.(type) {
	case string:
		a.TargetModules = []string{t}
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok {
				a.TargetModules = append(a.TargetModules, s)
			}
		}
	}
	if c.PeftVersion != "" {
		a.Library = "peft " + c.PeftVersion
		r.addPackage("peft", c.PeftVersion, "adapter_config.json")
	}
	r.m.Adapter = a
	if c.BaseModel != "" {
		r.addBase(c.BaseModel, "adapter")
	}
}

// hubID matches a Hugging Face hub id (org/name).
var hubID = regexp.MustCompile(`^[A-Za-z0-9][\w.-]*/[\w.-]+$`)

// addBase records a base model once.
func (r *reader) addBase(id, relation string) {
	id = strings.TrimSpace(id)
	if id == "" {
		return
	}
	for i, b := range r.m.BaseModels {
		if b.ID == id {
			if b.Relation == "base" {
				r.m.BaseModels[i].Relation = relation
			}
			return
		}
	}
	ref := ModelRef{ID: id, Relation: relation}
	if hubID.MatchString(id) {
		ref.PURL = huggingFacePURL(id, "")
	}
	r.m.BaseModels = append(r.m.BaseModels, ref)
}

// huggingFacePURL is the package URL of a hub model.
func huggingFacePURL(id, rev string) string {
	org, name, _ := strings.Cut(id, "/")
	p := "pkg:huggingface/" + strings.ToLower(org) + "/" + name
	if rev != "" {
		p += "@" + rev
	}
	return p
}

// readGGUF reads the general.* metadata of the model's GGUF files (the
// first one that has it): name, license, organization, base models,
// datasets, languages, tags.
func (r *reader) readGGUF() {
	for _, f := range r.m.Files {
		if !strings.HasSuffix(strings.ToLower(f.Path), ".gguf") {
			continue
		}
		real, ok := inside(filepath.Join(r.dir, filepath.FromSlash(f.Path)), r.boundary)
		if !ok {
			continue
		}
		fh, err := os.Open(real)
		if err != nil {
			continue
		}
		h, err := gguf.ParseHeader(fh, f.Size)
		fh.Close()
		if err != nil || len(h.General) == 0 && h.Architecture == "" {
			continue
		}
		r.applyGGUF(h)
		return
	}
}

// applyGGUF fills the fields the card and configs left empty.
func (r *reader) applyGGUF(h *gguf.Header) {
	g := func(k string) string {
		if v := h.General[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	m, card := r.m, &r.m.Card
	if card.ArchitectureFamily == "" {
		card.ArchitectureFamily = h.Architecture
	}
	if name := g("general.name"); name != "" && m.Description == "" {
		m.Description = name
	}
	if m.Group == "" {
		m.Group = g("general.organization")
	}
	if lic := g("general.license"); lic != "" && len(m.Licenses) == 0 {
		m.Licenses = []string{spdxLicense(lic)}
	}
	if s := g("general.size_label"); s != "" {
		card.Parameters = append(card.Parameters, Property{Name: "size_label", Value: s})
	}
	for _, k := range []string{"general.file_type", "general.quantization_version"} {
		if s := g(k); s != "" {
			card.Parameters = append(card.Parameters, Property{Name: strings.TrimPrefix(k, "general."), Value: s})
		}
	}
	m.Languages = appendNew(m.Languages, h.General["general.languages"]...)
	m.Tags = appendNew(m.Tags, h.General["general.tags"]...)
	for i := range 16 {
		prefix := fmt.Sprintf("general.base_model.%d.", i)
		name, org, url := g(prefix+"name"), g(prefix+"organization"), g(prefix+"repo_url")
		if name == "" && url == "" {
			break
		}
		id := strings.TrimPrefix(url, "https://huggingface.co/")
		if id == url || id == "" {
			id = name
			if org != "" {
				id = org + "/" + name
			}
		}
		r.addBase(id, "quantized")
	}
	for _, d := range h.General["general.datasets"] {
		r.addDataset(Dataset{Name: d, Role: "training"})
	}
	for i := range 16 {
		prefix := fmt.Sprintf("general.dataset.%d.", i)
		name, url := g(prefix+"name"), g(prefix+"repo_url")
		if name == "" && url == "" {
			break
		}
		r.addDataset(Dataset{Name: name, URL: url, Role: "training"})
	}
}

// appendNew appends the items of add not in list yet.
func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		if a != "" && !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}

// readDependencies reads the Python packages of the dependency files at
// the top of the model folder (requirements, lock files, conda
// environments, pyproject.toml), with the parsers of violet deps. Lock
// files are read first, so a package's version and source are the pinned
// ones when a lock file has it. A file that does not parse is left out:
// the BOM lists what is known.
func (r *reader) readDependencies() {
	var locks, others []File
	for _, f := range r.m.Files {
		if strings.Contains(f.Path, "/") || deps.FileKind(f.Path) == "" {
			continue
		}
		if deps.IsLockFile(f.Path) {
			locks = append(locks, f)
		} else {
			others = append(others, f)
		}
	}
	for _, f := range append(locks, others...) {
		man, err := deps.ParseFileWithin(filepath.Join(r.dir, f.Path), r.dir)
		if err != nil {
			continue
		}
		for _, p := range man.Packages {
			if p.Name != "" && (p.Ecosystem == "" || p.Ecosystem == deps.EcosystemPyPI) {
				r.addPackage(p.Name, p.Version, f.Path)
			}
		}
	}
}

// addPackage records a dependency once, keeping the first version found.
func (r *reader) addPackage(name, version, source string) {
	norm := normalizePackage(name)
	for i, p := range r.m.Dependencies {
		if normalizePackage(p.Name) == norm {
			if p.Version == "" && version != "" {
				r.m.Dependencies[i].Version, r.m.Dependencies[i].PURL = version, pypiPURL(norm, version)
			}
			return
		}
	}
	r.m.Dependencies = append(r.m.Dependencies, Package{Name: name, Version: version, PURL: pypiPURL(norm, version), Source: source})
}

// separatorsRE are the runs PEP 503 folds into one dash.
var separatorsRE = regexp.MustCompile(`[-_.]+`)

// normalizePackage is a Python package name as PEP 503 compares them.
func normalizePackage(name string) string {
	return strings.ToLower(separatorsRE.ReplaceAllString(name, "-"))
}

// pypiPURL is the package URL of a PyPI package.
func pypiPURL(name, version string) string {
	p := "pkg:pypi/" + name
	if version != "" {
		p += "@" + version
	}
	return p
}
