// Package bom builds machine-learning bills of materials: what a model is,
// where it came from, what it was trained on, what it needs and what the
// scanner found. Read reads a model folder (or a Hugging Face cache
// snapshot, or a single model file) into a Model; the writers turn a Model
// into CycloneDX 1.6 or 1.7 JSON and SPDX 3.0.1 JSON-LD; Check says which
// fields a compliance review expects are missing.
package bom

import (
	"time"

	"github.com/violet-mlsecops/violet/finding"
)

// Model is everything known about one model, whatever the output format.
// Empty fields are unknown.
type Model struct {
	// Name is the model's name ("Llama-3.1-8B-Instruct").
	Name string `json:"name"`
	// Group is the organization or user that publishes it ("meta-llama").
	Group string `json:"group,omitempty"`
	// Version is the full commit of the repository when known (a Hugging
	// Face cache snapshot's folder name), else a version from the card.
	Version string `json:"version,omitempty"`
	// PURL is the package URL, pkg:huggingface/GROUP/NAME@VERSION when the
	// model comes from the Hugging Face hub.
	PURL string `json:"purl,omitempty"`
	// Description is the card's summary: its first paragraph of text.
	Description string `json:"description,omitempty"`
	// Licenses are SPDX license ids, or names when the card's license is
	// not an SPDX id ("llama3.1", "other").
	Licenses []string `json:"licenses,omitempty"`
	// Authors are the people or organizations the card names as authors.
	Authors []string `json:"authors,omitempty"`
	// Released is the release date of the card, if it gives one.
	Released time.Time `json:"released,omitzero"`
	// Languages are the languages the model handles (ISO 639 codes).
	Languages []string `json:"languages,omitempty"`
	// Tags are the card's tags.
	Tags []string `json:"tags,omitempty"`
	// Files are the model's files with their SHA-256 digests.
	Files []File `json:"files,omitempty"`
	// Card is the model card's content.
	Card Card `json:"card"`
	// BaseModels are the models this one was fine-tuned, merged,
	// quantized or adapted from (the card's base_model, an adapter's
	// base_model_name_or_path).
	BaseModels []ModelRef `json:"base_models,omitempty"`
	// Adapter describes a PEFT adapter (LoRA and its kin), when the folder
	// holds one instead of full weights.
	Adapter *Adapter `json:"adapter,omitempty"`
	// Datasets are the datasets the model was trained or evaluated on.
	Datasets []Dataset `json:"datasets,omitempty"`
	// Dependencies are the Python packages the model needs: transformers
	// at the version that wrote it, and the packages of the lockfiles
	// beside the model.
	Dependencies []Package `json:"dependencies,omitempty"`
	// Findings are the scanner's findings on the model's files, with --scan.
	Findings []finding.Finding `json:"findings,omitempty"`
	// Unread are the entries of the folder the BOM could not list: links
	// out of the folder, files and folders that could not be read. A BOM
	// with any is incomplete (violet bom exits 2).
	Unread []Unread `json:"unread,omitempty"`
}

// Unread is an entry of a model folder that the BOM does not cover.
type Unread struct {
	// Path is the entry's path in the folder, with forward slashes.
	Path string `json:"path"`
	// Reason says why it was not read.
	Reason string `json:"reason"`
}

// File is one file of the model.
type File struct {
	// Path is relative to the model folder, with forward slashes.
	Path string `json:"path"`
	// Size is in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of the content (of the blob a cache
	// snapshot links to, never a git object id).
	SHA256 string `json:"sha256"`
	// Kind is what the file is to the model: one of the Kind constants.
	Kind string `json:"kind"`
	// Format is the format the scanner recognized ("safetensors", "gguf",
	// "pickle"...), when the file holds a model format.
	Format string `json:"format,omitempty"`
}

// File kinds.
const (
	KindWeights   = "weights"
	KindConfig    = "config"
	KindTokenizer = "tokenizer"
	KindCode      = "code"
	KindCard      = "model-card"
	KindOther     = "other"
)

// ModelRef names another model: a hub id ("meta-llama/Llama-3.1-8B"),
// possibly at a revision, or a local path.
type ModelRef struct {
	// ID is the hub id or the path as written.
	ID string `json:"id"`
	// Relation says how the model derives from it: "finetune", "adapter",
	// "merge", "quantized", or "base" when the card does not say.
	Relation string `json:"relation,omitempty"`
	// PURL is pkg:huggingface/ID for a hub id.
	PURL string `json:"purl,omitempty"`
}

// Adapter is a PEFT adapter (adapter_config.json).
type Adapter struct {
	// Type is the PEFT type ("LORA", "QLORA"...).
	Type string `json:"type"`
	// Rank is LoRA's r; Alpha its lora_alpha; Dropout its lora_dropout.
	Rank    int     `json:"rank,omitempty"`
	Alpha   float64 `json:"alpha,omitempty"`
	Dropout float64 `json:"dropout,omitempty"`
	// TargetModules are the modules the adapter modifies.
	TargetModules []string `json:"target_modules,omitempty"`
	// TaskType is PEFT's task type ("CAUSAL_LM").
	TaskType string `json:"task_type,omitempty"`
	// BaseModel is base_model_name_or_path.
	BaseModel string `json:"base_model,omitempty"`
	// Library is the library that wrote it, with its version when known
	// ("peft 0.12.0", "unsloth").
	Library string `json:"library,omitempty"`
}

// Dataset is a dataset the model was trained or evaluated on.
type Dataset struct {
	// Name is the dataset's name or hub id ("HuggingFaceH4/ultrachat_200k").
	Name string `json:"name"`
	// URL is where it is, when known (the hub page for a hub id).
	URL string `json:"url,omitempty"`
	// Role is "training" (the card's datasets) or "evaluation" (the
	// datasets of model-index results).
	Role string `json:"role"`
	// Split and Config are the evaluation split and configuration.
	Split  string `json:"split,omitempty"`
	Config string `json:"config,omitempty"`
}

// Card is the content of a model card (README.md's YAML front matter and
// sections) and of the configs.
type Card struct {
	// Approach is the learning approach: "supervised", "unsupervised",
	// "reinforcement-learning", "semi-supervised" or "self-supervised".
	Approach string `json:"approach,omitempty"`
	// Task is the task (the card's pipeline_tag: "text-generation").
	Task string `json:"task,omitempty"`
	// ArchitectureFamily is the family (config.json's model_type: "llama").
	ArchitectureFamily string `json:"architecture_family,omitempty"`
	// Architecture is the architecture (config.json's architectures:
	// "LlamaForCausalLM").
	Architecture string `json:"architecture,omitempty"`
	// Inputs and Outputs are the data formats ("text", "image"...).
	Inputs  []string `json:"inputs,omitempty"`
	Outputs []string `json:"outputs,omitempty"`
	// Parameters are technical facts from config.json (hidden_size,
	// num_hidden_layers, vocab_size, torch_dtype, context length...), as
	// name and value.
	Parameters []Property `json:"parameters,omitempty"`
	// Metrics are the model-index results.
	Metrics []Metric `json:"metrics,omitempty"`
	// Users, UseCases, Limitations, Tradeoffs, EthicalConsiderations and
	// FairnessAssessments are the considerations the card states.
	Users                 []string `json:"users,omitempty"`
	UseCases              []string `json:"use_cases,omitempty"`
	Limitations           []string `json:"limitations,omitempty"`
	Tradeoffs             []string `json:"tradeoffs,omitempty"`
	EthicalConsiderations []Risk   `json:"ethical_considerations,omitempty"`
	FairnessAssessments   []string `json:"fairness_assessments,omitempty"`
	// Environment is the training's environmental cost.
	Environment *Environment `json:"environment,omitempty"`
	// TrainingProcedure is the card's text about how it was trained.
	TrainingProcedure string `json:"training_procedure,omitempty"`
}

// Property is a name and a value.
type Property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Metric is one evaluation result of model-index.
type Metric struct {
	// Type is the metric ("accuracy", "f1"); Name its display name.
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
	// Value is the result, as written.
	Value string `json:"value"`
	// Dataset and Task say where it was measured.
	Dataset string `json:"dataset,omitempty"`
	Task    string `json:"task,omitempty"`
}

// Risk is an ethical consideration with its mitigation, when stated.
type Risk struct {
	Name       string `json:"name"`
	Mitigation string `json:"mitigation,omitempty"`
}

// Environment is the environmental cost of training, as a card states it
// (the co2_eq_emissions block of the front matter).
type Environment struct {
	// CO2eqKg is the emissions in kilograms of CO2 equivalent (cards
	// write grams: converted).
	CO2eqKg float64 `json:"co2_eq_kg,omitempty"`
	// EnergyKWh is the energy used, in kilowatt-hours.
	EnergyKWh float64 `json:"energy_kwh,omitempty"`
	// Source, Hardware, HoursUsed, CloudProvider and Region are as stated.
	Source        string  `json:"source,omitempty"`
	Hardware      string  `json:"hardware,omitempty"`
	HoursUsed     float64 `json:"hours_used,omitempty"`
	CloudProvider string  `json:"cloud_provider,omitempty"`
	Region        string  `json:"region,omitempty"`
	// Activity is "training" or "fine-tuning".
	Activity string `json:"activity,omitempty"`
}

// Package is a software dependency.
type Package struct {
	// Name and Version as the lockfile or config writes them.
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// PURL is pkg:pypi/NAME@VERSION.
	PURL string `json:"purl,omitempty"`
	// Source is the file it was read from ("config.json", "requirements.txt").
	Source string `json:"source,omitempty"`
}
