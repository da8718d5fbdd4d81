package discover

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/deps"
)

// pkgs writes packages as "name spec @line".
func pkgs(ps []Package) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s %s @%d", p.Name, p.Spec, p.Line))
	}
	return out
}

// pyproject.toml and Pipfile are read with go-toml: values are what TOML
// says (escapes, literal and multi-line strings), dotted keys are tables,
// and each package has the line of its string.
func TestDependencyTOML(t *testing.T) {
	for _, tt := range []struct {
		name  string
		parse depParser
		src   string
		want  []string
	}{
		{"pyproject", parsePyproject, `[project]
name = "svc"
dependencies = [
  "\u0074orch==2.1.0",     # an escape
  'transformers >= 4.40 , < 5',
  """peft""",
  "requests",
]
optional-dependencies.train = ["trl; python_version >= '3.9'"]

[project.optional-dependencies]
serve = ["vllm[all] @ https://example.com/vllm-0.6.0-py3-none-any.whl"]

[dependency-groups]
dev = ["pytest", {include-group = "train"}]

[tool.uv]
dev-dependencies = ["accelerate>=0.30"]

[tool.poetry.dependencies]
python = "^3.10"
anthropic = "^0.30"
"scikit-learn" = { version = "1.5.0", optional = true }
langchain = { git = "https://github.com/langchain-ai/langchain" }

[tool.poetry.group.dev.dependencies]
openai = "*"
`, []string{"torch ==2.1.0 @4", "transformers >=4.40,<5 @5", "peft  @6", "requests  @7", "trl  @9",
			"vllm ==0.6.0 @12", "pytest  @15", "accelerate >=0.30 @18",
			"anthropic ^0.30 @22", "scikit-learn 1.5.0 @23", "langchain git https://github.com/langchain-ai/langchain @24", "openai  @27"}},
		{"pipfile", parsePipfile, "[[source]]\nurl = 'https://pypi.org/simple'\n\n[packages]\ntorch = \"==2.1\"\n" +
			"transformers = {version = \">=4.40\", extras = [\"torch\"]}\n\n[dev-packages]\n'pytest' = '*'\n",
			[]string{"torch ==2.1 @5", "transformers >=4.40 @6", "pytest  @9"}},
		// What precedes a TOML syntax error is read, the rest is not.
		{"a syntax error", parsePyproject, "[project]\ndependencies = [\"torch\"]\n[tool.poetry.dependencies\nvllm = \"*\"\n",
			[]string{"torch  @2"}},
		{"not TOML", parsePyproject, "dependencies = [\"torch\"\n", []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := pkgs(tt.parse([]byte(tt.src))); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// A TOML document larger than deps' limit is not parsed.
func TestDependencyTOMLLimit(t *testing.T) {
	src := "[project]\ndependencies = [\"torch\"]\n" + strings.Repeat("#", deps.MaxFileSize)
	if got := parsePyproject([]byte(src)); len(got) != 0 {
		t.Errorf("read %v", got)
	}
	if got := parsePyproject([]byte(src[:deps.MaxFileSize])); len(got) != 1 {
		t.Errorf("at the limit: %v", got)
	}
}

// Requirements are read with violet deps' PEP 508 parser wherever they
// are: the spec is deps' (a pin, a URL, the specifier without spaces), and
// what is not a requirement names no package.
func TestDependencyRequirements(t *testing.T) {
	for _, tt := range []struct {
		name  string
		parse depParser
		src   string
		want  []string
	}{
		{"setup.py", parseSetupPy, `setup(
    install_requires=["tor\x63h >= 2.1 , < 3", 'peft', "not a requirement"],
    extras_require={"serve": ["vllm==0.6.0"], 'llm': """openai
anthropic (>=0.30)"""},
    requires=[f"jax=={V}"],
)
`, []string{"torch >=2.1,<3 @2", "peft  @2", "vllm ==0.6.0 @3", "openai  @3", "anthropic >=0.30 @4"}},
		{"setup.cfg", parseSetupCfg, "[options]\ninstall_requires =\n    torch ~= 2.1\n    git+https://e/x.git\n" +
			"[options.extras_require]\nllm = openai @ https://e/openai.tar.gz\n",
			[]string{"torch ~=2.1 @3", "openai @ https://e/openai.tar.gz @6"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := pkgs(tt.parse([]byte(tt.src))); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %q\nwant %q", got, tt.want)
			}
		})
	}
	libs := map[string]bool{}
	importedLibraries("!pip install 'torch>=2' git+https://e/x.git \"transformers[torch]\"\n", libs)
	if !reflect.DeepEqual(libs, map[string]bool{"torch": true, "transformers": true}) {
		t.Errorf("notebook installs: %v", libs)
	}
}

// Python code is read with internal/pysrc: a model id written with
// escapes is the string Python passes.
func TestReferencesStringValues(t *testing.T) {
	c := &refCollector{}
	pythonRefs([]byte("m = AutoModel.from_pretrained(\"acme\\x2fllama\")\nMODEL_ID = 'meta-llama/Llama-3.1-8B' \\\r\n\nt = f'{x}/y'\n"), c)
	var got []string
	for _, r := range c.sorted() {
		got = append(got, fmt.Sprintf("%d %s %s", r.Line, r.Model, r.Via))
	}
	want := []string{"1 acme/llama from_pretrained", "2 meta-llama/Llama-3.1-8B MODEL_ID"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %q\nwant %q", got, want)
	}
}
