package deps

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// Requirements files (pip's format,
// https://pip.pypa.io/en/stable/reference/requirements-file-format/).

// reqOptionKind is what a requirements-file option does.
type reqOptionKind int

const (
	optIgnore      reqOptionKind = iota // accepted, no effect on the report
	optRequirement                      // -r: include a requirements file
	optConstraint                       // -c: include a constraints file
	optEditable                         // -e: an editable requirement
	optIndexURL                         // -i: the primary index
	optExtraIndex                       // --extra-index-url
	optFindLinks                        // -f: more places to find packages
	optHash                             // --hash (per requirement)
)

// reqOption is an option of requirements files.
type reqOption struct {
	hasArg bool
	kind   reqOptionKind
}

// reqOptions are the options pip accepts in requirements files.
var reqOptions = map[string]reqOption{
	"-r":                {true, optRequirement},
	"--requirement":     {true, optRequirement},
	"-c":                {true, optConstraint},
	"--constraint":      {true, optConstraint},
	"-e":                {true, optEditable},
	"--editable":        {true, optEditable},
	"-i":                {true, optIndexURL},
	"--index-url":       {true, optIndexURL},
	"--extra-index-url": {true, optExtraIndex},
	"-f":                {true, optFindLinks},
	"--find-links":      {true, optFindLinks},
	"--hash":            {true, optHash},
	"--trusted-host":    {true, optIgnore},
	"--no-index":        {false, optIgnore},
	"--pre":             {false, optIgnore},
	"--prefer-binary":   {false, optIgnore},
	"--require-hashes":  {false, optIgnore},
	"--only-binary":     {true, optIgnore},
	"--no-binary":       {true, optIgnore},
	"--use-feature":     {true, optIgnore},
	"--config-settings": {true, optIgnore},
	"-C":                {true, optIgnore},
	"--global-option":   {true, optIgnore},
	"--install-option":  {true, optIgnore},
}

// globalOptions are the options that pip ignores on a requirement line.
var globalOptions = map[reqOptionKind]bool{
	optRequirement: true,
	optConstraint:  true,
	optIndexURL:    true,
	optExtraIndex:  true,
	optFindLinks:   true,
}

// reqComment matches a comment: a # at the start or after white space.
var reqComment = regexp.MustCompile(`(^|\s+)#.*$`)

// reqLine is one logical line of a requirements file.
type reqLine struct {
	line int
	text string
}

// requirementLines splits a requirements file into logical lines the way
// pip does: a line ending in a backslash continues on the next one
// (unless it is a comment), comments are removed, empty lines dropped.
func requirementLines(data []byte) []reqLine {
	var out []reqLine
	var cont []string
	start := 0
	emit := func(n int, s string) {
		s = strings.TrimSpace(reqComment.ReplaceAllString(s, ""))
		if s != "" {
			out = append(out, reqLine{n, s})
		}
	}
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSuffix(l, "\r")
		n := i + 1
		isComment := reqComment.MatchString(l) && strings.HasPrefix(strings.TrimSpace(l), "#")
		if !strings.HasSuffix(l, `\`) || isComment {
			if isComment {
				l = " " + l
			}
			if cont != nil {
				emit(start, strings.Join(append(cont, l), ""))
				cont = nil
			} else {
				emit(n, l)
			}
			continue
		}
		if cont == nil {
			start = n
		}
		cont = append(cont, strings.Trim(l, `\`))
	}
	if cont != nil {
		emit(start, strings.Join(cont, ""))
	}
	return out
}

// parseRequirementsFile reads a top-level requirements file.
func parseRequirementsFile(st *parseState, file string, data []byte) error {
	return st.requirements(file, data, false)
}

// requirements reads the lines of a requirements file (or of a
// constraints file, whose packages go to st.constraints).
func (st *parseState) requirements(file string, data []byte, constraint bool) error {
	for _, l := range requirementLines(data) {
		if err := st.requirementLine(file, l.line, l.text, constraint); err != nil {
			return err
		}
	}
	return nil
}

// requirementLine reads one logical line of a requirements file.
func (st *parseState) requirementLine(file string, line int, text string, constraint bool) error {
	perr := func(format string, a ...any) error {
		return &ParseError{File: file, Line: line, Msg: fmt.Sprintf(format, a...)}
	}
	// As pip: the requirement is the words before the first option.
	fields := strings.Fields(text)
	n := 0
	for n < len(fields) && !strings.HasPrefix(fields[n], "-") {
		n++
	}
	spec := strings.Join(fields[:n], " ")
	var hashes []string
	var editable string
	isEditable := false
	for i := n; i < len(fields); i++ {
		name, value, hasValue := splitOption(fields[i])
		opt, ok := reqOptions[name]
		if !ok {
			return perr("unknown option %s", truncate(name))
		}
		if opt.hasArg && !hasValue {
			if i+1 >= len(fields) {
				return perr("option %s needs a value", name)
			}
			i++
			value = fields[i]
		} else if !opt.hasArg && hasValue {
			return perr("option %s takes no value", name)
		}
		value = strings.Trim(value, `"'`)
		if spec != "" && globalOptions[opt.kind] {
			continue // as pip: no effect on a requirement line
		}
		switch opt.kind {
		case optHash:
			algo, hex, ok := strings.Cut(value, ":")
			if !ok || algo == "" || hex == "" {
				return perr("malformed --hash %q: want algorithm:hexdigest", truncate(value))
			}
			hashes = append(hashes, value)
		case optRequirement, optConstraint:
			if err := st.include(file, line, value, constraint || opt.kind == optConstraint); err != nil {
				return err
			}
		case optEditable:
			if isEditable {
				return perr("more than one -e on a line")
			}
			editable, isEditable = value, true
		case optIndexURL:
			st.addIndex(value, false)
		case optExtraIndex, optFindLinks:
			st.addIndex(value, true)
		}
	}
	if isEditable {
		if spec != "" {
			return perr("-e and a requirement on one line")
		}
		spec = editable
	}
	if spec == "" {
		if len(hashes) > 0 {
			return perr("--hash without a requirement")
		}
		return nil
	}
	p, err := ParseRequirement(spec)
	if err != nil {
		return perr("%s", err)
	}
	p.Hashes = hashes
	p.File = file
	p.Line = line
	return st.add(p, constraint)
}

// splitOption splits "--opt=value" and "-rvalue" into name and value.
func splitOption(tok string) (name, value string, hasValue bool) {
	if strings.HasPrefix(tok, "--") {
		return strings.Cut(tok, "=")
	}
	if len(tok) > 2 {
		return tok[:2], strings.TrimPrefix(tok[2:], "="), true
	}
	return tok, "", false
}

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// include reads a requirements file that file includes at line.
func (st *parseState) include(file string, line int, target string, constraint bool) error {
	if st.noIncludes {
		return nil // ParseBytes reads no other file
	}
	perr := func(format string, a ...any) error {
		return &ParseError{File: file, Line: line, Msg: fmt.Sprintf(format, a...)}
	}
	if u, err := url.Parse(target); err == nil && len(u.Scheme) > 1 {
		if u.Scheme != "file" {
			return perr("remote requirements file %s is not read", truncate(target))
		}
		target = u.Path
	}
	if len(st.stack) > MaxIncludeDepth {
		return perr("includes nested more than %d deep", MaxIncludeDepth)
	}
	p := target
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(file), p)
	}
	data, resolved, err := st.readFile(p)
	if err != nil {
		if pe, ok := err.(*ParseError); ok {
			return perr("included file %s: %s", p, pe.Msg)
		}
		return perr("included file: %v", err)
	}
	for i, s := range st.stack {
		if s == resolved {
			chain := make([]string, 0, len(st.stack)-i+1)
			for _, c := range st.stack[i:] {
				chain = append(chain, filepath.Base(c))
			}
			chain = append(chain, filepath.Base(resolved))
			return perr("include cycle: %s", strings.Join(chain, " -> "))
		}
	}
	key := resolved
	if constraint {
		key = "c:" + resolved
	}
	if st.seen[key] {
		return nil // included already
	}
	st.seen[key] = true
	st.stack = append(st.stack, resolved)
	defer func() { st.stack = st.stack[:len(st.stack)-1] }()
	return st.requirements(p, data, constraint)
}

// vcsSchemes are the URL scheme prefixes of VCS requirements.
var vcsSchemes = []string{"git+", "hg+", "svn+", "bzr+"}

// urlSources are the sources of URL schemes.
var urlSources = map[string]string{
	"http":  SourceURL,
	"https": SourceURL,
	"ftp":   SourceURL,
	"file":  SourcePath,
}

// archiveSuffixes are the file name suffixes of distributions.
var archiveSuffixes = []string{".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar", ".zip"}

// urlSource returns the source of a URL or path requirement, and
// whether s is one.
func urlSource(s string) (string, bool) {
	lower := strings.ToLower(s)
	for _, v := range vcsSchemes {
		if strings.HasPrefix(lower, v) {
			return SourceVCS, true
		}
	}
	if scheme, _, ok := strings.Cut(lower, ":"); ok {
		if src, ok := urlSources[scheme]; ok {
			return src, true
		}
	}
	if looksLikePath(s) {
		return SourcePath, true
	}
	for _, suf := range archiveSuffixes {
		if strings.HasSuffix(lower, suf) {
			return SourcePath, true
		}
	}
	return "", false
}

// looksLikePath reports whether s is written as a path.
func looksLikePath(s string) bool {
	return strings.ContainsAny(s, `/\`) || strings.HasPrefix(s, ".")
}

// distVersion matches the version of a distribution's file name: the
// characters of a PEP 440 version (a file "x-1,2.tgz" has none).
var distVersion = regexp.MustCompile(`^[A-Za-z0-9_.+!]+$`)

// specifierClause matches one clause of a version specifier.
var specifierClause = regexp.MustCompile(`^(~=|==|!=|<=|>=|<|>)\s*[A-Za-z0-9_.*+!-]+$|^===\s*[^\s,;]+$`)

// nameAtStart matches the package name that starts a PEP 508 requirement.
var nameAtStart = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?`)

// ParseRequirement parses a PEP 508 requirement ("torch[cuda]>=2.1,<3;
// python_version >= '3.9'", "name @ URL"), or a URL or path as pip
// accepts one (with #egg=name), into a package without file and line:
// an exact pin (== without a wildcard, or ===) is its Version, any other
// specifier its Specifier, with its clauses checked. It is the one PEP
// 508 parser of Violet: every dependency file reader, and violet
// discover's inventory, use it.
func ParseRequirement(s string) (Package, error) {
	s = strings.TrimSpace(s)
	// As pip: a URL, or a path unless "name @ ..." (a PEP 508 URL).
	if src, ok := urlSource(s); ok {
		before, _, at := strings.Cut(s, "@")
		if src != SourcePath || !at || looksLikePath(before) {
			return parseURLRequirement(s, src)
		}
	}
	name := nameAtStart.FindString(s)
	if name == "" {
		return Package{}, fmt.Errorf("invalid requirement %q", truncate(s))
	}
	p := Package{Name: name, Source: SourceIndex}
	rest := strings.TrimSpace(s[len(name):])
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return Package{}, fmt.Errorf("unclosed extras in %q", truncate(s))
		}
		rest = strings.TrimSpace(rest[end+1:])
	}
	if url, ok := strings.CutPrefix(rest, "@"); ok {
		return nameAtURL(p, strings.TrimSpace(url))
	}
	spec := rest
	if i := strings.IndexByte(rest, ';'); i >= 0 {
		spec = strings.TrimSpace(rest[:i])
		p.Markers = strings.TrimSpace(rest[i+1:])
		if p.Markers == "" {
			return Package{}, fmt.Errorf("empty environment markers")
		}
	}
	if strings.HasPrefix(spec, "(") && strings.HasSuffix(spec, ")") {
		spec = strings.TrimSpace(spec[1 : len(spec)-1])
	}
	return withSpecifier(p, spec)
}

// nameAtURL reads the rest of "name @ URL [; markers]": rest is what
// follows the @.
func nameAtURL(p Package, rest string) (Package, error) {
	u := rest
	if i := strings.IndexAny(rest, " \t"); i >= 0 {
		u = rest[:i]
		rest = strings.TrimSpace(rest[i:])
		if !strings.HasPrefix(rest, ";") {
			return Package{}, fmt.Errorf("unexpected %q after URL", truncate(rest))
		}
		p.Markers = strings.TrimSpace(rest[1:])
		if p.Markers == "" {
			return Package{}, fmt.Errorf("empty environment markers")
		}
	}
	if u == "" {
		return Package{}, fmt.Errorf("missing URL after @")
	}
	src, ok := urlSource(u)
	if !ok {
		return Package{}, fmt.Errorf("invalid URL %q", truncate(u))
	}
	p.Source, p.URL = src, u
	if fname, fver := distFileName(u); fver != "" && normalizePackageName(fname) == normalizePackageName(p.Name) {
		p.Version = fver
	}
	return p, nil
}

// withSpecifier checks a version specifier and sets it on p: an exact pin
// (=== or == without a wildcard) as its Version, else as its Specifier,
// clauses without spaces.
func withSpecifier(p Package, spec string) (Package, error) {
	if spec == "" {
		return p, nil
	}
	clauses := strings.Split(spec, ",")
	for i, c := range clauses {
		c = strings.TrimSpace(c)
		if !specifierClause.MatchString(c) {
			return Package{}, fmt.Errorf("invalid version specifier %q", truncate(c))
		}
		clauses[i] = strings.Join(strings.Fields(c), "")
	}
	if len(clauses) == 1 {
		c := clauses[0]
		switch {
		case strings.HasPrefix(c, "==="):
			p.Version = c[3:]
			return p, nil
		case strings.HasPrefix(c, "==") && !strings.Contains(c, "*"):
			p.Version = c[2:]
			return p, nil
		}
	}
	p.Specifier = strings.Join(clauses, ",")
	return p, nil
}

// parseRequirement is ParseRequirement, for the readers that call it so.
func parseRequirement(s string) (Package, error) { return ParseRequirement(s) }

// parseURLRequirement parses a bare URL or path requirement: the name
// comes from its #egg= fragment or its file name, markers follow "; ".
func parseURLRequirement(s, src string) (Package, error) {
	p := Package{Source: src}
	markerSep := ";"
	if src != SourcePath || strings.Contains(s, ":") {
		markerSep = "; "
	}
	if i := strings.Index(s, markerSep); i >= 0 {
		p.Markers = strings.TrimSpace(s[i+len(markerSep):])
		s = strings.TrimSpace(s[:i])
	}
	if s == "" || strings.ContainsAny(s, " \t") {
		return Package{}, fmt.Errorf("invalid requirement %q", truncate(s))
	}
	// A path may end in extras: ".[dev]".
	if src == SourcePath && strings.HasSuffix(s, "]") {
		if i := strings.LastIndexByte(s, '['); i > 0 {
			s = s[:i]
		}
	}
	p.URL = s
	if _, frag, ok := strings.Cut(s, "#"); ok {
		for _, kv := range strings.Split(frag, "&") {
			if egg, ok := strings.CutPrefix(kv, "egg="); ok {
				egg, _, _ = strings.Cut(egg, "[")
				if !validPackageName.MatchString(egg) {
					return Package{}, fmt.Errorf("invalid #egg= name %q", truncate(egg))
				}
				p.Name = egg
			}
		}
	}
	if fname, fver := distFileName(s); fname != "" {
		if p.Name == "" {
			p.Name = fname
		}
		if normalizePackageName(fname) == normalizePackageName(p.Name) {
			p.Version = fver
		}
	}
	return p, nil
}

// distFileName returns the name and version of the distribution file a
// URL or path names (a wheel or an sdist), empty when it names none.
func distFileName(u string) (name, version string) {
	u, _, _ = strings.Cut(u, "#")
	u, _, _ = strings.Cut(u, "?")
	base := path.Base(strings.ReplaceAll(u, `\`, "/"))
	lower := strings.ToLower(base)
	if strings.HasSuffix(lower, ".whl") {
		parts := strings.Split(base[:len(base)-4], "-")
		if len(parts) < 5 || !validPackageName.MatchString(parts[0]) || !distVersion.MatchString(parts[1]) {
			return "", ""
		}
		return parts[0], parts[1]
	}
	for _, suf := range archiveSuffixes[1:] {
		if !strings.HasSuffix(lower, suf) {
			continue
		}
		stem := base[:len(base)-len(suf)]
		i := strings.LastIndexByte(stem, '-')
		if i <= 0 || i == len(stem)-1 || stem[i+1] < '0' || stem[i+1] > '9' {
			return "", ""
		}
		if !validPackageName.MatchString(stem[:i]) || !distVersion.MatchString(stem[i+1:]) {
			return "", ""
		}
		return stem[:i], stem[i+1:]
	}
	return "", ""
}
