package deps

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
)

// brief is a package as "name version|specifier source url @line".
func brief(m *Manifest) []string {
	var out []string
	for _, p := range m.Packages {
		s := p.Name + " " + p.Version
		if p.Specifier != "" {
			s += p.Specifier
		}
		s += " " + p.Source
		if p.URL != "" {
			s += " " + p.URL
		}
		out = append(out, fmt.Sprintf("%s @%d", s, p.Line))
	}
	return out
}

// parseOne writes files and parses the first name given.
func parseOne(t *testing.T, name string, files map[string]string) *Manifest {
	t.Helper()
	dir := writeFiles(t, files)
	m, err := ParseFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParsePyproject(t *testing.T) {
	m := parseOne(t, "pyproject.toml", map[string]string{"pyproject.toml": `[build-system]
requires = ["setuptools>=61"]

[project]
name = "demo"
dependencies = [
  "numpy>=1.26,<2",
  "torch==2.5.1 ; sys_platform == 'linux'",
  "peft @ git+https://github.com/huggingface/peft@v0.13.0",
]

[project.optional-dependencies]
serve = ["fastapi==0.115.0"]

[dependency-groups]
test = ["pytest~=8.3", {include-group = "lint"}]
lint = ["ruff"]

[tool.uv]
dev-dependencies = ["ipython"]
override-dependencies = ["urllib3==2.2.3"]
constraint-dependencies = ["numpy==1.26.4", "ruff==0.8.0"]
index-strategy = "unsafe-best-match"

[tool.uv.sources]
torch = { index = "pytorch" }
fastapi = { path = "../vendor/fastapi", editable = true }
demo-shared = { workspace = true }

[[tool.uv.index]]
name = "pytorch"
url = "https://download.pytorch.org/whl/cu121"

[[tool.uv.index]]
name = "internal"
url = "https://pypi.internal.example.com/simple"
`})
	want := []string{
		"setuptools >=61 index @2",
		"numpy 1.26.4>=1.26,<2 index @7",
		"torch 2.5.1 index https://download.pytorch.org/whl/cu121 @8",
		"peft  vcs git+https://github.com/huggingface/peft@v0.13.0 @9",
		"fastapi  path ../vendor/fastapi @13",
		"pytest ~=8.3 index @16",
		"ruff 0.8.0 index @17",
		"ipython  index @20",
		"urllib3 2.2.3 index @21",
	}
	if got := brief(m); !reflect.DeepEqual(got, want) {
		t.Errorf("packages\n got %q\nwant %q", got, want)
	}
	if m.Kind != KindPyproject || m.Locked || m.IndexURL != "" ||
		!reflect.DeepEqual(m.ExtraIndexURLs, []string{"https://download.pytorch.org/whl/cu121", internal}) {
		t.Errorf("manifest %+v", m)
	}

	// uv's default strategy takes a package from the first index that has
	// it: no dependency confusion.
	m = parseOne(t, "pyproject.toml", map[string]string{"pyproject.toml": "[project]\ndependencies = [\"torch\"]\n" +
		"[[tool.uv.index]]\nname = \"internal\"\nurl = \"" + internal + "\"\n"})
	if len(m.ExtraIndexURLs) != 0 {
		t.Errorf("first-index strategy: %q", m.ExtraIndexURLs)
	}
}

func TestParsePoetry(t *testing.T) {
	m := parseOne(t, "pyproject.toml", map[string]string{"pyproject.toml": `[tool.poetry]
name = "demo"

[tool.poetry.dependencies]
python = "^3.10"
torch = "^2.5.1"
numpy = "~1.26"
transformers = "4.46.3"
accelerate = ">= 1.0, < 2"
datasets = "*"
safetensors = "0.4.*"
tokenizers = "^0.20 || ^0.21"
peft = { git = "https://github.com/huggingface/peft.git", tag = "v0.13.0" }
local-lib = { path = "../local-lib", develop = true }
wheel-dep = { url = "https://example.com/wheel_dep-1.0-py3-none-any.whl" }
private-pkg = { version = "^1.2", source = "internal" }
scipy = [
  { version = "1.14.1", markers = "python_version >= '3.10'" },
  { version = "1.13.1", markers = "python_version < '3.10'" },
]

[tool.poetry.group.dev.dependencies]
pytest = "^0.0.3"

[[tool.poetry.source]]
name = "internal"
url = "https://pypi.internal.example.com/simple"
priority = "supplemental"
`})
	want := []string{
		"torch >=2.5.1,<3 index @6",
		"numpy >=1.26,<1.27 index @7",
		"transformers 4.46.3 index @8",
		"accelerate >=1.0,<2 index @9",
		"datasets  index @10",
		"safetensors ==0.4.* index @11",
		"tokenizers ^0.20 || ^0.21 index @12",
		"peft  vcs https://github.com/huggingface/peft.git@v0.13.0 @13",
		"local-lib  path ../local-lib @14",
		"wheel-dep  url https://example.com/wheel_dep-1.0-py3-none-any.whl @15",
		"private-pkg >=1.2,<2 index " + internal + " @16",
		"scipy 1.14.1 index @18",
		"scipy 1.13.1 index @19",
		"pytest >=0.0.3,<0.0.4 index @23",
	}
	if got := brief(m); !reflect.DeepEqual(got, want) {
		t.Errorf("packages\n got %q\nwant %q", got, want)
	}
	// A supplemental source is searched after PyPI: dependency confusion.
	if m.IndexURL != "" || !reflect.DeepEqual(m.ExtraIndexURLs, []string{internal}) {
		t.Errorf("indexes %q %q", m.IndexURL, m.ExtraIndexURLs)
	}
	// One primary source replaces PyPI: no confusion.
	m = parseOne(t, "pyproject.toml", map[string]string{"pyproject.toml": "[tool.poetry.dependencies]\ntorch = \"2.5.1\"\n" +
		"[[tool.poetry.source]]\nname = \"internal\"\nurl = \"" + internal + "\"\n"})
	if m.IndexURL != internal || len(m.ExtraIndexURLs) != 0 {
		t.Errorf("primary source: %q %q", m.IndexURL, m.ExtraIndexURLs)
	}
}

func TestPoetryConstraint(t *testing.T) {
	for in, want := range map[string]string{
		"":             "",
		"*":            "",
		"^1.2.3":       ">=1.2.3,<2",
		"^0.2.3":       ">=0.2.3,<0.3",
		"^0.0.3":       ">=0.0.3,<0.0.4",
		"^0.0":         ">=0.0,<0.1",
		"^0":           ">=0,<1",
		"^2.5.0rc1":    ">=2.5.0rc1,<3",
		"^1!2.0":       ">=1!2.0,<1!3",
		"~1.2.3":       ">=1.2.3,<1.3",
		"~1.2":         ">=1.2,<1.3",
		"~1":           ">=1,<2",
		"~=1.2":        "~=1.2",
		"1.2.3":        "==1.2.3",
		"1.2.*":        "==1.2.*",
		">= 1.2, < 2":  ">=1.2,<2",
		">=1.2 <2":     ">=1.2,<2",
		"==2.0":        "==2.0",
		"^1.0 || ^2.0": "^1.0 || ^2.0",
	} {
		got, err := poetryConstraint(in)
		if err != nil || got != want {
			t.Errorf("poetryConstraint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := poetryConstraint("^x.y"); err == nil {
		t.Error("^x.y accepted")
	}
}

func TestParsePDMSources(t *testing.T) {
	m := parseOne(t, "pyproject.toml", map[string]string{"pyproject.toml": `[project]
dependencies = ["torch==2.5.1"]

[tool.pdm.dev-dependencies]
test = ["pytest>=8", "-e file:///${PROJECT_ROOT}/libs/common#egg=common"]

[[tool.pdm.source]]
name = "pypi"
url = "https://mirror.example.com/simple"

[[tool.pdm.source]]
name = "internal"
url = "https://pypi.internal.example.com/simple"
`})
	want := []string{"torch 2.5.1 index @2", "pytest >=8 index @5", "common  path file:///${PROJECT_ROOT}/libs/common#egg=common @5"}
	if got := brief(m); !reflect.DeepEqual(got, want) {
		t.Errorf("packages\n got %q\nwant %q", got, want)
	}
	if m.IndexURL != "https://mirror.example.com/simple" || !reflect.DeepEqual(m.ExtraIndexURLs, []string{internal}) {
		t.Errorf("indexes %q %q", m.IndexURL, m.ExtraIndexURLs)
	}
}

func TestParsePyprojectDynamic(t *testing.T) {
	// setuptools reads the requirements files; they are read too.
	m := parseOne(t, "pyproject.toml", map[string]string{
		"pyproject.toml": "[project]\nname = \"x\"\ndynamic = [\"dependencies\", \"optional-dependencies\"]\n" +
			"[tool.setuptools.dynamic]\ndependencies = {file = [\"requirements.in\"]}\n" +
			"optional-dependencies.gpu = {file = \"gpu.txt\"}\n",
		"requirements.in": "torch==2.5.1\n",
		"gpu.txt":         "triton==3.1.0\n",
	})
	if got := brief(m); !reflect.DeepEqual(got, []string{"torch 2.5.1 index @1", "triton 3.1.0 index @1"}) || m.Unread != nil {
		t.Errorf("setuptools dynamic: %q %v", got, m.Unread)
	}
	// Dynamic without a file and without setup.py: unread.
	m = parseOne(t, "pyproject.toml", map[string]string{"pyproject.toml": "[project]\nname = \"x\"\ndynamic = [\"version\", \"dependencies\"]\n"})
	if len(m.Unread) != 1 || m.Unread[0].Line != 3 || !strings.Contains(m.Unread[0].Msg, "could not read statically") {
		t.Errorf("unread: %+v", m.Unread)
	}
	// Beside a setup.py, which is read as a manifest of its own.
	m = parseOne(t, "pyproject.toml", map[string]string{"pyproject.toml": "[project]\ndynamic = [\"dependencies\"]\n", "setup.py": ""})
	if m.Unread != nil {
		t.Errorf("with setup.py: %+v", m.Unread)
	}
}

func TestParsePipfile(t *testing.T) {
	m := parseOne(t, "Pipfile", map[string]string{"Pipfile": `[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[[source]]
url = "https://download.pytorch.org/whl/cu121"
verify_ssl = true
name = "pytorch"

[packages]
torch = {version = "==2.5.1", index = "pytorch"}
numpy = "*"
requests = ">=2.31,<3"
peft = {git = "https://github.com/huggingface/peft.git", ref = "v0.13.0"}
mylib = {path = "./mylib", editable = true}

[dev-packages]
pytest = "==8.3.3"

[requires]
python_version = "3.11"
`})
	want := []string{
		"torch 2.5.1 index https://download.pytorch.org/whl/cu121 @12",
		"numpy  index @13",
		"requests >=2.31,<3 index @14",
		"peft  vcs https://github.com/huggingface/peft.git@v0.13.0 @15",
		"mylib  path ./mylib @16",
		"pytest 8.3.3 index @19",
	}
	if got := brief(m); !reflect.DeepEqual(got, want) {
		t.Errorf("packages\n got %q\nwant %q", got, want)
	}
	if m.Kind != KindPipfileTOML || m.IndexURL != "" || !reflect.DeepEqual(m.ExtraIndexURLs, []string{"https://download.pytorch.org/whl/cu121"}) {
		t.Errorf("manifest %+v", m)
	}
}

func TestParseSetupCfg(t *testing.T) {
	m := parseOne(t, "setup.cfg", map[string]string{
		"setup.cfg": `[metadata]
name = demo

[options]
install_requires =
    numpy>=1.26
    # a comment
    torch==2.5.1; sys_platform == "linux"
setup_requires = setuptools_scm==8.1.0; wheel==0.45.1
tests_require = pytest

[options.extras_require]
serve =
    fastapi==0.115.0
docs = file: docs/requirements.txt
`,
		"docs/requirements.txt": "sphinx==8.1.3\n",
	})
	want := []string{
		"numpy >=1.26 index @6",
		"torch 2.5.1 index @8",
		"setuptools_scm 8.1.0 index @9",
		"wheel 0.45.1 index @9",
		"fastapi 0.115.0 index @14",
		"sphinx 8.1.3 index @1",
	}
	if got := brief(m); !reflect.DeepEqual(got, want) {
		t.Errorf("packages\n got %q\nwant %q", got, want)
	}
}

func TestParseSetupPy(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
		unread    string
	}{
		{"keyword literals", `from setuptools import setup
setup(
    name="demo",
    install_requires=["numpy>=1.26", 'torch' '==2.5.1',],  # comment
    extras_require={"gpu": ["triton==3.1.0"], 'docs': "sphinx"},
    setup_requires=("setuptools_scm",),
)
`, []string{"numpy >=1.26 index @4", "torch 2.5.1 index @4", "triton 3.1.0 index @5", "sphinx  index @5", "setuptools_scm  index @6"}, ""},
		{"a variable assigned once", `REQUIRED = [
    "requests==2.32.3",
    "pyyaml>=6",
]
setup(install_requires=REQUIRED)
`, []string{"requests 2.32.3 index @2", "pyyaml >=6 index @3"}, ""},
		{"a statement and a dict", `install_requires = ["a==1"]
kwargs = {"setup_requires": ["b==2"]}
kwargs["extras_require"] = {"x": ["c==3"]}
setup(install_requires=install_requires, **kwargs)
`, []string{"a 1 index @1", "b 2 index @2", "c 3 index @3"}, ""},
		{"a multi-line string", "setup(install_requires=\"\"\"\nnumpy==2.1.0\n# pinned\ntorch==2.5.1\n\"\"\")\n",
			[]string{"numpy 2.1.0 index @2", "torch 2.5.1 index @4"}, ""},
		{"read from a file", `def reqs():
    return open("requirements.txt").read().splitlines()
setup(install_requires=reqs(), extras_require={"gpu": ["triton==3.1.0"]})
`, []string{"triton 3.1.0 index @3"}, "install_requires is computed"},
		{"a variable appended to", `REQUIRED = ["numpy==2.1.0"]
if sys.platform == "win32":
    REQUIRED.append("pywin32==308")
setup(install_requires=REQUIRED)
`, []string{}, "install_requires is REQUIRED"},
		{"a sum", `setup(install_requires=["a==1"] + EXTRA)
`, []string{}, "install_requires is computed"},
		{"an f-string", `setup(install_requires=[f"torch=={TORCH}"])
`, []string{}, "install_requires is computed"},
		{"a comprehension", `setup(install_requires=[r for r in REQS if r])
`, []string{}, "install_requires is computed"},
		{"changed through a dict", `kwargs = {}
kwargs["install_requires"] += ["x==1"]
setup(**kwargs)
`, []string{}, "install_requires changed by code"},
		{"no requirements", "from setuptools import setup\nsetup(name='x', packages=['x'])\n", []string{}, ""},
		{"mentions that are not arguments", `"""install_requires"""
def install_requires(): pass
print(config.install_requires)
`, []string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parseOne(t, "setup.py", map[string]string{"setup.py": tt.src})
			got := brief(m)
			if got == nil {
				got = []string{}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("packages\n got %q\nwant %q", got, tt.want)
			}
			switch {
			case tt.unread == "" && m.Unread != nil:
				t.Errorf("unread %+v", m.Unread)
			case tt.unread != "" && (len(m.Unread) != 1 || !strings.Contains(m.Unread[0].Msg, tt.unread) || !strings.Contains(m.Unread[0].Msg, "could not read statically")):
				t.Errorf("unread %+v, want %q", m.Unread, tt.unread)
			}
		})
	}
}

func TestParseProjectErrors(t *testing.T) {
	tests := []struct {
		name, content string
		line          int
		msg           string
	}{
		{"pyproject.toml", "[project]\ndependencies = [\n  \"ok\",\n  \"bad name ~ 1\",\n]\n", 4, "invalid version specifier"},
		{"pyproject.toml", "[project]\ndependencies = \"torch\"\n", 2, "invalid TOML"},
		{"pyproject.toml", "[dependency-groups]\ndev = [\n  {include = \"x\"},\n]\n", 3, "include-group"},
		{"pyproject.toml", "[tool.poetry.dependencies]\ntorch = 2\n", 2, "want a version constraint"},
		{"pyproject.toml", "[tool.poetry.dependencies]\ntorch = \"^two\"\n", 2, "invalid PEP 440 version"},
		{"pyproject.toml", "[tool.poetry.dependencies]\ntorch = {version = \"2\", source = \"nope\"}\n", 2, "not a [[tool.poetry.source]]"},
		{"pyproject.toml", "[[tool.poetry.source]]\nname = \"x\"\nurl = \"u\"\npriority = \"first\"\n", 1, "unknown priority"},
		{"pyproject.toml", "[project]\ndependencies = [\"torch\"]\n[tool.uv.sources]\ntorch = {index = \"nope\"}\n", 4, "not a [[tool.uv.index]]"},
		{"pyproject.toml", "[project]\ndynamic = [\"dependencies\"]\n[tool.setuptools.dynamic]\ndependencies = {file = [\"missing.txt\"]}\n", 2, "included file"},
		{"Pipfile", "[packages]\ntorch = \"2.5.1\"\n", 2, "invalid version specifier"},
		{"Pipfile", "[packages]\ntorch = {version = \"==2.5.1\", index = \"nope\"}\n", 2, "not a [[source]]"},
		{"Pipfile", "[packages]\n\"bad name\" = \"*\"\n", 2, "invalid package name"},
		{"Pipfile", "[packages\ntorch = \"*\"\n", 1, "invalid TOML"},
		{"setup.cfg", "[options]\ninstall_requires =\n    torch==2.5.1\n    !!\n", 4, "invalid requirement"},
		{"setup.cfg", "  indented\n", 1, "indented line outside a value"},
		{"setup.cfg", "[options\n", 1, "unclosed section"},
		{"setup.cfg", "[options]\njust words\n", 2, "nor key = value"},
		{"setup.py", "setup(install_requires=['torch==2.5.1', 'bad ~ name'])\n", 1, "invalid version specifier"},
		{"setup.py", "x = 'unterminated\nsetup()\n", 1, "unterminated string"},
		{"setup.py", "x = \"\"\"never closed\n\n", 1, "unterminated string"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.msg, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{tt.name: tt.content})
			_, err := ParseFile(filepath.Join(dir, tt.name))
			wantParseError(t, err, tt.name, tt.line, tt.msg)
		})
	}
	big := strings.Repeat("#\n", maxSetupPySize/2+1)
	_, err := ParseBytes("setup.py", []byte(big))
	wantParseError(t, err, "setup.py", 0, "larger than")
}

// TestProjectFilesChecked: a typosquat, a malicious package and a
// vulnerable range are found in each kind of project file, through
// CheckPath (the folder walk finds them all).
func TestProjectFilesChecked(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a/pyproject.toml":        "[project]\ndependencies = [\"transfromers==4.46.3\", \"torchtriton\", \"torch>=2.0,<2.6\"]\n",
		"b/pyproject.toml":        "[tool.poetry.dependencies]\ntransfromers = \"4.46.3\"\ntorchtriton = \"*\"\ntorch = \"~2.5.1\"\n",
		"c/pyproject.toml":        "[tool.pdm.dev-dependencies]\ndev = [\"transfromers==4.46.3\", \"torchtriton\", \"torch~=2.5.0\"]\n",
		"d/pyproject.toml":        "[tool.uv]\ndev-dependencies = [\"transfromers==4.46.3\", \"torchtriton\", \"torch==2.5.*\"]\n",
		"e/pyproject.toml":        "[dependency-groups]\ndev = [\"transfromers==4.46.3\", \"torchtriton\", \"torch<2.6\"]\n",
		"f/Pipfile":               "[packages]\ntransfromers = \"==4.46.3\"\ntorchtriton = \"*\"\ntorch = \">=2.0,<2.6\"\n",
		"g/setup.cfg":             "[options]\ninstall_requires =\n    transfromers==4.46.3\n    torchtriton\n    torch<2.6\n",
		"h/setup.py":              "setup(install_requires=['transfromers==4.46.3', 'torchtriton', 'torch<2.6'])\n",
		"h/sub/ignored/notes.txt": "torchtriton\n",
	})
	db, err := OpenDB(osvTestdata)
	if err != nil {
		t.Fatal(err)
	}
	r, err := CheckPath(context.Background(), dir, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Manifests) != 8 {
		t.Fatalf("%d manifests", len(r.Manifests))
	}
	for _, m := range r.Manifests {
		for _, want := range []struct{ rule, text string }{
			{finding.DepsTyposquat, "transfromers looks like transformers"},
			{finding.DepsMalicious, "torchtriton (any version) is malicious"},
			{finding.DepsVulnerable, "GHSA-53q9-r3pm-6pq6"},
		} {
			if !slices.ContainsFunc(r.Findings, func(f finding.Finding) bool {
				return f.Location.Path == m.Path && f.Rule == want.rule && strings.Contains(f.Message, want.text) && f.Location.Line > 0
			}) {
				t.Errorf("%s: no %s %q", m.Path, want.rule, want.text)
			}
		}
	}
}
