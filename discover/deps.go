package discover

import (
	"bytes"
	"encoding/json"
	"path"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// depParser reads the packages a dependency file names (all of them; the
// caller keeps the ML ones).
type depParser func(src []byte) []Package

// depFiles maps dependency file names to their type and parser.
var depFiles = map[string]struct {
	typ   string
	parse depParser
}{
	"pyproject.toml":  {"pyproject", parsePyproject},
	"poetry.lock":     {"poetry-lock", parseTOMLLock},
	"uv.lock":         {"uv-lock", parseTOMLLock},
	"pdm.lock":        {"pdm-lock", parseTOMLLock},
	"pipfile":         {"pipfile", parsePipfile},
	"pipfile.lock":    {"pipfile-lock", parsePipfileLock},
	"environment.yml": {"conda", parseConda}, "environment.yaml": {"conda", parseConda},
	"conda.yml": {"conda", parseConda}, "conda.yaml": {"conda", parseConda},
	"setup.py":  {"setup-py", parseSetupPy},
	"setup.cfg": {"setup-cfg", parseSetupCfg},
}

// depFileOf returns the type and parser of a dependency file, by its path.
// Requirements files are requirements*.txt, *-requirements.txt,
// constraints*.txt and any .txt in a requirements/ folder.
func depFileOf(rel string) (string, depParser, bool) {
	name := strings.ToLower(path.Base(rel))
	if d, ok := depFiles[name]; ok {
		return d.typ, d.parse, true
	}
	if strings.HasSuffix(name, ".txt") && (strings.HasPrefix(name, "requirements") || strings.HasSuffix(name, "requirements.txt") ||
		strings.HasPrefix(name, "constraints") || path.Base(path.Dir(rel)) == "requirements") {
		return "requirements", parseRequirements, true
	}
	return "", nil, false
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

var eggRe = regexp.MustCompile(`[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)`)

// parseRequirements reads a pip requirements file.
func parseRequirements(src []byte) []Package {
	var out []Package
	lines := strings.Split(string(src), "\n")
	for i := 0; i < len(lines); i++ {
		line, n := lines[i], i+1
		for strings.HasSuffix(strings.TrimRight(line, "\r"), "\\") && i+1 < len(lines) {
			line = strings.TrimSuffix(strings.TrimRight(line, "\r"), "\\") + lines[i+1]
			i++
		}
		if j := strings.Index(line, " #"); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "-e ") || strings.HasPrefix(line, "--editable"):
			if m := eggRe.FindStringSubmatch(line); m != nil {
				out = append(out, Package{Name: m[1], Spec: "editable", Line: n})
			}
		case strings.HasPrefix(line, "-"):
		default:
			if p, ok := parseRequirement(line, n); ok {
				out = append(out, p)
			}
		}
	}
	return out
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

// parseTOMLLock reads the [[package]] entries of poetry.lock, uv.lock and
// pdm.lock: name and locked version.
func parseTOMLLock(src []byte) []Package {
	var out []Package
	var cur *Package
	scanTOML(string(src), func(table, key string, v tomlValue) {
		if table != "[]package" {
			return
		}
		switch key {
		case "name":
			out = append(out, Package{Name: v.str, Line: v.line})
			cur = &out[len(out)-1]
		case "version":
			if cur != nil && cur.Spec == "" {
				cur.Spec = "==" + v.str
			}
		}
	})
	return out
}

// parsePipfileLock reads Pipfile.lock's default and develop sections.
func parsePipfileLock(src []byte) []Package {
	var doc map[string]json.RawMessage
	if json.Unmarshal(src, &doc) != nil {
		return nil
	}
	var out []Package
	for _, section := range []string{"default", "develop"} {
		var pkgs map[string]struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(doc[section], &pkgs) != nil {
			continue
		}
		for name, p := range pkgs {
			out = append(out, Package{Name: name, Spec: p.Version})
		}
	}
	return out
}

var condaSpecRe = regexp.MustCompile(`^(?:[A-Za-z0-9_.-]+::)?([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$`)

// parseConda reads a conda environment file: conda specs ("pytorch=2.1",
// "conda-forge::transformers") and the pip: list.
func parseConda(src []byte) []Package {
	var root yaml.Node
	if yaml.Unmarshal(src, &root) != nil || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	var out []Package
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "dependencies" || m.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		for _, d := range m.Content[i+1].Content {
			switch d.Kind {
			case yaml.ScalarNode:
				if c := condaSpecRe.FindStringSubmatch(strings.TrimSpace(d.Value)); c != nil {
					out = append(out, Package{Name: c[1], Spec: strings.TrimSpace(c[2]), Line: d.Line})
				}
			case yaml.MappingNode:
				for j := 0; j+1 < len(d.Content); j += 2 {
					if d.Content[j].Value != "pip" {
						continue
					}
					for _, p := range d.Content[j+1].Content {
						if pkg, ok := parseRequirement(p.Value, p.Line); ok {
							out = append(out, pkg)
						}
					}
				}
			}
		}
	}
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
