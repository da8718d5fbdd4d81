package discover

import (
	"bytes"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/violet-mlsecops/violet/deps"
)

// depParser reads the packages a dependency file names (all of them; the
// caller keeps the ML ones).
type depParser func(src []byte) []Package

// depFiles maps the names of the dependency files that violet deps does
// not read (they declare what to install, not what is locked) to their
// type and parser.
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
		if p.Name == "" {
			continue
		}
		spec := p.Specifier
		switch {
		case p.Version != "":
			spec = "==" + p.Version
		case p.Source != deps.SourceIndex && p.URL != "":
			spec = "@ " + p.URL
		}
		out = append(out, Package{Name: p.Name, Spec: spec, Line: p.Line})
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

var requirementRe = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$`)

// parseRequirement reads one PEP 508 requirement ("torch[cuda]>=2.1; python_version>'3.8'").
func parseRequirement(s string, line int) (Package, bool) {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, ";"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	m := requirementRe.FindStringSubmatch(s)
	if m == nil {
		return Package{}, false
	}
	spec := strings.TrimSpace(m[2])
	if strings.HasPrefix(spec, "(") && strings.HasSuffix(spec, ")") {
		spec = strings.TrimSpace(spec[1 : len(spec)-1])
	}
	return Package{Name: m[1], Spec: spec, Line: line}, true
}

// requirementsOf reads an array of PEP 508 strings.
func requirementsOf(v tomlValue) []Package {
	var out []Package
	for _, e := range v.array {
		if p, ok := parseRequirement(e.str, e.line); ok && e.table == nil {
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
	scanTOML(string(src), func(table, key string, v tomlValue) {
		switch {
		case table == "project" && key == "dependencies",
			table == "tool.uv" && (key == "dev-dependencies" || key == "constraint-dependencies"),
			table == "project" && strings.HasPrefix(key, "optional-dependencies."),
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
	scanTOML(string(src), func(table, key string, v tomlValue) {
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
	toks := tokenizePython(src)
	var out []Package
	for i := 0; i+2 < len(toks); i++ {
		if toks[i].kind != tokName || !setupKeywords[toks[i].text] || toks[i+1].text != "=" {
			continue
		}
		depth := 0
		for j := i + 2; j < len(toks); j++ {
			t := toks[j]
			if t.kind == tokOp {
				switch t.text {
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
			// followed by a colon.
			if t.kind == tokString && !(j+1 < len(toks) && toks[j+1].text == ":") {
				if p, ok := parseRequirement(t.text, t.line); ok {
					out = append(out, p)
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
