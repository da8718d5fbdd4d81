package hfrepo_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/hfrepo"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/scan"
)

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// analyze runs the analyzer on the file at p, as the engine would for a
// file on disk.
func analyze(t *testing.T, p string) []finding.Finding {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	in := analyzer.NewBytesInput(filepath.Base(p), data)
	in.Location.Path = p
	a := hfrepo.Analyzer{}
	if !a.Sniff(in) {
		t.Fatalf("Sniff rejected %s", p)
	}
	c := &testutil.Output{}
	if err := a.Analyze(context.Background(), in, c); err != nil {
		t.Fatal(err)
	}
	return c.Findings
}

const modelingEvil = `"""Evil model.

Docstring text: import os
"""
# import shutil in a comment
from .helpers import x
from transformers import PreTrainedModel
s = 'import ctypes'
t = f"{'import pty'}"

class EvilModel(PreTrainedModel):
    def forward(self):
        import subprocess
        return self.eval()
`

func evilFolder(t *testing.T) string {
	dir := t.TempDir()
	write(t, dir, "config.json", `{"model_type": "evil", "auto_map": {"AutoConfig": "configuration_evil.EvilConfig", "AutoModelForCausalLM": "modeling_evil.EvilModel"}}`)
	write(t, dir, "configuration_evil.py", "from transformers import PretrainedConfig\nclass EvilConfig(PretrainedConfig):\n    pass\n")
	write(t, dir, "modeling_evil.py", modelingEvil)
	write(t, dir, "helpers.py", "import socket\nx = 1\n")
	return dir
}

func TestAutoMap(t *testing.T) {
	dir := evilFolder(t)
	fs := analyze(t, filepath.Join(dir, "config.json"))
	var remote, imports []finding.Finding
	for _, f := range fs {
		switch f.Rule {
		case finding.HFRemoteCode:
			remote = append(remote, f)
		case finding.HFRemoteCodeImports:
			imports = append(imports, f)
		default:
			t.Errorf("unexpected finding %s: %s", f.Rule, f.Message)
		}
	}
	if len(remote) != 1 || !strings.Contains(remote[0].Message, "modeling_evil.py") || !strings.Contains(remote[0].Message, "configuration_evil.py") ||
		!strings.Contains(remote[0].Message, "EvilModel") {
		t.Fatalf("remote code findings: %+v", remote)
	}
	got := map[string]string{}
	for _, f := range imports {
		got[f.Evidence] = f.Message
	}
	for _, want := range []string{"modeling_evil.py:13: import subprocess", "helpers.py:1: import socket"} {
		if _, ok := got[want]; !ok {
			t.Errorf("missing import finding %q; got %v", want, got)
		}
	}
	if len(imports) != 2 {
		t.Errorf("want 2 import findings (no os from the docstring), got %v", got)
	}
}

func TestCrossRepo(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "config.json", `{"auto_map": {"AutoModel": "someone/other--modeling.X"}}`)
	write(t, dir, "modeling.py", "import subprocess\n") // not this repository's code
	fs := analyze(t, p)
	if len(fs) != 1 || fs[0].Rule != finding.HFRemoteCode || !strings.Contains(fs[0].Message, "ANOTHER repository (someone/other)") {
		t.Fatalf("findings: %+v", fs)
	}
}

func TestTokenizerList(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "tokenizer_config.json", `{"auto_map": {"AutoTokenizer": ["tokenization_x.XTokenizer", null]}}`)
	write(t, dir, "tokenization_x.py", "import requests\n")
	fs := analyze(t, p)
	if len(fs) != 2 || fs[1].Rule != finding.HFRemoteCodeImports || !strings.Contains(fs[1].Message, "requests") {
		t.Fatalf("findings: %+v", fs)
	}
}

func TestPlainConfig(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "config.json", `{"model_type": "llama", "hidden_size": 4096, "architectures": ["LlamaForCausalLM"]}`)
	if fs := analyze(t, p); len(fs) != 0 {
		t.Fatalf("findings on a plain config: %+v", fs)
	}
}

func TestEscape(t *testing.T) {
	root := t.TempDir()
	write(t, root, "secret.py", "import subprocess\n")
	dir := filepath.Join(root, "model")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := write(t, dir, "config.json", `{"auto_map": {"AutoModel": "../secret.X", "AutoConfig": "link.Y"}}`)
	if err := os.Symlink(filepath.Join(root, "secret.py"), filepath.Join(dir, "link.py")); err != nil {
		t.Skip("no symlinks:", err)
	}
	fs := analyze(t, p)
	if len(fs) != 1 || fs[0].Rule != finding.HFRemoteCode || !strings.Contains(fs[0].Message, "were not read") {
		t.Fatalf("findings: %+v", fs)
	}
}

func TestScanEngine(t *testing.T) {
	dir := evilFolder(t)
	opts := scan.Options{
		Analyzers: scan.Analyzers(pickle.DefaultPolicy()),
		Limits:    analyzer.DefaultLimits(),
	}
	r, err := scan.Scan(context.Background(), []string{dir}, opts)
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]int{}
	for _, f := range r.Files {
		for _, x := range f.Findings {
			rules[x.Rule]++
		}
	}
	if rules[finding.HFRemoteCode] != 1 || rules[finding.HFRemoteCodeImports] != 2 {
		t.Fatalf("rules found: %v", rules)
	}
}

func TestParsePython(t *testing.T) {
	src := "import a.b as c, d\nfrom x.y import (p,\n  q as r)\nfrom . import z\n" +
		"m = __import__('os')\nimportlib.import_module(\"socket\")\n" +
		"import e \\\n  , f\nx = re.compile('a'); exec(code)\ndef eval(self): pass\n" +
		"'''\nimport nope\n'''\ns = \"it's \\\" import no\"\nr'\\'import no'\n"
	py := hfrepo.ParsePython([]byte(src))
	var mods []string
	for _, imp := range py.Imports {
		mods = append(mods, imp.Module)
	}
	want := "a.b d x.y . os socket e f"
	if strings.Join(mods, " ") != want {
		t.Fatalf("modules %q, want %q", strings.Join(mods, " "), want)
	}
	if got := py.Imports[2].Names; strings.Join(got, ",") != "p,q" {
		t.Errorf("from-import names %v", got)
	}
	var calls []string
	for _, c := range py.Calls {
		calls = append(calls, c.Name)
	}
	if strings.Join(calls, " ") != "__import__ exec" {
		t.Errorf("calls %v", calls)
	}
}

func FuzzParsePython(f *testing.F) {
	f.Add([]byte(modelingEvil))
	f.Add([]byte("from . import (a,\n b)\nimport x.y as z; __import__('q')\n"))
	f.Add([]byte("f'{\"a\" + f\"{x!r}\"}' '''\\\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		py := hfrepo.ParsePython(src)
		for _, imp := range py.Imports {
			if imp.Line < 1 {
				t.Fatalf("line %d", imp.Line)
			}
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"auto_map": {"AutoTokenizer": ["a.B", null], "AutoModel": "o/r--m.C"}, "custom_pipelines": {"t": {"impl": "p.P"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = hfrepo.ParseConfig(data)
	})
}

func TestPipelinesAndMentions(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "config.json", `{"custom_pipelines": {"my-task": {"impl": "pipe.MyPipeline", "pt": ["AutoModel"]}}}`)
	write(t, dir, "pipe.py", "import os\nos.system('id')\n")
	fs := analyze(t, p)
	if len(fs) != 2 || fs[0].Rule != finding.HFRemoteCode || !strings.Contains(fs[0].Message, "pipe.py") || fs[1].Evidence != "pipe.py:1: import os" {
		t.Fatalf("findings: %+v", fs)
	}
	p = write(t, dir, "generation_config.json", `{"trust_remote_code": true}`)
	if fs := analyze(t, p); len(fs) != 1 || fs[0].Rule != finding.HFRemoteCode {
		t.Fatalf("findings: %+v", fs)
	}
	for _, mention := range []string{`{"trust_remote_code": false}`, `{"description": "load with trust_remote_code=True"}`, `{"loader": {"trust_remote_code": true}}`} {
		p = write(t, dir, "tokenizer_config.json", mention)
		if fs := analyze(t, p); len(fs) != 0 {
			t.Errorf("%s: findings %+v", mention, fs)
		}
	}
	in := analyzer.NewBytesInput("weights.json", []byte(`{"auto_map": {}}`))
	if (hfrepo.Analyzer{}).Sniff(in) {
		t.Error("Sniff accepted weights.json")
	}
}

// TestOtherLibrariesConfig: a config.json that transformers would not
// read (Keras writes one into every .keras file) is not reported as a
// Hugging Face configuration.
func TestOtherLibrariesConfig(t *testing.T) {
	for _, tc := range []struct {
		json string
		hf   bool
	}{
		{`{"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": []}}`, false},
		{`{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}`, true},
	} {
		in := analyzer.NewBytesInput("config.json", []byte(tc.json))
		c := &testutil.Output{}
		if err := (hfrepo.Analyzer{}).Analyze(context.Background(), in, c); err != nil {
			t.Fatal(err)
		}
		if got := len(c.Formats) == 1 && c.Formats[0] == "hf-config"; got != tc.hf || len(c.Findings) != 0 {
			t.Errorf("%s: formats %v findings %v", tc.json, c.Formats, c.Findings)
		}
	}
}
