package discover

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// copyFixture copies a file of the repository's testdata into dir.
func copyFixture(t *testing.T, dir, name, fixture string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", fixture))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, name, string(data))
}

func writeFile(t *testing.T, dir, name, data string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

const trainPy = `import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline
from peft import PeftModel

BASE_MODEL = "meta-llama/Llama-3.1-8B"
model = AutoModelForCausalLM.from_pretrained(
    "mistralai/Mistral-7B-v0.1",  # the base
    torch_dtype=torch.bfloat16,
)
tok = AutoTokenizer.from_pretrained(pretrained_model_name_or_path="gpt2")
local = AutoModelForCausalLM.from_pretrained("./checkpoints/run-3")
adapter = PeftModel.from_pretrained(model, "acme/llama-lora")
clf = pipeline("sentiment-analysis", model="distilbert/distilbert-base-uncased-finetuned-sst-2-english")
model.push_to_hub("acme/released-model")

# Decoys that name no model:
path_var = os.environ["MODEL"]
m2 = AutoModelForCausalLM.from_pretrained(path_var)
m3 = AutoModelForCausalLM.from_pretrained(f"{org}/model")
url = "https://huggingface.co/org/name"
# AutoModel.from_pretrained("commented/out") and "a/b" in a comment
doc = """AutoModel.from_pretrained("in/docstring")"""
ratio = "a/b"
label = pipeline("text-classification")
`

const servePy = `from huggingface_hub import hf_hub_download, snapshot_download
from sentence_transformers import SentenceTransformer
from langchain_openai import ChatOpenAI
from langchain_anthropic import ChatAnthropic
from langchain_community.llms import HuggingFaceHub
from langchain_huggingface import HuggingFaceEndpoint
from langchain_ollama import OllamaLLM
from llama_index.llms.huggingface import HuggingFaceLLM
from llama_index.llms.openai import OpenAI
from vllm import LLM

p = hf_hub_download(repo_id="TheBloke/Llama-2-7B-GGUF", filename="llama-2-7b.Q4_K_M.gguf")
d = snapshot_download("Qwen/Qwen2.5-7B-Instruct")
emb = SentenceTransformer("all-MiniLM-L6-v2")
chat = ChatOpenAI(model="gpt-4o", temperature=0)
claude = ChatAnthropic(model="claude-3-5-sonnet-20241022")
hub = HuggingFaceHub(repo_id="google/flan-t5-xxl")
ep = HuggingFaceEndpoint(repo_id="HuggingFaceH4/zephyr-7b-beta")
ol = OllamaLLM(model="llama3.1:8b")
hl = HuggingFaceLLM(model_name="StabilityAI/stablelm-tuned-alpha-3b")
oa = OpenAI(model="gpt-4o-mini")
llm = LLM(model="facebook/opt-125m")
bad = ChatOpenAI(model=model_var)
not_a_model = ChatOpenAI(model="my-deployment")
`

const axolotlYAML = `base_model: NousResearch/Llama-2-7b-hf
model_type: LlamaForCausalLM
datasets:
  - path: mhenrichsen/alpaca_2k_test
    type: alpaca
output_dir: ./outputs/lora-out
hub_model_id: acme/llama2-alpaca-lora
`

const notebookJSON = `{
 "cells": [
  {"cell_type": "markdown", "source": ["# Fine-tune\n", "import torch in markdown is not code\n"]},
  {"cell_type": "code", "source": ["!pip install -q unsloth trl\n", "from unsloth import FastLanguageModel\n", "import torch, sklearn.metrics\n"]},
  {"cell_type": "code", "source": "model, tok = FastLanguageModel.from_pretrained(model_name=\"unsloth/llama-3-8b-bnb-4bit\")\n"}
 ],
 "metadata": {}, "nbformat": 4, "nbformat_minor": 5
}`

const plainNotebook = `{"cells": [{"cell_type": "code", "source": ["import pandas as pd\n"]}], "nbformat": 4}`

const requirementsTxt = `# ML
torch==2.3.1
transformers>=4.40,<5 ; python_version >= "3.9"
peft
flask==3.0.0
-r other.txt
--index-url https://download.pytorch.org/whl/cu121
vllm[all] @ https://example.com/vllm.whl
`

const pyprojectTOML = `[project]
name = "svc"
dependencies = [
  "langchain>=0.2",
  "requests",
  "openai==1.35.0",  # client
]

[project.optional-dependencies]
train = ["accelerate>=0.30", "trl"]

[tool.poetry.dependencies]
python = "^3.10"
anthropic = "^0.30"
scikit-learn = { version = "1.5.0", optional = true }
`

const poetryLock = `[[package]]
name = "torch"
version = "2.3.1"
description = "Tensors"

[[package]]
name = "requests"
version = "2.32.0"

[[package]]
name = "xgboost"
version = "2.0.3"
`

const codeowners = `# owners
*            @acme/platform
/models/     @acme/ml-research
*.ipynb      @data-science
/src/serve.py @acme/serving
`

// buildTree writes a project with every kind of asset, and things that must
// be skipped, into dir.
func buildTree(t *testing.T, dir string) {
	t.Helper()
	copyFixture(t, dir, "models/weights/model.safetensors", "formats/benign/hf-repo/model.safetensors")
	copyFixture(t, dir, "models/tiny.gguf", "formats/benign/gguf/plain_v2.gguf")
	copyFixture(t, dir, "models/checkpoint.pt", "models/benign/pytorch/state_dict.pt")
	copyFixture(t, dir, "models/renamed.txt", "models/benign/pickle/plain_dict_p2.pkl")
	copyFixture(t, dir, "models/frame.pkl.gz", "models/benign/pandas/dataframe.pkl.gz")
	copyFixture(t, dir, "models/arrays.npz", "models/benign/numpy/numeric.npz")
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer_config.json", "generation_config.json"} {
		copyFixture(t, dir, "models/llama/"+f, "formats/benign/hf-repo/"+f)
	}
	copyFixture(t, dir, "models/tf/saved_model.pb", "formats/benign/tensorflow/plain_math/saved_model.pb")
	writeFile(t, dir, "models/tf/variables/variables.index", "index")
	writeFile(t, dir, "adapters/lora/adapter_config.json", `{"base_model_name_or_path": "meta-llama/Llama-3.1-8B", "peft_type": "LORA"}`)
	copyFixture(t, dir, "adapters/lora/adapter_model.safetensors", "formats/benign/hf-repo/model.safetensors")
	// A Hugging Face cache: snapshot files are links into blobs/.
	repo := "cache/hub/models--acme--tiny"
	copyFixture(t, dir, repo+"/blobs/aaa", "formats/benign/hf-repo/model.safetensors")
	writeFile(t, dir, repo+"/blobs/bbb", `{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}`)
	writeFile(t, dir, repo+"/refs/main", "0123456789abcdef")
	snap := filepath.Join(dir, filepath.FromSlash(repo+"/snapshots/0123456789abcdef"))
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	mustLink(t, "../../blobs/aaa", filepath.Join(snap, "model.safetensors"))
	mustLink(t, "../../blobs/bbb", filepath.Join(snap, "config.json"))

	writeFile(t, dir, "docs/manual.zip", zipOf(t, map[string]string{"README.md": "# docs"}))
	writeFile(t, dir, "src/train.py", trainPy)
	writeFile(t, dir, "src/serve.py", servePy)
	writeFile(t, dir, "src/util.py", "import os\nMODEL_DIR = 'models/x'\n")
	writeFile(t, dir, "configs/axolotl.yml", axolotlYAML)
	writeFile(t, dir, "configs/app.yaml", "model: resnet\nname: a/b\n")
	writeFile(t, dir, "notebooks/finetune.ipynb", notebookJSON)
	writeFile(t, dir, "notebooks/eda.ipynb", plainNotebook)
	writeFile(t, dir, "requirements.txt", requirementsTxt)
	writeFile(t, dir, "requirements-web.txt", "flask\n")
	writeFile(t, dir, "pyproject.toml", pyprojectTOML)
	writeFile(t, dir, "poetry.lock", poetryLock)
	writeFile(t, dir, ".github/CODEOWNERS", codeowners)
	writeFile(t, dir, "README.md", `model = AutoModel.from_pretrained("in/markdown")`)

	// Skipped: a virtual environment (any name), node_modules, caches.
	writeFile(t, dir, "env311/pyvenv.cfg", "home = /usr/bin\n")
	copyFixture(t, dir, "env311/lib/model.safetensors", "formats/benign/hf-repo/model.safetensors")
	writeFile(t, dir, "node_modules/pkg/train.py", trainPy)
	writeFile(t, dir, "src/__pycache__/train.py", trainPy)
	// A link out of the tree must not be followed.
	outside := t.TempDir()
	copyFixture(t, outside, "secret.safetensors", "formats/benign/hf-repo/model.safetensors")
	mustLink(t, filepath.Join(outside, "secret.safetensors"), filepath.Join(dir, "models", "outside.safetensors"))
	mustLink(t, outside, filepath.Join(dir, "outside-dir"))
}

func mustLink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skip("no symbolic links:", err)
	}
}

// gitCommit commits everything in dir as author.
func gitCommit(t *testing.T, dir, author, email, msg string, paths ...string) {
	t.Helper()
	run := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME="+author, "GIT_AUTHOR_EMAIL="+email,
			"GIT_COMMITTER_NAME="+author, "GIT_COMMITTER_EMAIL="+email, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run(append([]string{"add", "--"}, paths...)...)
	run("commit", "-q", "-m", msg)
}

func find(r *Result, kind Kind, path string) *Asset {
	for i := range r.Assets {
		if r.Assets[i].Kind == kind && r.Assets[i].Path == path {
			return &r.Assets[i]
		}
	}
	return nil
}

func TestDiscoverTree(t *testing.T) {
	dir := t.TempDir()
	buildTree(t, dir)
	hasGit := false
	if _, err := exec.LookPath("git"); err == nil {
		hasGit = true
		cmd := exec.Command("git", "init", "-q")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git init: %v\n%s", err, out)
		}
		gitCommit(t, dir, "Ada Lovelace", "ada@example.com", "models", "models", "adapters")
		gitCommit(t, dir, "Grace Hopper", "grace@example.com", "code", "src", "notebooks", "requirements.txt")
		writeFile(t, dir, "src/train.py", trainPy+"\n")
		gitCommit(t, dir, "Ada Lovelace", "ada@example.com", "tweak", "src/train.py")
	}
	res, err := Discover(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}

	wantFiles := map[string]string{
		"models/tiny.gguf":                 "gguf",
		"models/checkpoint.pt":             "pytorch-zip",
		"models/renamed.txt":               "pickle",
		"models/weights/model.safetensors": "safetensors",
	}
	for p, format := range wantFiles {
		a := find(res, KindModelFile, p)
		if a == nil {
			t.Errorf("model file %s not found", p)
			continue
		}
		if !contains(a.Formats, format) {
			t.Errorf("%s: formats %v, want %s", p, a.Formats, format)
		}
	}
	for _, p := range []string{"models/frame.pkl.gz", "models/arrays.npz"} {
		if find(res, KindArchive, p) == nil {
			t.Errorf("archive %s not found", p)
		}
	}
	if a := find(res, KindModelFolder, "models/llama"); a == nil || a.Type != "huggingface" || a.Architecture != "LlamaForCausalLM" || len(a.Files) != 4 {
		t.Errorf("model folder models/llama: %+v", a)
	}
	if a := find(res, KindModelFolder, "models/tf"); a == nil || a.Type != "saved-model" || len(a.Files) != 2 {
		t.Errorf("saved model: %+v", a)
	}
	if a := find(res, KindModelFolder, "adapters/lora"); a == nil || a.Type != "peft-adapter" || a.BaseModel != "meta-llama/Llama-3.1-8B" {
		t.Errorf("adapter: %+v", a)
	}
	if a := find(res, KindHFCache, "cache/hub/models--acme--tiny/snapshots/0123456789abcdef"); a == nil || a.HubID != "acme/tiny" ||
		a.Revision != "0123456789abcdef" || !contains(a.Formats, "safetensors") || a.Architecture != "LlamaForCausalLM" {
		t.Errorf("cache snapshot: %+v", a)
	}
	if a := find(res, KindNotebook, "notebooks/finetune.ipynb"); a == nil || strings.Join(a.Libraries, ",") != "scikit-learn,torch,trl,unsloth" ||
		len(a.References) != 1 || a.References[0].Model != "unsloth/llama-3-8b-bnb-4bit" || a.References[0].Cell != 3 {
		t.Errorf("notebook: %+v", a)
	}
	if find(res, KindNotebook, "notebooks/eda.ipynb") != nil {
		t.Error("a notebook without ML libraries is not an asset")
	}

	checkPackages(t, res, "requirements.txt", "peft,torch==2.3.1,transformers>=4.40,<5,vllm@ https://example.com/vllm.whl")
	checkPackages(t, res, "pyproject.toml", "accelerate>=0.30,anthropic^0.30,langchain>=0.2,openai==1.35.0,scikit-learn1.5.0,trl")
	checkPackages(t, res, "poetry.lock", "torch==2.3.1,xgboost==2.0.3")
	if find(res, KindDependency, "requirements-web.txt") != nil {
		t.Error("requirements without ML packages is not an asset")
	}

	checkRefs(t, res, "src/train.py", []string{
		"5 meta-llama/Llama-3.1-8B huggingface BASE_MODEL load",
		"7 mistralai/Mistral-7B-v0.1 huggingface from_pretrained load",
		"10 gpt2 huggingface from_pretrained load",
		"11 ./checkpoints/run-3 local from_pretrained load",
		"12 acme/llama-lora huggingface from_pretrained load",
		"13 distilbert/distilbert-base-uncased-finetuned-sst-2-english huggingface pipeline load",
		"14 acme/released-model huggingface push_to_hub push",
	})
	checkRefs(t, res, "src/serve.py", []string{
		"12 TheBloke/Llama-2-7B-GGUF huggingface hf_hub_download load",
		"13 Qwen/Qwen2.5-7B-Instruct huggingface snapshot_download load",
		"14 sentence-transformers/all-MiniLM-L6-v2 huggingface SentenceTransformer load",
		"15 gpt-4o openai ChatOpenAI load",
		"16 claude-3-5-sonnet-20241022 anthropic ChatAnthropic load",
		"17 google/flan-t5-xxl huggingface HuggingFaceHub load",
		"18 HuggingFaceH4/zephyr-7b-beta huggingface HuggingFaceEndpoint load",
		"19 llama3.1:8b ollama OllamaLLM load",
		"20 StabilityAI/stablelm-tuned-alpha-3b huggingface HuggingFaceLLM load",
		"21 gpt-4o-mini openai OpenAI load",
		"22 facebook/opt-125m huggingface LLM load",
	})
	checkRefs(t, res, "configs/axolotl.yml", []string{
		"1 NousResearch/Llama-2-7b-hf huggingface base_model load",
		"7 acme/llama2-alpaca-lora huggingface hub_model_id push",
	})
	for _, p := range []string{"configs/app.yaml", "src/util.py", "README.md"} {
		if find(res, KindReference, p) != nil {
			t.Errorf("%s names no model", p)
		}
	}
	for _, a := range res.Assets {
		for _, bad := range []string{"env311", "node_modules", "__pycache__", "outside", "docs/manual.zip", "blobs"} {
			if strings.Contains(a.Path, bad) {
				t.Errorf("%s %s should have been skipped", a.Kind, a.Path)
			}
		}
	}
	// The two links that leave the tree are not read, and said so (the
	// link rules of every verb, internal/walk).
	out := map[string]bool{}
	for _, u := range res.Unreadable {
		if strings.Contains(u.Error, "outside the folder: not read") {
			out[u.Path] = true
		}
	}
	if !out["models/outside.safetensors"] || !out["outside-dir"] {
		t.Errorf("links out of the tree: %+v", res.Unreadable)
	}

	// Owners: CODEOWNERS, last match wins; then git committers, newest first.
	checkOwners(t, res, KindModelFile, "models/tiny.gguf", "codeowners", "@acme/ml-research")
	checkOwners(t, res, KindNotebook, "notebooks/finetune.ipynb", "codeowners", "@data-science")
	checkOwners(t, res, KindReference, "src/serve.py", "codeowners", "@acme/serving")
	checkOwners(t, res, KindDependency, "poetry.lock", "codeowners", "@acme/platform")
	if hasGit {
		if !res.Git {
			t.Error("git history not read")
		}
		checkOwners(t, res, KindModelFile, "models/tiny.gguf", "git", "Ada Lovelace <ada@example.com>")
		checkOwners(t, res, KindReference, "src/train.py", "git", "Ada Lovelace <ada@example.com>,Grace Hopper <grace@example.com>")
		checkOwners(t, res, KindDependency, "poetry.lock", "git", "")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func checkPackages(t *testing.T, res *Result, path, want string) {
	t.Helper()
	a := find(res, KindDependency, path)
	if a == nil {
		t.Errorf("dependency file %s not found", path)
		return
	}
	var got []string
	for _, p := range a.Packages {
		got = append(got, p.Name+p.Spec)
	}
	if strings.Join(got, ",") != want {
		t.Errorf("%s packages:\n got %s\nwant %s", path, strings.Join(got, ","), want)
	}
}

func checkRefs(t *testing.T, res *Result, path string, want []string) {
	t.Helper()
	a := find(res, KindReference, path)
	if a == nil {
		t.Errorf("references of %s not found", path)
		return
	}
	var got []string
	for _, r := range a.References {
		got = append(got, strings.Join([]string{itoa(r.Line), r.Model, r.Provider, r.Via, r.Role}, " "))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s references:\n got %s\nwant %s", path, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

func checkOwners(t *testing.T, res *Result, kind Kind, path, source, want string) {
	t.Helper()
	a := find(res, kind, path)
	if a == nil {
		t.Errorf("%s %s not found", kind, path)
		return
	}
	var got []string
	for _, o := range a.Owners {
		if o.Source == source {
			got = append(got, o.Name)
		}
	}
	if strings.Join(got, ",") != want {
		t.Errorf("%s %s owners: got %q, want %q", source, path, strings.Join(got, ","), want)
	}
}
