package deps

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	hTorchA   = "sha256:44e88c9affee485ae2abc4ef2d67c50304e735b4b559cb226a50215d7328d532"
	hTorchB   = "sha256:27e062d9b367d4c4d9ba8d548836ac4236cd79b561f50b5c6c5d9a64a9379bb2"
	hTorchCPU = "sha256:322b6366535da36710317498ffe0b7b3ff4e3f4cae4b3b2dc2e9c343f586b05a"
	hNumpyW   = "sha256:042c850632b421a9b99ee3a381a1ee8e81e94ca1a4b1c86e8f24aafd21a20435"
	hNumpyS   = "sha256:472dec314548d6aa9113c5f2c6650c5f53d01d9e95badf930ed658c10fb909a6"
	hRequests = "sha256:9f5dbe98a58b607d8c9c88f295631edd7beb5b1d4c8c30944337e67c0c6e399e"
	hPytest   = "sha256:1644b8c920027d85cd5cf8ef9e6c9f5ac691ee0be06050dbf9fdf6c086043c3d"
	hYAML     = "sha256:769e85c880c91a61a75f75e1c82b5c998455462bee3e6a997a5b1afdf4be0eea"
	hTok      = "sha256:ca88425343dfc91dea646e94ffa6f72c13953207e93bbce3c8a113efdc87c490"
	hSPM      = "sha256:60ec1732ff77892b70d94d812f76daf51be2cb6475d892544c1778df7bd5e2ff"
	hColorama = "sha256:4f1d9991f5acc0ca119f9d443620b77f9d6b33703e51011c16baf57afb285fc6"
	hCertW    = "sha256:dc383c07b76109f368f6106eee2b593b04a011ea4d55f652c6ca24a754d1cdd1"
	hCertS    = "sha256:0569859f95fc761b18b45ef421b1290a0f65f147e92a1e5eb3e635f9a5e4e66f"
	peftRev   = "8dd45b75d7eabe7ee94ecb6a19d552f2aa5e98c6"
	internal  = "https://pypi.internal.example.com/simple"
	pypi      = "https://pypi.org/simple"
)

// pkg builds an expected PyPI package.
func pkg(file string, line int, name, norm, version, spec, markers, source, url string, hashes ...string) Package {
	return Package{
		Name: name, NormalizedName: norm, Version: version, Specifier: spec, Markers: markers,
		Hashes: hashes, Source: source, URL: url, File: file, Line: line, Ecosystem: EcosystemPyPI,
	}
}

func TestParseFixtures(t *testing.T) {
	const dir = "testdata/lockfiles"
	req := dir + "/pip/requirements.txt"
	base := dir + "/pip/requirements/base.txt"
	poetry, uv, pipfile := dir+"/poetry.lock", dir+"/uv.lock", dir+"/Pipfile.lock"
	pdm, pylock, conda := dir+"/pdm.lock", dir+"/pylock.toml", dir+"/environment.yml"
	conda1 := func(line int, name, version, spec, channel string) Package {
		return Package{Name: name, NormalizedName: name, Version: version, Specifier: spec,
			Source: SourceIndex, URL: channel, File: conda, Line: line, Ecosystem: EcosystemConda}
	}
	tests := []struct {
		path string
		want Manifest
	}{
		{req, Manifest{
			Path: req, Kind: KindRequirements,
			ExtraIndexURLs: []string{internal, "https://download.pytorch.org/whl/torch_stable.html"},
			Packages: []Package{
				pkg(base, 2, "requests", "requests", "2.31.0", "", "", SourceIndex, "", hRequests),
				pkg(base, 3, "PyYAML", "pyyaml", "", ">=6.0", "", SourceIndex, ""),
				pkg(req, 9, "torch", "torch", "2.2.1", "", "", SourceIndex, "", hTorchA, hTorchB),
				pkg(req, 12, "transformers", "transformers", "", ">=4.38,<5", `python_version >= "3.9"`, SourceIndex, ""),
				pkg(req, 13, "numpy", "numpy", "1.26.4", "", "", SourceIndex, ""), // from constraints.txt
				pkg(req, 14, "safetensors", "safetensors", "0.4.2", "", "", SourceIndex, ""),
				pkg(req, 15, "tokenizers", "tokenizers", "", "==0.15.*", "", SourceIndex, ""),
				pkg(req, 16, "Pillow", "pillow", "", ">=10.2", "", SourceIndex, ""),
				pkg(req, 17, "my-internal-lib", "my-internal-lib", "1.4.0", "", "", SourceURL,
					"https://files.example.com/wheels/my_internal_lib-1.4.0-py3-none-any.whl"),
				pkg(req, 18, "peft", "peft", "", "", "", SourceVCS, "git+https://github.com/huggingface/peft.git@v0.9.0#egg=peft"),
				pkg(req, 19, "", "", "", "", "", SourcePath, "./vendor/mlutils"),
				pkg(req, 20, "sentencepiece", "sentencepiece", "0.2.0", "", `sys_platform == "linux"`, SourceURL,
					"https://files.example.com/sdist/sentencepiece-0.2.0.tar.gz"),
			},
		}},
		{poetry, Manifest{Path: poetry, Kind: KindPoetry, Locked: true, Packages: []Package{
			pkg(poetry, 3, "certifi", "certifi", "2024.2.2", "", "", SourceIndex, "", hCertW, hCertS),
			pkg(poetry, 14, "colorama", "colorama", "0.4.6", "", `sys_platform == "win32"`, SourceIndex, "", hColorama),
			pkg(poetry, 25, "torch", "torch", "2.2.1+cpu", "", "", SourceIndex, "https://download.pytorch.org/whl/cpu", hTorchCPU),
			pkg(poetry, 43, "peft", "peft", "0.9.0", "", "", SourceVCS, "https://github.com/huggingface/peft.git@"+peftRev),
			pkg(poetry, 58, "mlutils", "mlutils", "0.3.0", "", "", SourcePath, "vendor/mlutils"),
		}}},
		{uv, Manifest{Path: uv, Kind: KindUV, Locked: true, Packages: []Package{
			pkg(uv, 14, "numpy", "numpy", "1.26.4", "", "", SourceIndex, pypi, hNumpyS, hNumpyW),
			pkg(uv, 23, "peft", "peft", "0.9.0", "", "", SourceVCS, "https://github.com/huggingface/peft?rev=v0.9.0#"+peftRev),
			pkg(uv, 28, "internal-tokenizer", "internal-tokenizer", "2.0.1", "", "", SourceIndex, internal, hTok),
			pkg(uv, 41, "sentencepiece", "sentencepiece", "0.2.0", "", "", SourceURL, "https://files.example.com/sdist/sentencepiece-0.2.0.tar.gz", hSPM),
			pkg(uv, 47, "vendored-ops", "vendored-ops", "1.0.0", "", "", SourcePath, "wheels/vendored_ops-1.0.0-py3-none-any.whl", hYAML),
		}}},
		{pipfile, Manifest{Path: pipfile, Kind: KindPipfile, Locked: true, ExtraIndexURLs: []string{internal}, Packages: []Package{
			pkg(pipfile, 24, "numpy", "numpy", "1.26.4", "", "python_version >= '3.9'", SourceIndex, pypi, hNumpyW, hNumpyS),
			pkg(pipfile, 33, "internal-tokenizer", "internal-tokenizer", "2.0.1", "", "", SourceIndex, internal, hTok),
			pkg(pipfile, 40, "peft", "peft", "", "", "", SourceVCS, "https://github.com/huggingface/peft.git@"+peftRev),
			pkg(pipfile, 44, "mlutils", "mlutils", "", "", "", SourcePath, "./vendor/mlutils"),
			pkg(pipfile, 50, "pytest", "pytest", "8.0.2", "", "python_version >= '3.8'", SourceIndex, pypi, hPytest),
		}}},
		{pdm, Manifest{Path: pdm, Kind: KindPDM, Locked: true, Packages: []Package{
			pkg(pdm, 13, "numpy", "numpy", "1.26.4", "", "", SourceIndex, "", hNumpyW, hNumpyS),
			pkg(pdm, 24, "colorama", "colorama", "0.4.6", "", `sys_platform == "win32"`, SourceIndex, "", hColorama),
			pkg(pdm, 35, "peft", "peft", "0.9.0", "", "", SourceVCS, "https://github.com/huggingface/peft.git@"+peftRev),
			pkg(pdm, 45, "sentencepiece", "sentencepiece", "0.2.0", "", "", SourceURL, "https://files.example.com/sdist/sentencepiece-0.2.0.tar.gz", hSPM),
			pkg(pdm, 55, "mlutils", "mlutils", "0.3.0", "", "", SourcePath, "./vendor/mlutils"),
		}}},
		{pylock, Manifest{Path: pylock, Kind: KindPylock, Locked: true, Packages: []Package{
			pkg(pylock, 9, "numpy", "numpy", "1.26.4", "", "", SourceIndex, pypi, hNumpyS, hNumpyW),
			pkg(pylock, 19, "colorama", "colorama", "0.4.6", "", "sys_platform == 'win32'", SourceIndex, pypi, hColorama),
			pkg(pylock, 28, "peft", "peft", "", "", "", SourceVCS, "https://github.com/huggingface/peft.git@"+peftRev),
			pkg(pylock, 32, "sentencepiece", "sentencepiece", "0.2.0", "", "", SourceURL, "https://files.example.com/sdist/sentencepiece-0.2.0.tar.gz", hSPM),
			pkg(pylock, 37, "mlutils", "mlutils", "", "", "", SourcePath, "vendor/mlutils"),
		}}},
		{conda, Manifest{Path: conda, Kind: KindConda, ExtraIndexURLs: []string{internal}, Packages: []Package{
			conda1(7, "python", "", "=3.11", ""),
			conda1(8, "pytorch", "2.2.1", "", "pytorch"),
			conda1(9, "numpy", "1.26.4", "", ""),
			conda1(10, "cudatoolkit", "11.8.0", "", ""),
			conda1(11, "scipy", "", ">=1.11", ""),
			conda1(12, "pip", "", "", ""),
			pkg(conda, 15, "transformers", "transformers", "4.38.2", "", "", SourceIndex, ""),
			pkg(conda, 16, "peft", "peft", "", "", "", SourceVCS, "git+https://github.com/huggingface/peft.git@v0.9.0"),
			pkg(conda, 17, "datasets", "datasets", "", ">=2.17", `python_version >= "3.10"`, SourceIndex, ""),
		}}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			got, err := ParseFileWithin(tt.path, dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				if len(got.Packages) == len(tt.want.Packages) {
					for i := range got.Packages {
						if !reflect.DeepEqual(got.Packages[i], tt.want.Packages[i]) {
							t.Errorf("package %d:\n got %+v\nwant %+v", i, got.Packages[i], tt.want.Packages[i])
						}
					}
				}
				got.Packages, tt.want.Packages = nil, nil
				t.Errorf("manifest:\n got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

// writeFiles writes files (path → content) under a new directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// wantParseError checks that err is a *ParseError at file:line whose
// message contains msg.
func wantParseError(t *testing.T, err error, file string, line int, msg string) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T), want a *ParseError", err, err)
	}
	if filepath.Base(pe.File) != filepath.Base(file) || pe.Line != line || !strings.Contains(pe.Msg, msg) {
		t.Fatalf("error %q, want %s:%d: ...%s...", err, file, line, msg)
	}
}

func TestRequirementLines(t *testing.T) {
	dir := writeFiles(t, map[string]string{"requirements.txt": "" +
		"# comment \\\n" + // 1: a comment ends no continuation
		"a==1 \\\n" + // 2
		"  --hash=sha256:aa \\\n" + // 3
		"  --hash sha256:bb\n" + // 4
		"\n" + // 5
		"b[x,y]>=1,!=1.5 ; os_name == 'posix' # trailing\n" + // 6
		"-ihttps://mirror.example/simple\n" + // 7
		"--extra-index-url=https://extra.example/simple\n" + // 8
		"--find-links ./wheels\n" + // 9
		"--trusted-host extra.example --pre\n" + // 10
		"c===1.0-custom\n" + // 11
		"d == 2.0 --config-settings key=value\n" + // 12
		"e!=2.0\r\n" + // 13
		"-e git+https://example.com/f.git#egg=f-lib[x]&subdirectory=src\n" + // 14
		"./wheels/g_pkg-3.1-py3-none-any.whl\n" + // 15
		"h @ file:///opt/h\n", // 16
	})
	m, err := ParseFile(filepath.Join(dir, "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "requirements.txt")
	want := []Package{
		pkg(f, 2, "a", "a", "1", "", "", SourceIndex, "", "sha256:aa", "sha256:bb"),
		pkg(f, 6, "b", "b", "", ">=1,!=1.5", "os_name == 'posix'", SourceIndex, ""),
		pkg(f, 11, "c", "c", "1.0-custom", "", "", SourceIndex, ""),
		pkg(f, 12, "d", "d", "2.0", "", "", SourceIndex, ""),
		pkg(f, 13, "e", "e", "", "!=2.0", "", SourceIndex, ""),
		pkg(f, 14, "f-lib", "f-lib", "", "", "", SourceVCS, "git+https://example.com/f.git#egg=f-lib[x]&subdirectory=src"),
		pkg(f, 15, "g_pkg", "g-pkg", "3.1", "", "", SourcePath, "./wheels/g_pkg-3.1-py3-none-any.whl"),
		pkg(f, 16, "h", "h", "", "", "", SourcePath, "file:///opt/h"),
	}
	if !reflect.DeepEqual(m.Packages, want) {
		for i := range m.Packages {
			t.Logf("%+v", m.Packages[i])
		}
		t.Fatal("packages differ")
	}
	if m.IndexURL != "https://mirror.example/simple" ||
		!reflect.DeepEqual(m.ExtraIndexURLs, []string{"https://extra.example/simple", "./wheels"}) {
		t.Errorf("indexes %q %q", m.IndexURL, m.ExtraIndexURLs)
	}
}

func TestRequirementIncludes(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"requirements.txt":         "-r requirements/dev.txt\nx==1\n",
		"requirements/dev.txt":     "--requirement=../common/base.txt\ny\n-c ../common/pins.txt\n",
		"common/base.txt":          "z>=2\n",
		"common/pins.txt":          "y==3.0 --hash=sha256:cc\nz==2.5\n",
		"cycle/requirements.txt":   "ok==1\n-r a.txt\n",
		"cycle/a.txt":              "\n-r b.txt\n",
		"cycle/b.txt":              "\n\n-r a.txt\n",
		"diamond/requirements.txt": "-r a.txt\n-r b.txt\n",
		"diamond/a.txt":            "-r c.txt\n",
		"diamond/b.txt":            "-r c.txt\n",
		"diamond/c.txt":            "c==1\n",
		"out/requirements.txt":     "-r ../../outside.txt\n",
		"missing/requirements.txt": "a\n-r nope.txt\n",
		"remote/requirements.txt":  "-r https://example.com/r.txt\n",
	})
	m, err := ParseFile(filepath.Join(dir, "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range m.Packages {
		rel, _ := filepath.Rel(dir, p.File)
		got = append(got, p.Name+"="+p.Version+p.Specifier+" "+rel+":"+string(rune('0'+p.Line))+" "+strings.Join(p.Hashes, ","))
	}
	want := []string{"z=2.5>=2 common/base.txt:1 ", "y=3.0 requirements/dev.txt:2 sha256:cc", "x=1 requirements.txt:2 "}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}

	_, err = ParseFile(filepath.Join(dir, "cycle/requirements.txt"))
	wantParseError(t, err, "b.txt", 3, "include cycle: a.txt -> b.txt -> a.txt")

	m, err = ParseFile(filepath.Join(dir, "diamond/requirements.txt"))
	if err != nil || len(m.Packages) != 1 {
		t.Errorf("diamond: %v %+v", err, m)
	}
	_, err = ParseFileWithin(filepath.Join(dir, "out/requirements.txt"), filepath.Join(dir, "out"))
	wantParseError(t, err, "requirements.txt", 1, "outside the scanned directory")
	_, err = ParseFile(filepath.Join(dir, "missing/requirements.txt"))
	wantParseError(t, err, "requirements.txt", 2, "included file")
	_, err = ParseFile(filepath.Join(dir, "remote/requirements.txt"))
	wantParseError(t, err, "requirements.txt", 1, "remote requirements file")

	// A symbolic link out of the root is refused like a path.
	if err := os.Symlink(filepath.Join(dir, "common"), filepath.Join(dir, "out/link")); err == nil {
		if err := os.WriteFile(filepath.Join(dir, "out/requirements-2.txt"), []byte("-r link/base.txt\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = ParseFileWithin(filepath.Join(dir, "out/requirements-2.txt"), filepath.Join(dir, "out"))
		wantParseError(t, err, "requirements-2.txt", 1, "outside the scanned directory")
	}
}

func TestIncludeDepth(t *testing.T) {
	files := map[string]string{}
	for i := 0; i <= MaxIncludeDepth+1; i++ {
		files["r"+string(rune('a'+i))+".txt"] = "-r r" + string(rune('a'+i+1)) + ".txt\n"
	}
	files["requirements.txt"] = "-r ra.txt\n"
	dir := writeFiles(t, files)
	_, err := ParseFile(filepath.Join(dir, "requirements.txt"))
	wantParseError(t, err, "r"+string(rune('a'+MaxIncludeDepth-1))+".txt", 1, "nested more than 16 deep")
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, content string
		line          int
		msg           string
	}{
		{"requirements.txt", "ok==1\n\nbad name==1\n", 3, "invalid version specifier"},
		{"requirements.txt", "a==1\n--bogus x\n", 2, "unknown option --bogus"},
		{"requirements.txt", "a==1 \\\n --hash=md5\n", 1, "malformed --hash"},
		{"requirements.txt", "a==1\n-i\n", 2, "needs a value"},
		{"requirements.txt", "a>=1;\n", 1, "empty environment markers"},
		{"requirements.txt", "a[x\n", 1, "unclosed extras"},
		{"requirements.txt", "--hash=sha256:aa\n", 1, "--hash without a requirement"},
		{"requirements.txt", "!!!\n", 1, "invalid requirement"},
		{"poetry.lock", "[[package]]\nname = \"a\"\nversion = 1.0.0\n", 3, "invalid TOML"},
		{"poetry.lock", "[[package]]\nname = \"a\"\n\n[[package]]\nversion = \"1\"\n", 4, "package without a name"},
		{"poetry.lock", "[[package]]\nname = \"a\"\n[package.source]\ntype = \"ftp\"\n", 1, "unknown source type"},
		{"uv.lock", "version = 1\n[[package]]\nname = \"a b\"\nversion = \"1\"\n", 2, "invalid package name"},
		{"uv.lock", "version = 1\n[[package]]\nname = \"a\"\nname = \"b\"\n", 4, "invalid TOML"},
		{"pdm.lock", "[metadata]\n[[package]\nname = \"a\"\n", 2, "invalid TOML"},
		{"pylock.toml", "lock-version = \"1.0\"\n[[packages]]\nversion = \"1\"\n", 2, "package without a name"},
		{"pylock.toml", "[[packages]]\nname = \"a\"\n", 0, "no lock-version"},
		{"Pipfile.lock", "{\n  \"default\": {\n    \"a\": {\"version\": \"==1\",}\n  }\n}\n", 3, "invalid JSON"},
		{"Pipfile.lock", "{\n  \"default\": {\n    \"a\": {\"version\": 1}\n  }\n}\n", 3, "invalid JSON"},
		{"Pipfile.lock", "{\n  \"default\": {\n    \"a\": {\"version\": \"==1\", \"index\": \"x\"}\n  }\n}\n", 3, "not in _meta.sources"},
		{"Pipfile.lock", "{\n  \"default\": {\n", 2, "unexpected end"},
		{"environment.yml", "name: x\ndependencies:\n  - numpy\n  - 'unclosed\n", 4, "invalid YAML"},
		{"environment.yml", "dependencies:\n  - numpy\n  - pip:\n    - ok==1\n    - 'bad ~ 1'\n", 5, "invalid"},
		{"environment.yml", "dependencies: numpy\n", 1, "want a list"},
		{"environment.yml", "dependencies:\n  - numpy\n  - '=1.0'\n", 3, "invalid conda package spec"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.msg, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{tt.name: tt.content})
			_, err := ParseFile(filepath.Join(dir, tt.name))
			wantParseError(t, err, tt.name, tt.line, tt.msg)
		})
	}
}

func TestParseLimits(t *testing.T) {
	dir := writeFiles(t, map[string]string{"requirements.txt": strings.Repeat("a\n", MaxPackages+1)})
	_, err := ParseFile(filepath.Join(dir, "requirements.txt"))
	wantParseError(t, err, "requirements.txt", MaxPackages+1, "more than 100000 packages")

	big := filepath.Join(dir, "poetry.lock")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, MaxFileSize+1); err != nil {
		t.Fatal(err)
	}
	_, err = ParseFile(big)
	wantParseError(t, err, "poetry.lock", 0, "file larger than")

	_, err = ParseFile(filepath.Join(dir, "notes.md"))
	wantParseError(t, err, "notes.md", 0, "not a known dependency file")
	if _, err := ParseFile(filepath.Join(dir, "uv.lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestFileKind(t *testing.T) {
	for path, want := range map[string]string{
		"requirements.txt":       KindRequirements,
		"requirements-dev.txt":   KindRequirements,
		"a/requirements/gpu.txt": KindRequirements,
		"constraints.txt":        KindRequirements,
		"Requirements.TXT":       KindRequirements,
		"poetry.lock":            KindPoetry,
		"uv.lock":                KindUV,
		"Pipfile.lock":           KindPipfile,
		"pdm.lock":               KindPDM,
		"pylock.toml":            KindPylock,
		"pylock.gpu.toml":        KindPylock,
		"environment.yml":        KindConda,
		"environment-cuda.yaml":  KindConda,
		"conda.yaml":             KindConda,
		"requirements.in":        "",
		"Pipfile":                KindPipfileTOML,
		"sub/pipfile":            KindPipfileTOML,
		"notes.txt":              "",
		"pyproject.toml":         KindPyproject,
		"setup.cfg":              KindSetupCfg,
		"setup.py":               KindSetupPy,
		"setup.toml":             "",
		"pyproject.toml.bak":     "",
	} {
		if got := FileKind(path); got != want {
			t.Errorf("FileKind(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestFindFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"requirements.txt":                         "a\n",
		"svc/uv.lock":                              "",
		"svc/requirements/base.txt":                "",
		"svc/README.txt":                           "",
		"model/conda.yaml":                         "",
		".git/requirements.txt":                    "",
		"node_modules/x/requirements.txt":          "",
		".venv/pyvenv.cfg":                         "",
		".venv/requirements.txt":                   "",
		"env/conda-meta/history":                   "",
		"env/environment.yml":                      "",
		"lib/__pycache__/requirements.txt":         "",
		"lib/site-packages/x/requirements.txt":     "",
		"lib/python3.11/site-packages/poetry.lock": "",
	})
	outside := writeFiles(t, map[string]string{"poetry.lock": "", "d/pdm.lock": ""})
	links := map[string]string{
		"linked-in/requirements-dev.txt": filepath.Join(dir, "requirements.txt"),
		"linked-out/poetry.lock":         filepath.Join(outside, "poetry.lock"),
		"linkdir":                        filepath.Join(outside, "d"),
	}
	for link, target := range links {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, link)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Skip("no symbolic links:", err)
		}
	}
	got, unreadable, err := FindFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A dependency file linked from outside is not read, and said so.
	if len(unreadable) != 1 || unreadable[0].File != filepath.Join(dir, "linked-out/poetry.lock") || !strings.Contains(unreadable[0].Msg, "outside the folder") {
		t.Errorf("unreadable %v", unreadable)
	}
	for i := range got {
		got[i], _ = filepath.Rel(dir, got[i])
	}
	want := []string{"linked-in/requirements-dev.txt", "model/conda.yaml", "requirements.txt", "svc/requirements/base.txt", "svc/uv.lock"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	one, _, err := FindFiles(filepath.Join(dir, "requirements.txt"))
	if err != nil || len(one) != 1 {
		t.Errorf("file root: %q %v", one, err)
	}
}
