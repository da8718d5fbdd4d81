package bom

import (
	"fmt"
	"io"
)

// Requirement is one field a compliance review expects in an ML-BOM.
type Requirement struct {
	// Field names the field.
	Field string `json:"field"`
	// Present says whether the model has it.
	Present bool `json:"present"`
	// Why says why reviews ask for it; Fix, where it comes from.
	Why string `json:"why"`
	Fix string `json:"fix"`
}

// Completeness is the result of Check.
type Completeness struct {
	// Score is the percentage of requirements present.
	Score int `json:"score"`
	// Requirements are every requirement, present or not.
	Requirements []Requirement `json:"requirements"`
}

// requirement is a row of the table Check applies.
type requirement struct {
	field, why, fix string
	present         func(m *Model) bool
}

// requirements are the fields that the EU AI Act's technical documentation,
// NIST AI RMF and procurement questionnaires ask about, and where a model
// folder gets them.
var requirements = []requirement{
	{"name", "identifies the model", "the folder name, or the hub id of a cache snapshot", func(m *Model) bool { return m.Name != "" }},
	{"supplier", "who published the model, for accountability", "download the model into the Hugging Face cache, or set general.organization in a GGUF file", func(m *Model) bool { return m.Group != "" }},
	{"version", "pins exactly which weights were reviewed", "use a Hugging Face cache snapshot (its folder is the commit)", func(m *Model) bool { return m.Version != "" }},
	{"license", "legal review of use and redistribution", "license: in the model card's front matter", func(m *Model) bool { return len(m.Licenses) > 0 }},
	{"weight hashes", "integrity of the reviewed weights", "the model folder holds weight files", func(m *Model) bool {
		for _, f := range m.Files {
			if f.Kind == KindWeights && f.SHA256 != "" {
				return true
			}
		}
		return false
	}},
	{"description", "what the model is", "a first paragraph, or a Model Description section, in README.md", func(m *Model) bool { return m.Description != "" }},
	{"task", "what the model does", "pipeline_tag: in the front matter, or architectures in config.json", func(m *Model) bool { return m.Card.Task != "" }},
	{"architecture", "the model's family and architecture", "model_type and architectures in config.json", func(m *Model) bool { return m.Card.Architecture != "" || m.Card.ArchitectureFamily != "" }},
	{"training data", "provenance and rights of the training data", "datasets: in the front matter", func(m *Model) bool {
		for _, d := range m.Datasets {
			if d.Role == "training" {
				return true
			}
		}
		return false
	}},
	{"lineage", "which model it derives from (fine-tunes inherit their base's risks)", "base_model: in the front matter, or adapter_config.json", func(m *Model) bool {
		return len(m.BaseModels) > 0 || m.Card.Approach == "self-supervised"
	}},
	{"intended use", "what the model may be used for", "a Uses / Direct Use section in README.md", func(m *Model) bool { return len(m.Card.UseCases) > 0 }},
	{"limitations", "known failure modes", "a Bias, Risks, and Limitations section in README.md", func(m *Model) bool { return len(m.Card.Limitations) > 0 }},
	{"ethical considerations", "risks to people and their mitigations", "Bias, Risks and Recommendations sections in README.md", func(m *Model) bool { return len(m.Card.EthicalConsiderations) > 0 }},
	{"evaluation", "measured performance", "model-index: results in the front matter", func(m *Model) bool { return len(m.Card.Metrics) > 0 }},
	{"environmental cost", "energy and emissions of training", "co2_eq_emissions: in the front matter, or an Environmental Impact section", func(m *Model) bool { return m.Card.Environment != nil }},
	{"dependencies", "the software the model needs", "transformers_version in config.json, a requirements or lock file beside the model", func(m *Model) bool { return len(m.Dependencies) > 0 }},
}

// Check says which of the fields a compliance review expects m has.
func Check(m *Model) Completeness {
	var c Completeness
	n := 0
	for _, r := range requirements {
		ok := r.present(m)
		if ok {
			n++
		}
		c.Requirements = append(c.Requirements, Requirement{Field: r.field, Present: ok, Why: r.why, Fix: r.fix})
	}
	c.Score = n * 100 / len(requirements)
	return c
}

// WriteText writes the completeness report for a person.
func (c Completeness) WriteText(w io.Writer, name string) {
	present := 0
	for _, r := range c.Requirements {
		if r.Present {
			present++
		}
	}
	fmt.Fprintf(w, "ML-BOM completeness of %s: %d%% (%d of %d fields)\n", name, c.Score, present, len(c.Requirements))
	for _, r := range c.Requirements {
		mark := "ok     "
		if !r.Present {
			mark = "MISSING"
		}
		fmt.Fprintf(w, "  %s  %-22s %s", mark, r.Field, r.Why)
		if !r.Present {
			fmt.Fprintf(w, "; add it: %s", r.Fix)
		}
		fmt.Fprintln(w)
	}
}
