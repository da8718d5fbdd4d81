package discover

import (
	"bytes"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/violet-mlsecops/violet/deps"
	"github.com/violet-mlsecops/violet/internal/pysrc"
)

// depParser reads the packages a dependency file names (all of them; the
// caller keeps the ML ones).
type depParser func(src []byte) []Package

// depFiles maps the names of the project files (they declare what to
// install, not what is locked) to their type and discover's own parser.
// violet deps reads them too, strictly: a file it cannot read whole is
// DEPS-MALFORMED and names no package; the inventory reads what it can of
// the same file (with the same tokenizer, PEP 508 parser and TOML parser).
var depFiles = map[string]struct {
	typ   string
	parse depParser
}{
	"pyproject.toml": {"pyproject", parsePyproject},
	"pipfile":        {"pipfile", parsePipfile},
	"setup.py":       {"setup-py", parseSetupPy},
	"setup.cfg":      {"setup-cfg", parseSetupCfg},
}

// depsTypes are the types of the files read with the parsers of violet
// deps (requirements, lock files, conda environments), by deps' kind.
var depsTypes = map[string]string{
	deps.KindRequirements: "requirements", deps.KindPoetry: "poetry-lock", deps.KindUV: "uv-lock",
	deps.KindPDM: "pdm-lock", deps.KindPipfile: "pipfile-lock", deps.KindPylock: "pylock", deps.KindConda: "conda",
}

// depFileOf returns the type and parser of a dependency file, by its path:
// violet deps' parsers for the files it reads, discover's own for the rest.
func depFileOf(rel string) (string, depParser, bool) {
	name := strings.ToLower(path.Base(rel))
	if d, ok := depFiles[name]; ok {
		return d.typ, d.parse, true
	}
	if kind := deps.FileKind(rel); kind != "" {
		return depsTypes[kind], func(src []byte) []Package { return fromDeps(rel, src) }, true
	}
	return "", nil, false
}

// fromDeps reads a file with violet deps' parsers, the files it includes
// left out; a file that does not parse names no package.
func fromDeps(rel string, src []byte) []Package {
	m, err := deps.ParseBytes(rel, src)
	if err != nil {
		return nil
	}
	var out []Package
	for _, p := range m.Packages {
		if p.Name != "" {
			out = append(out, packageOf(p, p.Line))
		}
	}
	return out
}

// mlOnly keeps the ML packages, with their categories, sorted by name.
func mlOnly(pkgs []Package) []Package {
	var out []Package
	seen := map[string]bool{}
	for _, p := range pkgs {
		p.Name = normalizeName(p.Name)
		cat, ok := mlCategory(p.Name)
		if !ok || seen[p.Name+"\x00"+p.Spec] {
			continue
		}
		seen[p.Name+"\x00"+p.Spec] = true
		p.Category = cat
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// parseRequirement reads one PEP 508 requirement ("torch[cuda]>=2.1;
// python_version>'3.8'") with violet deps' parser; ok is false for a
// string that is not one, or that names no package (a bare URL).
func parseRequirement(s string, line int) (Package, bool) {
	p, err := deps.ParseRequirement(s)
	if err != nil || p.Name == "" {
		return Package{}, false
	}
	return packageOf(p, line), true
}

// packageOf is the inventory's view of a package deps read: its spec is
// the pinned version, the direct URL, or the specifier.
func packageOf(p deps.Package, line int) Package {
	spec := p.Specifier
	switch {
	case p.Version != "":
		spec = "==" + p.Version
	case p.Source != deps.SourceIndex && p.URL != "":
		spec = "@ " + p.URL
	}
	return Package{Name: p.Name, Spec: spec, Line: line}
}

// requirementsOf reads an array of PEP 508 strings.
func requirementsOf(v tomlValue) []Package {
	var out []Package
	for _, e := range v.array {
		if e.table != nil {
			continue
		}
		if p, ok := parseRequirement(e.str, e.line); ok {
			out = append(out, p)
		}
	}
	return out
}

// poetrySpec reads a Poetry or Pipfile dependency: "^2.1", "*", or a table
// with a version (or a git, path or url source).
func poetrySpec(key string, v tomlValue) Package {
	spec := v.str
	if v.table != nil {
		spec = v.table["version"].str
		for _, src := range []string{"git", "path", "url"} {
			if s, ok := v.table[src]; ok && spec == "" {
				spec = src + " " + s.str
			}
		}
	}
	if spec == "*" {
		spec = ""
	}
	return Package{Name: key, Spec: spec, Line: v.line}
}

// pyprojectPoetryTable matches the Poetry tables of dependencies.
var pyprojectPoetryTable = regexp.MustCompile(`^tool\.poetry\.(dependencies|dev-dependencies|group\.[^.]+\.dependencies)$`)

// pyprojectArrays are the tables whose every key is an array of PEP 508 strings.
var pyprojectArrays = map[string]bool{
	"project.optional-dependencies": true, "dependency-groups": true, "tool.pdm.dev-dependencies": true,
}

// parsePyproject reads PEP 621, PEP 735, Poetry, uv and PDM dependencies.
func parsePyproject(src []byte) []Package {
	var out []Package
	scanTOML(src, func(table, key string, v tomlValue) {
		switch {
		case table == "project" && key == "dependencies",
			table == "tool.uv" && (key == "dev-dependencies" || key == "constraint-dependencies"),
			pyprojectArrays[table]:
			out = append(out, requirementsOf(v)...)
		case pyprojectPoetryTable.MatchString(table) && key != "python":
			out = append(out, poetrySpec(key, v))
		}
	})
	return out
}

// parsePipfile reads a Pipfile's [packages] and [dev-packages].
func parsePipfile(src []byte) []Package {
	var out []Package
	scanTOML(src, func(table, key string, v tomlValue) {
		if table == "packages" || table == "dev-packages" {
			out = append(out, poetrySpec(key, v))
		}
	})
	return out
}

// setupKeywords are the setup() arguments that list requirements.
var setupKeywords = map[string]bool{"install_requires": true, "extras_require": true, "requires": true}

// parseSetupPy reads the string literals of setup(install_requires=[...])
// and extras_require={...} without running anything.
func parseSetupPy(src []byte) []Package {
	toks, _ := pysrc.Tokenize(src) // what could not be read names no package
	var out []Package
	for i := 0; i+2 < len(toks); i++ {
		if toks[i].Kind != pysrc.Name || !setupKeywords[toks[i].Text] || !toks[i+1].Is("=") {
			continue
		}
		depth := 0
		for j := i + 2; j < len(toks); j++ {
			t := toks[j]
			if t.Kind == pysrc.Op {
				switch t.Text {
				case "[", "{", "(":
					depth++
				case "]", "}", ")":
					depth--
				}
			}
			if depth <= 0 && j > i+2 {
				break
			}
			// The keys of extras_require are strings too: skip a string
			// followed by a colon. A string may hold one requirement a line.
			if t.Str() && (j+1 >= len(toks) || !toks[j+1].Is(":")) {
				for k, l := range strings.Split(t.Text, "\n") {
					if p, ok := parseRequirement(l, t.Line+k); ok {
						out = append(out, p)
					}
				}
			}
		}
	}
	return out
}

// parseSetupCfg reads [options] install_requires and
// [options.extras_require] of a setup.cfg.
func parseSetupCfg(src []byte) []Package {
	var out []Package
	section, inList := "", false
	for i, raw := range bytes.Split(src, []byte("\n")) {
		line := strings.TrimRight(string(raw), "\r")
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]"):
			section, inList = strings.ToLower(trimmed[1:len(trimmed)-1]), false
		case trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";"):
		case line[0] == ' ' || line[0] == '\t':
			if inList {
				if p, ok := parseRequirement(trimmed, i+1); ok {
					out = append(out, p)
				}
			}
		default:
			key, value, _ := strings.Cut(trimmed, "=")
			key = strings.TrimSpace(key)
			inList = section == "options" && key == "install_requires" || section == "options.extras_require"
			if inList && strings.TrimSpace(value) != "" {
				if p, ok := parseRequirement(value, i+1); ok {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// tomlValue is a value of a TOML document as the dependency readers see
// it: a string (or another scalar, as written), an array or an inline
// table, with the line where it starts.
type tomlValue struct {
	str   string
	array []tomlValue
	table map[string]tomlValue
	line  int
}

// maxTOMLDepth bounds the nested arrays and inline tables read (go-toml
// bounds what it parses).
const maxTOMLDepth = 16

// scanTOML reads a TOML document with go-toml's parser and calls emit for
// every key = value, with the table the value is in ("project",
// "tool.poetry.dependencies"; dotted keys count: optional-dependencies.x
// in [project] is x in "project.optional-dependencies"; an array of
// tables is prefixed "[]") and the last part of its key. The expressions
// before a syntax error are read, the rest is not; a document larger than
// deps.MaxFileSize is not read at all.
func scanTOML(src []byte, emit func(table, key string, v tomlValue)) {
	if len(src) > deps.MaxFileSize {
		return
	}
	lines := lineStarts(src)
	var p unstable.Parser
	p.Reset(src)
	var table []string
	prefix := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table, _ = tomlKey(e.Key(), lines)
			prefix = ""
			if e.Kind == unstable.ArrayTable {
				prefix = "[]"
			}
		case unstable.KeyValue:
			key, line := tomlKey(e.Key(), lines)
			path := append(slices.Clone(table), key...)
			n := len(path) - 1
			emit(prefix+strings.Join(path[:n], "."), path[n], tomlValueOf(e.Value(), line, lines, 0))
		}
	}
}

// tomlKey returns the parts of a key and the line where it starts.
func tomlKey(it unstable.Iterator, lines []int) ([]string, int) {
	var parts []string
	line := 0
	for it.Next() {
		if line == 0 {
			line = lineOf(lines, it.Node(), 0)
		}
		parts = append(parts, string(it.Node().Data))
	}
	return parts, line
}

// tomlValueOf converts a value node; line is where its key is.
func tomlValueOf(n *unstable.Node, line int, lines []int, depth int) tomlValue {
	v := tomlValue{line: lineOf(lines, n, line)}
	switch {
	case depth >= maxTOMLDepth:
	case n.Kind == unstable.Array:
		for it := n.Children(); it.Next(); {
			if c := it.Node(); c.Kind != unstable.Comment {
				v.array = append(v.array, tomlValueOf(c, v.line, lines, depth+1))
			}
		}
	case n.Kind == unstable.InlineTable:
		v.table = map[string]tomlValue{}
		for it := n.Children(); it.Next(); {
			if kv := it.Node(); kv.Kind == unstable.KeyValue {
				key, at := tomlKey(kv.Key(), lines)
				v.table[strings.Join(key, ".")] = tomlValueOf(kv.Value(), at, lines, depth+1)
			}
		}
	default:
		v.str = string(n.Data)
	}
	return v
}

// lineStarts returns the offsets where the lines of src start.
func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineOf returns the line (from 1) where node n starts, or def when the
// parser did not record where.
func lineOf(starts []int, n *unstable.Node, def int) int {
	if n.Raw.Offset == 0 && n.Raw.Length == 0 {
		return def
	}
	return sort.SearchInts(starts, int(n.Raw.Offset)+1)
}
