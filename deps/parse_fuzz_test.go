package deps

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fuzzParse runs a parser on data as the file name in an empty
// directory, and checks it neither panics nor returns anything but a
// manifest or a *ParseError with sane packages.
func fuzzParse(f *testing.F, format *fileFormat, name string, seeds ...string) {
	if data, err := os.ReadFile(filepath.Join("testdata/lockfiles", name)); err == nil {
		f.Add(data)
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(dir, filepath.Base(name))
		st := &parseState{root: dir, m: &Manifest{Path: file, Kind: format.kind}, seen: map[string]bool{}, stack: []string{file}}
		err := format.parse(st, file, data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if pe.Line < 0 || pe.File == "" {
				t.Fatalf("bad position in %q", err)
			}
			return
		}
		if n := len(st.m.Packages); n > MaxPackages || n > len(data) {
			t.Fatalf("%d packages from %d bytes", n, len(data))
		}
		for _, p := range st.m.Packages {
			if p.File != file || p.Line < 0 || p.Source == "" || p.Ecosystem == "" {
				t.Fatalf("bad package %+v", p)
			}
		}
	})
}

func FuzzParseRequirements(f *testing.F) {
	fuzzParse(f, formatRequirements, "pip/requirements.txt",
		"a==1 \\\n --hash=sha256:aa\n-r other.txt\n", "-e .[dev]\nx @ https://e/x-1.0.tar.gz ; os_name=='nt'\n",
		"b (>=1,<2); python_version<'3'\n-i\n", "git+https://e/r.git#egg=c\\")
}

func FuzzParsePoetryLock(f *testing.F) {
	fuzzParse(f, formatPoetry, "poetry.lock", "[[package]]\nname='a'\nmarkers={main='x'}\n[metadata.files]\na=[{file='f',hash='h'}]\n")
}

func FuzzParseUVLock(f *testing.F) {
	fuzzParse(f, formatUV, "uv.lock", "[[package]]\nname='a'\nsource={git='g'}\n")
}

func FuzzParsePipfileLock(f *testing.F) {
	fuzzParse(f, formatPipfile, "Pipfile.lock", `{"_meta":{"sources":[{"name":"a","url":"u"}]},"default":{"x":{"index":"a"}}}`, `{"develop":{"x":[]}}`)
}

func FuzzParsePDMLock(f *testing.F) {
	fuzzParse(f, formatPDM, "pdm.lock", "[[package]]\nname='a'\nversion='1'\n[metadata.files]\n'a 1'=[{hash='h'}]\n")
}

func FuzzParsePylock(f *testing.F) {
	fuzzParse(f, formatPylock, "pylock.toml", "lock-version='1.0'\npackages=[{name='a',archive={path='p'}}]\n")
}

func FuzzParseCondaEnv(f *testing.F) {
	fuzzParse(f, formatConda, "environment.yml", "dependencies:\n- a::b 1 c\n- pip:\n  - -r r.txt\n", "dependencies: [&x a, *x]\n")
}

func FuzzParsePyproject(f *testing.F) {
	fuzzParse(f, formatPyproject, "pyproject.toml",
		"[project]\ndependencies=['a>=1',\"b @ git+https://e/b\"]\noptional-dependencies.x=['c']\ndynamic=['dependencies']\n[dependency-groups]\nd=['e',{include-group='x'}]\n",
		"[tool.poetry.dependencies]\npython='^3.10'\na='^0.2'\nb={version='~1.2',source='s'}\nc=[{version='1'},{git='g',tag='t'}]\n[[tool.poetry.source]]\nname='s'\nurl='u'\npriority='supplemental'\n",
		"[tool.uv]\nindex-strategy='unsafe-best-match'\nconstraint-dependencies=['a==1']\n[tool.uv.sources]\na={index='i'}\n[[tool.uv.index]]\nname='i'\nurl='u'\n[tool.pdm.dev-dependencies]\nt=['-e ./x']\n")
}

func FuzzParsePipfile(f *testing.F) {
	fuzzParse(f, formatPipfileTOML, "Pipfile",
		"[[source]]\nname='a'\nurl='u'\n[packages]\nx='*'\ny={version='==1',index='a'}\nz={git='g',ref='r'}\n[dev-packages]\nw='>=1,<2'\n")
}

func FuzzParseSetupCfg(f *testing.F) {
	fuzzParse(f, formatSetupCfg, "setup.cfg",
		"[options]\ninstall_requires =\n    a>=1\n    # c\n    b==2; os_name=='nt'\nsetup_requires = c; d\n[options.extras_require]\nx = file: r.txt\n")
}

func FuzzParseSetupPy(f *testing.F) {
	fuzzParse(f, formatSetupPy, "setup.py",
		"R = ['a==1', \"b\" 'c']\nsetup(install_requires=R, extras_require={'x': ('d',)}, setup_requires=\"\"\"e\nf\"\"\")\n",
		"kw = {}\nkw['install_requires'] = [r'g', b'h']\nsetup(install_requires=f'{x}', **kw)\n\\\n#", "x = '''\n")
}
