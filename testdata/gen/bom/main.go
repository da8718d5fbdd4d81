// Command bom writes testdata/bom: model folders for the golden-file tests
// of violet bom (the ML bill of materials), each shaped like what the real
// tools leave on disk:
//
//   - base-model: a tiny Llama as save_pretrained and a hub download leave
//     it (config.json, generation_config.json, tokenizer files,
//     model.safetensors, the model card, .gitattributes);
//   - hf-cache/models--violet-test--tiny-llama: the same files as the
//     Hugging Face cache lays them out (refs/main, snapshots/<commit>/
//     relative symbolic links into blobs/);
//   - lora-adapter: a LoRA adapter of it as PEFT and Unsloth write it, with
//     the requirements.txt of the training environment;
//   - full-card: a fine-tuned DistilBERT classifier whose card uses every
//     section of the Hugging Face template and every metadata field, with a
//     uv.lock beside it;
//   - gguf-only: one GGUF v3 file with rich general.* metadata.
//
// Run it from the repository root:
//
//	go run ./testdata/gen/bom
//
// It deletes and rewrites testdata/bom. The output is deterministic: no
// clock, no randomness (weights come from a fixed linear congruential
// generator), symbolic links with fixed relative targets. The cards and the
// other hand-written text files are in templates/<folder>/ and are copied
// as they are; configs, weights and lockfiles are written here.
//
// No file comes from a real model: every name is violet-test/..., and the
// hashes of uv.lock are made up (sha256 of a label, not of a wheel).
package main

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const (
	// root is the output folder, relative to the repository root.
	root = "testdata/bom"
	// templateDir holds the hand-written text files, copied as they are.
	templateDir = "testdata/gen/bom/templates"
	// chatTemplates is where the real chat templates of model families are.
	chatTemplates = "analyzer/template/testdata/benign"
	// maxFolder is the size limit of each fixture folder.
	maxFolder = 200 << 10
)

// file is one file of a model folder.
type file struct {
	name string
	data []byte
}

func main() {
	log.SetFlags(0)
	if _, err := os.Stat("go.mod"); err != nil {
		log.Fatal("run from the repository root: go run ./testdata/gen/bom")
	}
	if err := os.RemoveAll(root); err != nil {
		log.Fatal(err)
	}
	base := baseModel()
	writeFolder("base-model", base)
	hfCache("hf-cache", "violet-test", "tiny-llama", base)
	writeFolder("lora-adapter", loraAdapter())
	writeFolder("full-card", fullCard())
	writeFolder("gguf-only", []file{{"Tiny-Llama-1M-Instruct-Q8_0.gguf", ggufModel()}})
	put("README.md", []byte(readme))
	for _, dir := range []string{"base-model", "hf-cache", "lora-adapter", "full-card", "gguf-only"} {
		if n := folderSize(filepath.Join(root, dir)); n >= maxFolder {
			log.Fatalf("%s is %d bytes: fixture folders stay under %d", dir, n, maxFolder)
		}
	}
}

// put writes data to root/rel.
func put(rel string, data []byte) {
	path := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		log.Fatal(err)
	}
}

// link makes root/rel a symbolic link to target (relative to rel's folder).
func link(rel, target string) {
	path := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		log.Fatal(err)
	}
}

func writeFolder(dir string, files []file) {
	for _, f := range files {
		put(dir+"/"+f.name, f.data)
	}
}

// folderSize adds up the sizes of the files under dir and of the targets
// of its links (the length of the target path).
func folderSize(dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	return n
}

// templates returns the files of templates/dir, sorted by name.
func templates(dir string) []file {
	entries, err := os.ReadDir(filepath.Join(templateDir, dir))
	if err != nil {
		log.Fatal(err)
	}
	var files []file
	for _, e := range entries {
		if e.IsDir() {
			log.Fatalf("%s/%s: templates are flat", dir, e.Name())
		}
		b, err := os.ReadFile(filepath.Join(templateDir, dir, e.Name()))
		if err != nil {
			log.Fatal(err)
		}
		files = append(files, file{e.Name(), b})
	}
	return files
}

// chatTemplate reads a real chat template, without the file's final
// newline (tokenizer_config.json of the hub holds none).
func chatTemplate(name string) string {
	b, err := os.ReadFile(filepath.Join(chatTemplates, name))
	if err != nil {
		log.Fatal(err)
	}
	return strings.TrimSuffix(string(b), "\n")
}

// sortFiles orders files by name, as a folder listing does.
func sortFiles(files []file) []file {
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	return files
}

// pyJSON writes v as Python's json.dumps(v, indent=2, sort_keys=True,
// ensure_ascii=False) does, plus the final newline transformers and PEFT
// add. Go sorts map keys; floats must be ones both print the same way
// (0.05, not 0.0 or 1e-05: those configs are constants).
func pyJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		log.Fatal(err)
	}
	return b.Bytes()
}

// ---------------------------------------------------------------------------
// base-model: violet-test/tiny-llama.

// Token ids of the tiny Llama's special tokens: the last six of its
// 256-token vocabulary.
const (
	bosID = 250 // <|begin_of_text|>
	eosID = 251 // <|end_of_text|>
	eotID = 254 // <|eot_id|>
)

// llamaConfig is config.json as transformers 4.46.3 saves a
// LlamaForCausalLM (to_json_string: indent 2, sorted keys).
const llamaConfig = `{
  "_name_or_path": "violet-test/tiny-llama",
  "architectures": [
    "LlamaForCausalLM"
  ],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 250,
  "eos_token_id": 251,
  "head_dim": 16,
  "hidden_act": "silu",
  "hidden_size": 64,
  "initializer_range": 0.02,
  "intermediate_size": 96,
  "max_position_embeddings": 2048,
  "mlp_bias": false,
  "model_type": "llama",
  "num_attention_heads": 4,
  "num_hidden_layers": 2,
  "num_key_value_heads": 2,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": null,
  "rope_theta": 10000.0,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.46.3",
  "use_cache": true,
  "vocab_size": 256
}
`

var llamaSpecial = [][2]any{
	{bosID, "<|begin_of_text|>"},
	{eosID, "<|end_of_text|>"},
	{252, "<|start_header_id|>"},
	{253, "<|end_header_id|>"},
	{eotID, "<|eot_id|>"},
	{255, "<|finetune_right_pad_id|>"},
}

func baseModel() []file {
	files := templates("base-model") // README.md, .gitattributes
	files = append(files,
		file{"config.json", []byte(llamaConfig)},
		file{"generation_config.json", pyJSON(map[string]any{
			"bos_token_id":         bosID,
			"do_sample":            true,
			"eos_token_id":         []int{eosID, eotID},
			"temperature":          0.6,
			"top_p":                0.9,
			"transformers_version": "4.46.3",
		})},
		file{"special_tokens_map.json", pyJSON(map[string]any{
			"bos_token": addedToken("<|begin_of_text|>", false),
			"eos_token": addedToken("<|end_of_text|>", false),
		})},
		file{"tokenizer_config.json", tokenizerConfig()},
		file{"model.safetensors", llamaWeights()},
	)
	return sortFiles(files)
}

// addedToken is an AddedToken as transformers serializes it; special adds
// the member of added_tokens_decoder entries.
func addedToken(content string, special bool) map[string]any {
	t := map[string]any{"content": content, "lstrip": false, "normalized": false, "rstrip": false, "single_word": false}
	if special {
		t["special"] = true
	}
	return t
}

func tokenizerConfig() []byte {
	decoder := map[string]any{}
	for _, t := range llamaSpecial {
		decoder[fmt.Sprint(t[0])] = addedToken(t[1].(string), true)
	}
	return pyJSON(map[string]any{
		"added_tokens_decoder":         decoder,
		"bos_token":                    "<|begin_of_text|>",
		"chat_template":                chatTemplate("llama3.jinja"),
		"clean_up_tokenization_spaces": true,
		"eos_token":                    "<|end_of_text|>",
		"model_input_names":            []string{"input_ids", "attention_mask"},
		"model_max_length":             2048,
		"tokenizer_class":              "PreTrainedTokenizerFast",
	})
}

// llamaWeights are the tensors of llamaConfig, in bfloat16: tied
// embeddings, so no lm_head.weight.
func llamaWeights() []byte {
	const h, kv, inter, vocab, layers = 64, 32, 96, 256, 2
	ts := []stTensor{{"model.embed_tokens.weight", "BF16", []int{vocab, h}, 0.02}, {"model.norm.weight", "BF16", []int{h}, 0}}
	for l := range layers {
		p := fmt.Sprintf("model.layers.%d.", l)
		ts = append(ts,
			stTensor{p + "input_layernorm.weight", "BF16", []int{h}, 0},
			stTensor{p + "post_attention_layernorm.weight", "BF16", []int{h}, 0},
			stTensor{p + "self_attn.q_proj.weight", "BF16", []int{h, h}, 0.02},
			stTensor{p + "self_attn.k_proj.weight", "BF16", []int{kv, h}, 0.02},
			stTensor{p + "self_attn.v_proj.weight", "BF16", []int{kv, h}, 0.02},
			stTensor{p + "self_attn.o_proj.weight", "BF16", []int{h, h}, 0.02},
			stTensor{p + "mlp.gate_proj.weight", "BF16", []int{inter, h}, 0.02},
			stTensor{p + "mlp.up_proj.weight", "BF16", []int{inter, h}, 0.02},
			stTensor{p + "mlp.down_proj.weight", "BF16", []int{h, inter}, 0.02},
		)
	}
	return safetensors(ts, 42)
}

// ---------------------------------------------------------------------------
// hf-cache: the Hugging Face cache layout of a repository.

// hfCache writes dir/models--org--name as huggingface_hub's cache holds a
// snapshot of files: blobs/ named by the git blob sha1 of the content (or
// its sha256 for the files .gitattributes sends to LFS), snapshots/<commit>/
// of relative links into blobs/, refs/main holding the commit (no newline).
func hfCache(dir, org, name string, files []file) {
	repo := dir + "/models--" + org + "--" + name
	commit := sha1.New()
	fmt.Fprintf(commit, "%s/%s\n", org, name)
	blobs := make([]string, len(files))
	for i, f := range files {
		if lfs(f.name) {
			s := sha256.Sum256(f.data)
			blobs[i] = hex.EncodeToString(s[:])
		} else {
			blobs[i] = gitBlob(f.data)
		}
		fmt.Fprintf(commit, "%s %s\n", blobs[i], f.name)
	}
	rev := hex.EncodeToString(commit.Sum(nil))
	put(repo+"/refs/main", []byte(rev))
	for i, f := range files {
		put(repo+"/blobs/"+blobs[i], f.data)
		depth := strings.Count(f.name, "/")
		link(repo+"/snapshots/"+rev+"/"+f.name, strings.Repeat("../", depth+2)+"blobs/"+blobs[i])
	}
}

// lfs reports whether the hub's default .gitattributes stores name in LFS.
func lfs(name string) bool {
	for _, ext := range []string{".safetensors", ".bin", ".gguf", ".pt", ".pth", ".h5", ".onnx", ".msgpack"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// gitBlob is the git object id of a blob: sha1("blob <size>\0" + content).
func gitBlob(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// ---------------------------------------------------------------------------
// lora-adapter: a LoRA adapter of violet-test/tiny-llama.

// loraTargets are the target modules in the order PEFT 0.18 writes them
// (it keeps them in a set, so the order is the set's, not the user's).
var loraTargets = []string{"v_proj", "q_proj", "o_proj", "k_proj"}

func loraAdapter() []file {
	files := templates("lora-adapter") // README.md, requirements.txt
	config := map[string]any{
		"alora_invocation_tokens": nil,
		"alpha_pattern":           map[string]any{},
		"arrow_config":            nil,
		"auto_mapping":            nil,
		"base_model_name_or_path": "violet-test/tiny-llama",
		"bias":                    "none",
		"corda_config":            nil,
		"ensure_weight_tying":     false,
		"eva_config":              nil,
		"exclude_modules":         nil,
		"fan_in_fan_out":          false,
		"inference_mode":          true,
		"init_lora_weights":       true,
		"layer_replication":       nil,
		"layers_pattern":          nil,
		"layers_to_transform":     nil,
		"loftq_config":            map[string]any{},
		"lora_alpha":              32,
		"lora_bias":               false,
		"lora_dropout":            0.05,
		"megatron_config":         nil,
		"megatron_core":           "megatron.core",
		"modules_to_save":         nil,
		"peft_type":               "LORA",
		"peft_version":            "0.18.0",
		"qalora_group_size":       16,
		"r":                       16,
		"rank_pattern":            map[string]any{},
		"revision":                nil,
		"target_modules":          loraTargets,
		"target_parameters":       nil,
		"task_type":               "CAUSAL_LM",
		"trainable_token_indices": nil,
		"use_dora":                false,
		"use_qalora":              false,
		"use_rslora":              false,
	}
	files = append(files,
		file{"adapter_config.json", pyJSON(config)},
		file{"adapter_model.safetensors", loraWeights()},
	)
	return sortFiles(files)
}

// loraWeights are PEFT's lora_A [r, in] and lora_B [out, r] of each target
// module of each layer, in float32, named as PEFT saves them (no adapter
// name).
func loraWeights() []byte {
	const r, h, kv = 16, 64, 32
	out := map[string]int{"q_proj": h, "k_proj": kv, "v_proj": kv, "o_proj": h}
	var ts []stTensor
	for l := range 2 {
		for _, m := range []string{"q_proj", "k_proj", "v_proj", "o_proj"} {
			p := fmt.Sprintf("base_model.model.model.layers.%d.self_attn.%s.", l, m)
			ts = append(ts,
				stTensor{p + "lora_A.weight", "F32", []int{r, h}, 0.1},
				stTensor{p + "lora_B.weight", "F32", []int{out[m], r}, 0.002},
			)
		}
	}
	return safetensors(ts, 7)
}

// ---------------------------------------------------------------------------
// full-card: violet-test/ticket-intent-classifier.

// distilbertConfig is config.json of a DistilBertForSequenceClassification
// saved by transformers 4.46.3 after Trainer fine-tuning.
const distilbertConfig = `{
  "_name_or_path": "violet-test/tiny-distilbert-base",
  "activation": "gelu",
  "architectures": [
    "DistilBertForSequenceClassification"
  ],
  "attention_dropout": 0.1,
  "dim": 32,
  "dropout": 0.1,
  "hidden_dim": 64,
  "id2label": {
    "0": "billing",
    "1": "shipping",
    "2": "technical",
    "3": "other"
  },
  "initializer_range": 0.02,
  "label2id": {
    "billing": 0,
    "other": 3,
    "shipping": 1,
    "technical": 2
  },
  "max_position_embeddings": 64,
  "model_type": "distilbert",
  "n_heads": 2,
  "n_layers": 1,
  "pad_token_id": 0,
  "problem_type": "single_label_classification",
  "qa_dropout": 0.1,
  "seq_classif_dropout": 0.2,
  "sinusoidal_pos_embds": false,
  "tie_weights_": true,
  "torch_dtype": "float32",
  "transformers_version": "4.46.3",
  "vocab_size": 128
}
`

func fullCard() []file {
	files := templates("full-card") // README.md, pyproject.toml
	files = append(files,
		file{"config.json", []byte(distilbertConfig)},
		file{"model.safetensors", distilbertWeights()},
		file{"uv.lock", uvLock()},
	)
	return sortFiles(files)
}

func distilbertWeights() []byte {
	const d, hidden, vocab, pos, labels = 32, 64, 128, 64, 4
	ts := []stTensor{
		{"distilbert.embeddings.word_embeddings.weight", "F32", []int{vocab, d}, 0.02},
		{"distilbert.embeddings.position_embeddings.weight", "F32", []int{pos, d}, 0.02},
		{"distilbert.embeddings.LayerNorm.weight", "F32", []int{d}, 0},
		{"distilbert.embeddings.LayerNorm.bias", "F32", []int{d}, -1},
		{"pre_classifier.weight", "F32", []int{d, d}, 0.02},
		{"pre_classifier.bias", "F32", []int{d}, -1},
		{"classifier.weight", "F32", []int{labels, d}, 0.02},
		{"classifier.bias", "F32", []int{labels}, -1},
	}
	p := "distilbert.transformer.layer.0."
	for _, m := range []string{"q_lin", "k_lin", "v_lin", "out_lin"} {
		ts = append(ts,
			stTensor{p + "attention." + m + ".weight", "F32", []int{d, d}, 0.02},
			stTensor{p + "attention." + m + ".bias", "F32", []int{d}, -1})
	}
	ts = append(ts,
		stTensor{p + "sa_layer_norm.weight", "F32", []int{d}, 0},
		stTensor{p + "sa_layer_norm.bias", "F32", []int{d}, -1},
		stTensor{p + "ffn.lin1.weight", "F32", []int{hidden, d}, 0.02},
		stTensor{p + "ffn.lin1.bias", "F32", []int{hidden}, -1},
		stTensor{p + "ffn.lin2.weight", "F32", []int{d, hidden}, 0.02},
		stTensor{p + "ffn.lin2.bias", "F32", []int{d}, -1},
		stTensor{p + "output_layer_norm.weight", "F32", []int{d}, 0},
		stTensor{p + "output_layer_norm.bias", "F32", []int{d}, -1},
	)
	return safetensors(ts, 1234)
}

// lockPkg is a package of uv.lock: deps name packages of the lock; wheel
// is the one wheel kept (Linux x86-64, CPython 3.12); sdist says whether
// PyPI has a source distribution.
type lockPkg struct {
	name, version string
	deps          []string
	wheel         string
	size          int
	sdist         bool
}

// lockPkgs is the training environment of the classifier, trimmed to the
// packages torch, transformers, datasets and numpy pull in on Linux
// (without the nvidia-* CUDA wheels and the optional extras).
var lockPkgs = []lockPkg{
	{"certifi", "2024.8.30", nil, "certifi-2024.8.30-py3-none-any.whl", 167321, true},
	{"charset-normalizer", "3.4.0", nil, "charset_normalizer-3.4.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", 143710, true},
	{"datasets", "3.1.0", []string{"filelock", "fsspec", "huggingface-hub", "numpy", "packaging", "pyyaml", "requests", "tqdm"}, "datasets-3.1.0-py3-none-any.whl", 480554, true},
	{"filelock", "3.16.1", nil, "filelock-3.16.1-py3-none-any.whl", 16163, true},
	{"fsspec", "2024.9.0", nil, "fsspec-2024.9.0-py3-none-any.whl", 179253, true},
	{"huggingface-hub", "0.26.2", []string{"filelock", "fsspec", "packaging", "pyyaml", "requests", "tqdm", "typing-extensions"}, "huggingface_hub-0.26.2-py3-none-any.whl", 447498, true},
	{"idna", "3.10", nil, "idna-3.10-py3-none-any.whl", 70442, true},
	{"jinja2", "3.1.4", []string{"markupsafe"}, "jinja2-3.1.4-py3-none-any.whl", 133271, true},
	{"markupsafe", "3.0.2", nil, "MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", 23739, true},
	{"mpmath", "1.3.0", nil, "mpmath-1.3.0-py3-none-any.whl", 536198, true},
	{"networkx", "3.4.2", nil, "networkx-3.4.2-py3-none-any.whl", 1723263, true},
	{"numpy", "2.1.3", nil, "numpy-2.1.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", 16013700, true},
	{"packaging", "24.2", nil, "packaging-24.2-py3-none-any.whl", 65451, true},
	{"pyyaml", "6.0.2", nil, "PyYAML-6.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", 767363, true},
	{"regex", "2024.11.6", nil, "regex-2024.11.6-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", 796945, true},
	{"requests", "2.32.3", []string{"certifi", "charset-normalizer", "idna", "urllib3"}, "requests-2.32.3-py3-none-any.whl", 64928, true},
	{"safetensors", "0.4.5", nil, "safetensors-0.4.5-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", 435000, true},
	{"sympy", "1.13.1", []string{"mpmath"}, "sympy-1.13.1-py3-none-any.whl", 6189177, true},
	{"tokenizers", "0.20.3", []string{"huggingface-hub"}, "tokenizers-0.20.3-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", 3001811, true},
	{"torch", "2.5.1", []string{"filelock", "fsspec", "jinja2", "networkx", "sympy", "typing-extensions"}, "torch-2.5.1-cp312-cp312-manylinux1_x86_64.whl", 906443664, false},
	{"tqdm", "4.67.0", nil, "tqdm-4.67.0-py3-none-any.whl", 78500, true},
	{"transformers", "4.46.3", []string{"filelock", "huggingface-hub", "numpy", "packaging", "pyyaml", "regex", "requests", "safetensors", "tokenizers", "tqdm"}, "transformers-4.46.3-py3-none-any.whl", 10034625, true},
	{"typing-extensions", "4.12.2", nil, "typing_extensions-4.12.2-py3-none-any.whl", 37438, true},
	{"urllib3", "2.2.3", nil, "urllib3-2.2.3-py3-none-any.whl", 126338, true},
}

// uvLock writes uv.lock (lock version 1, as uv 0.5 writes it) for the
// project of pyproject.toml.
func uvLock() []byte {
	var b strings.Builder
	b.WriteString("version = 1\nrequires-python = \">=3.12\"\n")
	deps := func(names []string) {
		if len(names) == 0 {
			return
		}
		b.WriteString("dependencies = [\n")
		for _, n := range names {
			fmt.Fprintf(&b, "    { name = %q },\n", n)
		}
		b.WriteString("]\n")
	}
	project := lockPkg{name: "ticket-intent-classifier", version: "0.1.0", deps: []string{"datasets", "numpy", "torch", "transformers"}}
	pkgs := append([]lockPkg{project}, lockPkgs...)
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].name < pkgs[j].name })
	for _, p := range pkgs {
		fmt.Fprintf(&b, "\n[[package]]\nname = %q\nversion = %q\n", p.name, p.version)
		if p.name == project.name {
			b.WriteString("source = { virtual = \".\" }\n")
			deps(p.deps)
			b.WriteString("\n[package.metadata]\nrequires-dist = [\n" +
				"    { name = \"datasets\", specifier = \">=3.1\" },\n" +
				"    { name = \"numpy\", specifier = \">=2.1\" },\n" +
				"    { name = \"torch\", specifier = \"==2.5.1\" },\n" +
				"    { name = \"transformers\", specifier = \"==4.46.3\" },\n" +
				"]\n")
			continue
		}
		b.WriteString("source = { registry = \"https://pypi.org/simple\" }\n")
		deps(p.deps)
		if p.sdist {
			sd := strings.ReplaceAll(p.name, "-", "_") + "-" + p.version + ".tar.gz"
			fmt.Fprintf(&b, "sdist = { url = %q, hash = \"sha256:%s\", size = %d }\n", pypiURL(sd), fakeHash(sd), p.size*3/2+1024)
		}
		fmt.Fprintf(&b, "wheels = [\n    { url = %q, hash = \"sha256:%s\", size = %d },\n]\n", pypiURL(p.wheel), fakeHash(p.wheel), p.size)
	}
	return []byte(b.String())
}

// pypiURL is a files.pythonhosted.org address of the shape PyPI uses
// (packages/xx/yy/<60 hex>/file), made from the file name.
func pypiURL(name string) string {
	s := sha256.Sum256([]byte("violet-test url " + name))
	h := hex.EncodeToString(s[:])
	return "https://files.pythonhosted.org/packages/" + h[:2] + "/" + h[2:4] + "/" + h[4:] + "/" + name
}

// fakeHash is a made-up sha256 for a distribution file.
func fakeHash(name string) string {
	s := sha256.Sum256([]byte("violet-test hash " + name))
	return hex.EncodeToString(s[:])
}

// ---------------------------------------------------------------------------
// safetensors.

// stTensor is a tensor to write: std is the spread of its random values;
// 0 makes a norm weight (ones), -1 a bias (zeros).
type stTensor struct {
	name, dtype string
	shape       []int
	std         float64
}

// safetensors lays out a file as the reference writer does: the tensors
// ordered by dtype size (largest first), then by name; the header length
// (u64 little-endian), the JSON header with __metadata__ {"format": "pt"}
// padded with spaces to a multiple of 8, the data.
func safetensors(ts []stTensor, seed uint64) []byte {
	size := map[string]int{"BF16": 2, "F16": 2, "F32": 4}
	sort.SliceStable(ts, func(i, j int) bool {
		if size[ts[i].dtype] != size[ts[j].dtype] {
			return size[ts[i].dtype] > size[ts[j].dtype]
		}
		return ts[i].name < ts[j].name
	})
	var header strings.Builder
	header.WriteString(`{"__metadata__":{"format":"pt"}`)
	var data []byte
	rng := lcg(seed)
	for _, t := range ts {
		n := 1
		shape := make([]string, len(t.shape))
		for i, d := range t.shape {
			n *= d
			shape[i] = fmt.Sprint(d)
		}
		begin := len(data)
		for range n {
			var v float32
			switch t.std {
			case 0:
				v = 1
			case -1:
				v = 0
			default:
				v = float32(rng.normal() * t.std)
			}
			switch t.dtype {
			case "F32":
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
			case "BF16":
				data = binary.LittleEndian.AppendUint16(data, bf16(v))
			default:
				log.Fatalf("dtype %s", t.dtype)
			}
		}
		fmt.Fprintf(&header, `,%q:{"dtype":%q,"shape":[%s],"data_offsets":[%d,%d]}`, t.name, t.dtype, strings.Join(shape, ","), begin, len(data))
	}
	header.WriteString("}")
	h := header.String()
	for len(h)%8 != 0 {
		h += " "
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), data...)
}

// bf16 rounds a float32 to bfloat16 (round to nearest even).
func bf16(f float32) uint16 {
	b := math.Float32bits(f)
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// lcgState is a small deterministic generator of weights.
type lcgState struct{ s uint64 }

func lcg(seed uint64) *lcgState { return &lcgState{seed} }

func (l *lcgState) next() float64 {
	l.s = l.s*6364136223846793005 + 1442695040888963407
	return float64(l.s>>11) / (1 << 53)
}

// normal returns a roughly normal value (sum of uniforms).
func (l *lcgState) normal() float64 {
	s := 0.0
	for range 12 {
		s += l.next()
	}
	return s - 6
}

// ---------------------------------------------------------------------------
// GGUF v3 (llama.cpp's gguf-py writer layout: header, key/values, tensor
// infos, padding to general.alignment (32), tensor data each padded).

// GGUF value types.
const (
	ggufU32    = 4
	ggufI32    = 5
	ggufF32    = 6
	ggufBool   = 7
	ggufString = 8
	ggufArray  = 9
)

type ggufWriter struct {
	kv  bytes.Buffer
	nKV int
}

func (w *ggufWriter) u32(v uint32) { w.kv.Write(binary.LittleEndian.AppendUint32(nil, v)) }
func (w *ggufWriter) u64(v uint64) { w.kv.Write(binary.LittleEndian.AppendUint64(nil, v)) }
func (w *ggufWriter) str(s string) { w.u64(uint64(len(s))); w.kv.WriteString(s) }

func (w *ggufWriter) key(k string, typ uint32) { w.nKV++; w.str(k); w.u32(typ) }

func (w *ggufWriter) kvString(k, v string)      { w.key(k, ggufString); w.str(v) }
func (w *ggufWriter) kvU32(k string, v uint32)  { w.key(k, ggufU32); w.u32(v) }
func (w *ggufWriter) kvF32(k string, v float32) { w.key(k, ggufF32); w.u32(math.Float32bits(v)) }
func (w *ggufWriter) kvBool(k string, v bool) {
	w.key(k, ggufBool)
	if v {
		w.kv.WriteByte(1)
	} else {
		w.kv.WriteByte(0)
	}
}

func (w *ggufWriter) kvStrings(k string, vs []string) {
	w.key(k, ggufArray)
	w.u32(ggufString)
	w.u64(uint64(len(vs)))
	for _, v := range vs {
		w.str(v)
	}
}

func (w *ggufWriter) kvArray32(k string, typ uint32, vs []uint32) {
	w.key(k, ggufArray)
	w.u32(typ)
	w.u64(uint64(len(vs)))
	for _, v := range vs {
		w.u32(v)
	}
}

// ggufTensor is a tensor to write: dims in ggml order (fastest first).
type ggufTensor struct {
	name string
	typ  uint32 // 0 F32, 8 Q8_0
	dims []uint64
}

func (t ggufTensor) elements() int {
	n := 1
	for _, d := range t.dims {
		n *= int(d)
	}
	return n
}

// gpt2Bytes are the 256 byte tokens of a GPT-2 byte-level BPE vocabulary
// (bytes_to_unicode: printable bytes stand for themselves, the others are
// shifted past U+0100).
func gpt2Bytes() []string {
	tokens := make([]string, 256)
	shift := 0
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff) {
			tokens[b] = string(rune(b))
		} else {
			tokens[b] = string(rune(256 + shift))
			shift++
		}
	}
	return tokens
}

// ggufModel writes violet-test's "Tiny Llama Instruct" as llama.cpp's
// convert_hf_to_gguf.py and llama-quantize leave it: general.* metadata
// from the card, a ChatML byte-level BPE tokenizer, Q8_0 matrices and F32
// norms.
func ggufModel() []byte {
	merges := []string{"Ġ t", "Ġ a", "h e", "i n", "r e", "o n", "Ġt he", "e r"}
	tokens := gpt2Bytes()
	for _, m := range merges {
		tokens = append(tokens, strings.ReplaceAll(m, " ", ""))
	}
	tokens = append(tokens, "<|endoftext|>", "<|im_start|>", "<|im_end|>")
	types := make([]uint32, len(tokens))
	for i := range tokens {
		types[i] = 1 // normal
		if i >= len(tokens)-3 {
			types[i] = 3 // control
		}
	}
	vocab := uint64(len(tokens))
	const h, kv, ffn = 64, 32, 96

	w := &ggufWriter{}
	w.kvString("general.architecture", "llama")
	w.kvString("general.type", "model")
	w.kvString("general.name", "Tiny Llama Instruct")
	w.kvString("general.organization", "violet-test")
	w.kvString("general.finetune", "Instruct")
	w.kvString("general.basename", "tiny-llama")
	w.kvString("general.size_label", "1M")
	w.kvString("general.license", "apache-2.0")
	w.kvString("general.repo_url", "https://huggingface.co/violet-test/tiny-llama-instruct")
	w.kvU32("general.base_model.count", 1)
	w.kvString("general.base_model.0.name", "Tiny Llama")
	w.kvString("general.base_model.0.organization", "violet-test")
	w.kvString("general.base_model.0.repo_url", "https://huggingface.co/violet-test/tiny-llama")
	w.kvStrings("general.datasets", []string{"violet-test/support-chats", "violet-test/tiny-instructions"})
	w.kvStrings("general.tags", []string{"llama", "chatml", "text-generation", "violet-test"})
	w.kvStrings("general.languages", []string{"en"})
	w.kvU32("llama.block_count", 1)
	w.kvU32("llama.context_length", 2048)
	w.kvU32("llama.embedding_length", h)
	w.kvU32("llama.feed_forward_length", ffn)
	w.kvU32("llama.attention.head_count", 4)
	w.kvU32("llama.attention.head_count_kv", 2)
	w.kvF32("llama.rope.freq_base", 10000)
	w.kvF32("llama.attention.layer_norm_rms_epsilon", 1e-5)
	w.kvU32("general.file_type", 7) // MOSTLY_Q8_0
	w.kvU32("llama.vocab_size", uint32(vocab))
	w.kvU32("llama.rope.dimension_count", 16)
	w.kvString("tokenizer.ggml.model", "gpt2")
	w.kvString("tokenizer.ggml.pre", "qwen2")
	w.kvStrings("tokenizer.ggml.tokens", tokens)
	w.kvArray32("tokenizer.ggml.token_type", ggufI32, types)
	w.kvStrings("tokenizer.ggml.merges", merges)
	w.kvU32("tokenizer.ggml.eos_token_id", uint32(vocab-1))
	w.kvU32("tokenizer.ggml.padding_token_id", uint32(vocab-3))
	w.kvU32("tokenizer.ggml.bos_token_id", uint32(vocab-3))
	w.kvBool("tokenizer.ggml.add_bos_token", false)
	w.kvString("tokenizer.chat_template", chatTemplate("chatml.jinja"))
	w.kvU32("general.quantization_version", 2)

	tensors := []ggufTensor{
		{"token_embd.weight", 8, []uint64{h, vocab}},
		{"blk.0.attn_norm.weight", 0, []uint64{h}},
		{"blk.0.ffn_down.weight", 8, []uint64{ffn, h}},
		{"blk.0.ffn_gate.weight", 8, []uint64{h, ffn}},
		{"blk.0.ffn_up.weight", 8, []uint64{h, ffn}},
		{"blk.0.ffn_norm.weight", 0, []uint64{h}},
		{"blk.0.attn_k.weight", 8, []uint64{h, kv}},
		{"blk.0.attn_output.weight", 8, []uint64{h, h}},
		{"blk.0.attn_q.weight", 8, []uint64{h, h}},
		{"blk.0.attn_v.weight", 8, []uint64{h, kv}},
		{"output_norm.weight", 0, []uint64{h}},
	}
	var out bytes.Buffer
	out.WriteString("GGUF")
	out.Write(binary.LittleEndian.AppendUint32(nil, 3))
	out.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(tensors))))
	out.Write(binary.LittleEndian.AppendUint64(nil, uint64(w.nKV)))
	out.Write(w.kv.Bytes())

	var data []byte
	rng := lcg(99)
	for _, t := range tensors {
		info := &ggufWriter{}
		info.str(t.name)
		info.u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			info.u64(d)
		}
		info.u32(t.typ)
		info.u64(uint64(len(data)))
		out.Write(info.kv.Bytes())
		n := t.elements()
		switch t.typ {
		case 0:
			for range n {
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(1))
			}
		case 8:
			data = append(data, q8_0(rng, n)...)
		}
		for len(data)%32 != 0 {
			data = append(data, 0)
		}
	}
	for out.Len()%32 != 0 {
		out.WriteByte(0)
	}
	return append(out.Bytes(), data...)
}

// q8_0 quantizes n random weights in blocks of 32: an f16 scale, then 32
// int8 values.
func q8_0(rng *lcgState, n int) []byte {
	var b []byte
	for range n / 32 {
		vals := make([]float64, 32)
		amax := 0.0
		for i := range vals {
			vals[i] = rng.normal() * 0.02
			amax = max(amax, math.Abs(vals[i]))
		}
		d := amax / 127
		b = binary.LittleEndian.AppendUint16(b, f16(float32(d)))
		for _, v := range vals {
			b = append(b, byte(int8(math.Round(v/d))))
		}
	}
	return b
}

// f16 converts to IEEE half precision (truncating, small values).
func f16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int((b>>23)&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case exp <= 0:
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		return sign | uint16(mant>>uint(14-exp))
	case exp >= 31:
		return sign | 0x7c00
	}
	return sign | uint16(exp)<<10 | uint16(mant>>13)
}

// ---------------------------------------------------------------------------

const readme = "# testdata/bom\n\n" +
	"Model folders for the golden-file tests of `violet bom`. Each is shaped like what the\n" +
	"real tools leave on disk, but tiny: every folder is under 200 KB.\n\n" +
	"| folder | what |\n" +
	"|---|---|\n" +
	"| base-model | violet-test/tiny-llama as `save_pretrained` and a hub download leave it: config.json (LlamaForCausalLM, 2 layers, hidden size 64, vocabulary 256, bfloat16, transformers 4.46.3), generation_config.json, tokenizer_config.json (Llama 3 chat template), special_tokens_map.json, model.safetensors (BF16, tied embeddings), .gitattributes, a model card (apache-2.0, en, text-generation, transformers, one training dataset) |\n" +
	"| hf-cache/models--violet-test--tiny-llama | the same files in the Hugging Face cache layout: refs/main holds the commit; snapshots/<commit>/ holds relative symbolic links to ../../blobs/<name>; a blob is named by the git blob sha1 of its content, or by its sha256 for files in LFS (model.safetensors) |\n" +
	"| lora-adapter | a LoRA adapter of violet-test/tiny-llama as PEFT 0.18 and Unsloth write it: adapter_config.json (r 16, alpha 32, dropout 0.05, q/k/v/o_proj, CAUSAL_LM, peft_version), adapter_model.safetensors (F32 lora_A/lora_B of both layers), the TRL/PEFT model card with its training hyperparameters, and requirements.txt (one unpinned package, one with only >=) |\n" +
	"| full-card | violet-test/ticket-intent-classifier, a DistilBertForSequenceClassification fine-tuned from violet-test/tiny-distilbert-base: its card uses every section of the Hugging Face model card template and every metadata field (model-index with accuracy and F1 on a dataset config and split, co2_eq_emissions with all subfields, base_model_relation finetune, mit, en and fr); config.json with id2label/label2id, model.safetensors, pyproject.toml and uv.lock |\n" +
	"| gguf-only | one GGUF v3 file, Tiny-Llama-1M-Instruct-Q8_0.gguf, with general.* metadata (name, basename, size_label, license, organization, base_model.count and base_model.0.*, tags, languages, datasets), a ChatML tokenizer.chat_template, Q8_0 and F32 tensors |\n\n" +
	"## How the files are made\n\n" +
	"All of them are written by a deterministic Go program, run from the repository root:\n\n" +
	"    go run ./testdata/gen/bom\n\n" +
	"It deletes and rewrites this folder, README included; two runs give the same bytes and the\n" +
	"same link targets. The model cards, requirements.txt, pyproject.toml and .gitattributes are\n" +
	"copied as they are from testdata/gen/bom/templates/; configs, weights, the GGUF file and\n" +
	"uv.lock are written by the generator (the chat templates are the real ones, copied from\n" +
	"analyzer/template/testdata/benign).\n\n" +
	"No file comes from a real model. Every model, dataset and organization is `violet-test/...`;\n" +
	"the weights are random numbers from a fixed generator; the addresses and sha256 hashes of\n" +
	"uv.lock are made up. Nothing here should be loaded by an ML library: the files are inputs\n" +
	"of `violet bom` and `violet scan`, and `go run ./cmd/violet scan testdata/bom` reports\n" +
	"nothing at or above low.\n"
