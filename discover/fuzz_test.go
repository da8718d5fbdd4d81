package discover

import (
	"strings"
	"testing"
)

// The fuzz targets feed every parser of untrusted text: none may panic,
// and each returns a bounded result.

func FuzzDependencyFiles(f *testing.F) {
	for _, s := range []string{requirementsTxt, pyprojectTOML, poetryLock, `{"default": {"torch": {"version": "==2.1"}}}`,
		"dependencies:\n  - pytorch=2.1\n  - pip:\n    - transformers\n", "setup(install_requires=['torch>=2'])",
		"[options]\ninstall_requires =\n    torch\n", "a = [[[[[[[[[[[\"", "x = {a = {b = '''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range depFiles {
			if pkgs := d.parse([]byte(s)); len(pkgs) > len(s)+1 {
				t.Fatalf("%d packages from %d bytes", len(pkgs), len(s))
			}
		}
		for _, name := range []string{"requirements.txt", "poetry.lock", "uv.lock", "Pipfile.lock", "environment.yml"} {
			if pkgs := fromDeps(name, []byte(s)); len(pkgs) > len(s)+1 {
				t.Fatalf("%d packages from %d bytes", len(pkgs), len(s))
			}
		}
	})
}

func FuzzNotebook(f *testing.F) {
	f.Add(notebookJSON)
	f.Add(`{"cells": [{"cell_type": "code", "source": 3}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		analyzeNotebook([]byte(s))
	})
}

func FuzzCodeowners(f *testing.F) {
	f.Add(codeowners)
	f.Add("**/a/**/b\\ c @x\n[abc @y\n/a/b/ @z")
	f.Fuzz(func(t *testing.T, s string) {
		c := ParseCodeowners([]byte(s))
		c.Owners("a/b/c.py")
	})
}

func FuzzReferences(f *testing.F) {
	for _, s := range []string{trainPy, servePy, axolotlYAML, `{"base_model": "a/b"}`, "f(\"\"\"", "x = r'\\", "f(((((", "b'a' 'b' f'{x}'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := &refCollector{}
		pythonRefs([]byte(s), c)
		for _, lang := range []refLang{langYAML, langJSON, langTOML} {
			configRefs(lang, []byte(s), c)
		}
		lines := strings.Count(s, "\n") + 1
		for _, r := range c.refs {
			if r.Line < 1 || r.Line > lines {
				t.Fatalf("reference at line %d of %d", r.Line, lines)
			}
		}
	})
}
