package discover

import (
	"path"
	"strings"
)

// refLang is the language a file is read in for model references.
type refLang uint8

const (
	langNone refLang = iota
	langPython
	langNotebook
	langYAML
	langJSON
	langTOML
)

// refLangs maps file extensions to the language read for references: code
// and configuration, not documentation.
var refLangs = map[string]refLang{
	".py": langPython, ".pyw": langPython, ".ipynb": langNotebook, ".yaml": langYAML, ".yml": langYAML,
	".json": langJSON, ".toml": langTOML,
}

// maxNotebook bounds the size of a notebook read (outputs make them larger
// than code).
const maxNotebook = 16 << 20

// textKind says how a file's text is read.
type textKind struct {
	lang    refLang
	depType string
	deps    depParser
}

// textKindOf returns how the file at rel is read.
func textKindOf(rel string) textKind {
	tk := textKind{lang: refLangs[strings.ToLower(path.Ext(rel))]}
	tk.depType, tk.deps, _ = depFileOf(rel)
	return tk
}

func (tk textKind) any() bool { return tk.lang != langNone || tk.deps != nil }

// limit is how many bytes of the file are read.
func (tk textKind) limit(maxText int64) int64 {
	if tk.lang == langNotebook {
		return max(maxText, maxNotebook)
	}
	return maxText
}

// analyze reads a file's text and returns its assets: a notebook, a
// dependency file, a file of model references.
func (tk textKind) analyze(rel string, src []byte) []Asset {
	var out []Asset
	if tk.deps != nil {
		if pkgs := mlOnly(tk.deps(src)); len(pkgs) > 0 {
			out = append(out, Asset{Kind: KindDependency, Path: rel, Type: tk.depType, Packages: pkgs})
		}
	}
	c := &refCollector{}
	switch tk.lang {
	case langNotebook:
		libs, refs, ok := analyzeNotebook(src)
		if ok && (len(libs) > 0 || len(refs) > 0) {
			out = append(out, Asset{Kind: KindNotebook, Path: rel, Libraries: libs, References: refs})
		}
		return out
	case langPython:
		pythonRefs(src, c)
	case langYAML, langJSON, langTOML:
		configRefs(tk.lang, src, c)
	}
	if refs := c.sorted(); len(refs) > 0 {
		out = append(out, Asset{Kind: KindReference, Path: rel, References: refs})
	}
	return out
}
