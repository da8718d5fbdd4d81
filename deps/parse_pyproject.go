package deps

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// pyproject.toml: what a project declares it installs, in the tables of
// every tool that reads it.
//
//   - [build-system] requires: the build backend and its plugins;
//   - PEP 621: [project] dependencies, [project.optional-dependencies];
//   - PEP 735: [dependency-groups] (an {include-group = ...} adds nothing);
//   - Poetry: [tool.poetry.dependencies], [tool.poetry.dev-dependencies],
//     [tool.poetry.group.NAME.dependencies], [[tool.poetry.source]];
//   - PDM: [tool.pdm.dev-dependencies], [[tool.pdm.source]];
//   - uv: [tool.uv] dev-dependencies, override-dependencies,
//     constraint-dependencies (pins, as a -c file), index-url,
//     extra-index-url, find-links, index-strategy, [[tool.uv.index]],
//     [tool.uv.sources];
//   - dynamic dependencies: setuptools' {file = [...]} and
//     hatch-requirements-txt's files are read as requirements files; any
//     other dynamic list is read from a setup.py beside the file (its own
//     manifest), or, without one, reported as unread.

type pyproject struct {
	BuildSystem struct {
		Requires []string `toml:"requires"`
	} `toml:"build-system"`
	Project struct {
		Dependencies         []string            `toml:"dependencies"`
		OptionalDependencies map[string][]string `toml:"optional-dependencies"`
		Dynamic              []string            `toml:"dynamic"`
	} `toml:"project"`
	DependencyGroups map[string][]any `toml:"dependency-groups"`
	Tool             struct {
		Poetry struct {
			Dependencies    map[string]any `toml:"dependencies"`
			DevDependencies map[string]any `toml:"dev-dependencies"`
			Group           map[string]struct {
				Dependencies map[string]any `toml:"dependencies"`
			} `toml:"group"`
			Source []struct {
				Name      string `toml:"name"`
				URL       string `toml:"url"`
				Priority  string `toml:"priority"`
				Default   bool   `toml:"default"`
				Secondary bool   `toml:"secondary"`
			} `toml:"source"`
		} `toml:"poetry"`
		PDM struct {
			DevDependencies map[string][]string `toml:"dev-dependencies"`
			Source          []struct {
				Name string `toml:"name"`
				URL  string `toml:"url"`
			} `toml:"source"`
		} `toml:"pdm"`
		UV struct {
			DevDependencies        []string       `toml:"dev-dependencies"`
			OverrideDependencies   []string       `toml:"override-dependencies"`
			ConstraintDependencies []string       `toml:"constraint-dependencies"`
			IndexURL               string         `toml:"index-url"`
			ExtraIndexURL          []string       `toml:"extra-index-url"`
			FindLinks              []string       `toml:"find-links"`
			IndexStrategy          string         `toml:"index-strategy"`
			Sources                map[string]any `toml:"sources"`
			Index                  []struct {
				Name     string `toml:"name"`
				URL      string `toml:"url"`
				Default  bool   `toml:"default"`
				Explicit bool   `toml:"explicit"`
			} `toml:"index"`
		} `toml:"uv"`
		Setuptools struct {
			Dynamic struct {
				Dependencies         *dynamicFiles           `toml:"dependencies"`
				OptionalDependencies map[string]dynamicFiles `toml:"optional-dependencies"`
			} `toml:"dynamic"`
		} `toml:"setuptools"`
		Hatch struct {
			Metadata struct {
				Hooks struct {
					RequirementsTxt *struct {
						Files []string `toml:"files"`
					} `toml:"requirements_txt"`
				} `toml:"hooks"`
			} `toml:"metadata"`
		} `toml:"hatch"`
	} `toml:"tool"`
}

// dynamicFiles is setuptools' {file = "a.txt"} or {file = ["a.txt", ...]}.
type dynamicFiles struct {
	File any `toml:"file"`
}

// files are the file names, or an error for another type.
func (d dynamicFiles) files() ([]string, error) {
	switch f := d.File.(type) {
	case string:
		return []string{f}, nil
	case []any:
		out := make([]string, 0, len(f))
		for _, x := range f {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("dynamic file list holds a %T", x)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("dynamic dependencies without a file list")
}

// manifestReader collects the packages of a pyproject.toml or Pipfile
// with the lines of their keys.
type manifestReader struct {
	st    *parseState
	file  string
	lines map[string]int
	pkgs  []Package
}

// line is the line of a key path (0 when unknown).
func (mr *manifestReader) line(keys ...string) int { return mr.lines[tomlPath(keys...)] }

func (mr *manifestReader) errorf(line int, format string, a ...any) error {
	return &ParseError{File: mr.file, Line: line, Msg: fmt.Sprintf(format, a...)}
}

// pep508 reads a list of PEP 508 requirement strings at keys.
func (mr *manifestReader) pep508(list []string, keys ...string) error {
	for i, s := range list {
		line := mr.line(append(keys, strconv.Itoa(i))...)
		if err := mr.requirement(s, line); err != nil {
			return err
		}
	}
	return nil
}

// requirement reads one PEP 508 requirement string (or a PDM "-e path").
func (mr *manifestReader) requirement(s string, line int) error {
	if rest, ok := strings.CutPrefix(strings.TrimSpace(s), "-e "); ok {
		s = rest
	}
	p, err := ParseRequirement(s)
	if err != nil {
		return mr.errorf(line, "%s", err)
	}
	p.File, p.Line = mr.file, line
	mr.pkgs = append(mr.pkgs, p)
	return nil
}

// flush adds the packages collected, in line order (the tables are
// decoded into maps, whose order is random).
func (mr *manifestReader) flush() error {
	sort.SliceStable(mr.pkgs, func(i, j int) bool { return mr.pkgs[i].Line < mr.pkgs[j].Line })
	for _, p := range mr.pkgs {
		if err := mr.st.add(p, false); err != nil {
			return err
		}
	}
	return nil
}

func parsePyproject(st *parseState, file string, data []byte) error {
	var pp pyproject
	if err := decodeTOML(file, data, &pp); err != nil {
		return err
	}
	mr := &manifestReader{st: st, file: file, lines: tomlLines(data)}
	if err := mr.pep508(pp.BuildSystem.Requires, "build-system", "requires"); err != nil {
		return err
	}
	prj := pp.Project
	if err := mr.pep508(prj.Dependencies, "project", "dependencies"); err != nil {
		return err
	}
	for _, extra := range slices.Sorted(maps.Keys(prj.OptionalDependencies)) {
		list := prj.OptionalDependencies[extra]
		if err := mr.pep508(list, "project", "optional-dependencies", extra); err != nil {
			return err
		}
	}
	for _, group := range slices.Sorted(maps.Keys(pp.DependencyGroups)) {
		list := pp.DependencyGroups[group]
		for i, item := range list {
			line := mr.line("dependency-groups", group, strconv.Itoa(i))
			switch v := item.(type) {
			case string:
				if err := mr.requirement(v, line); err != nil {
					return err
				}
			case map[string]any:
				if _, ok := v["include-group"].(string); !ok {
					return mr.errorf(line, "dependency group %s: a table that is not {include-group = ...}", truncate(group))
				}
			default:
				return mr.errorf(line, "dependency group %s: a %T, want a requirement string", truncate(group), item)
			}
		}
	}
	if err := mr.poetry(&pp); err != nil {
		return err
	}
	if err := mr.pdm(&pp); err != nil {
		return err
	}
	if err := mr.uv(&pp); err != nil {
		return err
	}
	if err := mr.flush(); err != nil {
		return err
	}
	return mr.dynamic(&pp)
}

// poetry reads Poetry's dependency tables and sources.
func (mr *manifestReader) poetry(pp *pyproject) error {
	po := pp.Tool.Poetry
	sources := map[string]string{}
	var general []string // the indexes any package may come from, in order of priority
	var supplemental []string
	primary := false
	for i, s := range po.Source {
		line := mr.line("tool", "poetry", "source", strconv.Itoa(i))
		url := s.URL
		if url == "" && strings.EqualFold(s.Name, "pypi") {
			url = "https://pypi.org/simple"
		}
		if url == "" {
			return mr.errorf(line, "poetry source %s without a url", truncate(s.Name))
		}
		sources[s.Name] = url
		priority := strings.ToLower(s.Priority)
		switch {
		case priority == "" && s.Default:
			priority = "default"
		case priority == "" && s.Secondary:
			priority = "secondary"
		case priority == "":
			priority = "primary"
		}
		switch priority {
		case "default":
			general = append([]string{url}, general...)
			primary = true
		case "primary":
			general = append(general, url)
			primary = true
		case "supplemental", "secondary":
			supplemental = append(supplemental, url)
		case "explicit":
			// only for the packages that name it
		default:
			return mr.errorf(line, "poetry source %s: unknown priority %q", truncate(s.Name), truncate(s.Priority))
		}
	}
	if !primary && len(supplemental) > 0 {
		general = []string{"https://pypi.org/simple"} // PyPI stays the primary source
	}
	for i, u := range append(general, supplemental...) {
		mr.st.addIndex(u, i > 0)
	}
	tables := []struct {
		keys []string
		deps map[string]any
	}{
		{[]string{"tool", "poetry", "dependencies"}, po.Dependencies},
		{[]string{"tool", "poetry", "dev-dependencies"}, po.DevDependencies},
	}
	for _, name := range slices.Sorted(maps.Keys(po.Group)) {
		g := po.Group[name]
		tables = append(tables, struct {
			keys []string
			deps map[string]any
		}{[]string{"tool", "poetry", "group", name, "dependencies"}, g.Dependencies})
	}
	for _, t := range tables {
		for _, name := range slices.Sorted(maps.Keys(t.deps)) {
			v := t.deps[name]
			if strings.EqualFold(name, "python") {
				continue // the Python version, not a package
			}
			keys := append(slices.Clone(t.keys), name)
			items := []any{v}
			alts, isAlts := v.([]any)
			if isAlts {
				items = alts // alternatives by marker
			}
			for i, item := range items {
				line := mr.line(keys...)
				if isAlts {
					if l := mr.line(append(keys, strconv.Itoa(i))...); l > 0 {
						line = l
					}
				}
				p, err := poetryDependency(name, item, sources)
				if err != nil {
					return mr.errorf(line, "%s", err)
				}
				p.File, p.Line = mr.file, line
				mr.pkgs = append(mr.pkgs, p)
			}
		}
	}
	return nil
}

// poetryDependency reads one Poetry dependency: a constraint string, or
// a table with version, markers, source, or git, url or path.
func poetryDependency(name string, v any, sources map[string]string) (Package, error) {
	if !validPackageName.MatchString(name) {
		return Package{}, fmt.Errorf("invalid package name %q", truncate(name))
	}
	constraint := ""
	p := Package{Name: name, Source: SourceIndex}
	switch t := v.(type) {
	case string:
		constraint = t
	case map[string]any:
		str := func(k string) string { s, _ := t[k].(string); return s }
		constraint = str("version")
		p.Markers = str("markers")
		switch {
		case str("git") != "":
			p.Source, p.URL = SourceVCS, str("git")
			for _, ref := range []string{"rev", "tag", "branch"} {
				if r := str(ref); r != "" {
					p.URL += "@" + r
					break
				}
			}
		case str("url") != "":
			p.Source, p.URL = SourceURL, str("url")
		case str("path") != "":
			p.Source, p.URL = SourcePath, str("path")
		case str("source") != "":
			u, ok := sources[str("source")]
			if !ok {
				return Package{}, fmt.Errorf("%s: source %s is not a [[tool.poetry.source]]", name, truncate(str("source")))
			}
			p.URL = u
		}
	default:
		return Package{}, fmt.Errorf("%s: a %T, want a version constraint or a table", name, v)
	}
	if p.Source != SourceIndex {
		return p, nil
	}
	spec, err := poetryConstraint(constraint)
	if err != nil {
		return Package{}, fmt.Errorf("%s: %w", name, err)
	}
	if strings.Contains(spec, "|") {
		p.Specifier = spec // alternatives: not one interval, left unmatched
		return p, nil
	}
	q, err := ParseRequirement(name + " " + spec)
	if err != nil {
		return Package{}, err
	}
	p.Version, p.Specifier = q.Version, q.Specifier
	return p, nil
}

// poetryOperator matches an operator and the white space after it.
var poetryOperator = regexp.MustCompile(`(===|==|!=|<=|>=|~=|<|>|\^|~)\s+`)

// poetryConstraint turns a Poetry version constraint into a PEP 440
// specifier: ^1.2.3 is >=1.2.3,<2 (the first non-zero number bumped),
// ~1.2.3 is >=1.2.3,<1.3, a bare version is ==, * or empty any version;
// clauses are separated by commas or spaces. Alternatives (||) are kept
// as written.
func poetryConstraint(c string) (string, error) {
	c = strings.TrimSpace(c)
	if c == "" || c == "*" {
		return "", nil
	}
	if strings.Contains(c, "|") {
		return c, nil
	}
	var out []string
	for _, cl := range strings.FieldsFunc(poetryOperator.ReplaceAllString(c, "$1"), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		switch {
		case cl == "*":
		case strings.HasPrefix(cl, "^"), strings.HasPrefix(cl, "~") && !strings.HasPrefix(cl, "~="):
			v, err := ParseVersion(cl[1:])
			if err != nil {
				return "", fmt.Errorf("constraint %q: %w", truncate(c), err)
			}
			i := 0
			if cl[0] == '^' {
				for i < len(v.release)-1 && v.release[i] == "0" {
					i++
				}
			} else if len(v.release) > 1 {
				i = 1
			}
			upper := append(slices.Clone(v.release[:i]), incrementDigits(v.release[i]))
			hi := strings.Join(upper, ".")
			if v.epoch != "0" {
				hi = v.epoch + "!" + hi
			}
			out = append(out, ">="+cl[1:], "<"+hi)
		case strings.IndexAny(cl[:1], "=!<>~") == 0:
			out = append(out, cl)
		default:
			out = append(out, "=="+cl)
		}
	}
	return strings.Join(out, ","), nil
}

// pdm reads PDM's development groups and sources: every source but one
// named pypi is searched beside PyPI.
func (mr *manifestReader) pdm(pp *pyproject) error {
	pdm := pp.Tool.PDM
	for _, group := range slices.Sorted(maps.Keys(pdm.DevDependencies)) {
		list := pdm.DevDependencies[group]
		if err := mr.pep508(list, "tool", "pdm", "dev-dependencies", group); err != nil {
			return err
		}
	}
	extra := []string{}
	for _, s := range pdm.Source {
		if strings.EqualFold(s.Name, "pypi") {
			mr.st.addIndex(s.URL, false)
		} else {
			extra = append(extra, s.URL)
		}
	}
	for _, u := range extra {
		mr.st.addIndex(u, true)
	}
	return nil
}

// uv reads uv's tables. With uv's default index strategy (first-index) a
// package comes from the first index that has it, which rules out
// dependency confusion; the unsafe strategies search every index, so
// the indexes other than the default one are extra indexes then.
func (mr *manifestReader) uv(pp *pyproject) error {
	uv := pp.Tool.UV
	if err := mr.pep508(uv.DevDependencies, "tool", "uv", "dev-dependencies"); err != nil {
		return err
	}
	if err := mr.pep508(uv.OverrideDependencies, "tool", "uv", "override-dependencies"); err != nil {
		return err
	}
	for i, s := range uv.ConstraintDependencies {
		line := mr.line("tool", "uv", "constraint-dependencies", strconv.Itoa(i))
		p, err := ParseRequirement(s)
		if err != nil {
			return mr.errorf(line, "%s", err)
		}
		p.File, p.Line = mr.file, line
		if err := mr.st.add(p, true); err != nil {
			return err
		}
	}
	indexes := map[string]string{}
	var searched []string
	if uv.IndexURL != "" {
		mr.st.addIndex(uv.IndexURL, false)
	}
	for _, ix := range uv.Index {
		indexes[ix.Name] = ix.URL
		switch {
		case ix.Default:
			mr.st.addIndex(ix.URL, false)
		case !ix.Explicit:
			searched = append(searched, ix.URL)
		}
	}
	searched = append(searched, uv.ExtraIndexURL...)
	if strings.HasPrefix(uv.IndexStrategy, "unsafe-") {
		for _, u := range searched {
			mr.st.addIndex(u, true)
		}
	}
	for _, u := range uv.FindLinks {
		mr.st.addIndex(u, true)
	}
	if len(uv.Sources) == 0 {
		return nil
	}
	sources := map[string]map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(uv.Sources)) {
		v := uv.Sources[name]
		if alts, ok := v.([]any); ok && len(alts) > 0 {
			v = alts[0] // sources by marker: the first
		}
		t, ok := v.(map[string]any)
		if !ok {
			return mr.errorf(mr.line("tool", "uv", "sources", name), "source of %s: a %T, want a table", truncate(name), v)
		}
		sources[normalizePackageName(name)] = t
	}
	kept := mr.pkgs[:0]
	for _, p := range mr.pkgs {
		t, ok := sources[normalizePackageName(p.Name)]
		if !ok || p.Source != SourceIndex {
			kept = append(kept, p)
			continue
		}
		str := func(k string) string { s, _ := t[k].(string); return s }
		switch {
		case t["workspace"] == true:
			continue // a member of the project's own workspace
		case str("git") != "":
			p.Source, p.URL, p.Version, p.Specifier = SourceVCS, str("git"), "", ""
			for _, ref := range []string{"rev", "tag", "branch"} {
				if r := str(ref); r != "" {
					p.URL += "@" + r
					break
				}
			}
		case str("url") != "":
			p.Source, p.URL, p.Version, p.Specifier = SourceURL, str("url"), "", ""
		case str("path") != "":
			p.Source, p.URL, p.Version, p.Specifier = SourcePath, str("path"), "", ""
		case str("index") != "":
			u, ok := indexes[str("index")]
			if !ok {
				return mr.errorf(mr.line("tool", "uv", "sources", p.Name), "source of %s: index %s is not a [[tool.uv.index]]", p.Name, truncate(str("index")))
			}
			p.URL = u
		}
		kept = append(kept, p)
	}
	mr.pkgs = kept
	return nil
}

// dynamic reads the dependency files of dynamic dependencies, or records
// them as unread.
func (mr *manifestReader) dynamic(pp *pyproject) error {
	st := mr.st
	line := mr.line("project", "dynamic")
	var files, unread []string
	for _, field := range pp.Project.Dynamic {
		switch field {
		case "dependencies":
			d := pp.Tool.Setuptools.Dynamic.Dependencies
			h := pp.Tool.Hatch.Metadata.Hooks.RequirementsTxt
			switch {
			case d != nil:
				f, err := d.files()
				if err != nil {
					return mr.errorf(mr.line("tool", "setuptools", "dynamic", "dependencies"), "%s", err)
				}
				files = append(files, f...)
			case h != nil:
				files = append(files, h.Files...)
			default:
				unread = append(unread, field)
			}
		case "optional-dependencies":
			opt := pp.Tool.Setuptools.Dynamic.OptionalDependencies
			if len(opt) == 0 {
				unread = append(unread, field)
			}
			for _, extra := range slices.Sorted(maps.Keys(opt)) {
				f, err := opt[extra].files()
				if err != nil {
					return mr.errorf(mr.line("tool", "setuptools", "dynamic", "optional-dependencies", extra), "%s", err)
				}
				files = append(files, f...)
			}
		}
	}
	for _, f := range files {
		if err := st.include(mr.file, line, strings.TrimSpace(f), false); err != nil {
			return err
		}
	}
	if len(unread) == 0 || st.noIncludes {
		return nil
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(mr.file), "setup.py")); err == nil {
		return nil // setup.py declares them, and is read as a manifest of its own
	}
	st.m.Unread = append(st.m.Unread, ParseError{File: mr.file, Line: line,
		Msg: "project." + strings.Join(unread, ", project.") + " dynamic (the build backend computes them), and no setup.py or requirements file declares them: could not read statically"})
	return nil
}
