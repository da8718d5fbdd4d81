package deps

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// setup.cfg (setuptools' declarative configuration, INI): [options]
// install_requires and setup_requires, and every key of
// [options.extras_require]. A value on several lines holds one
// requirement per line; a value on one line is split on ";" (as
// setuptools does); "file: a.txt, b.txt" reads requirements files.

// iniValue is one key of an INI file with the lines of its value.
type iniValue struct {
	section, key string
	line         int
	parts        []reqLine
}

// setupCfgKeys are the keys of setup.cfg that list requirements, by
// section; "*" is every key of the section.
var setupCfgKeys = map[string]map[string]bool{
	"options":                {"install_requires": true, "setup_requires": true},
	"options.extras_require": {"*": true},
}

func parseSetupCfg(st *parseState, file string, data []byte) error {
	values, err := readINI(file, data)
	if err != nil {
		return err
	}
	for _, v := range values {
		keys := setupCfgKeys[v.section]
		if !keys[v.key] && !keys["*"] {
			continue
		}
		parts := v.parts
		if len(parts) == 1 && v.parts[0].line == v.line {
			text := parts[0].text
			if files, ok := strings.CutPrefix(text, "file:"); ok {
				for _, f := range strings.Split(files, ",") {
					if err := st.include(file, v.line, strings.TrimSpace(f), false); err != nil {
						return err
					}
				}
				continue
			}
			parts = nil
			for _, s := range strings.Split(text, ";") {
				if s = strings.TrimSpace(s); s != "" {
					parts = append(parts, reqLine{v.line, s})
				}
			}
		}
		for _, l := range parts {
			if strings.HasPrefix(l.text, "#") {
				continue
			}
			p, err := parseRequirement(l.text)
			if err != nil {
				return &ParseError{File: file, Line: l.line, Msg: fmt.Sprintf("[%s] %s: %s", v.section, v.key, err)}
			}
			p.File, p.Line = file, l.line
			if err := st.add(p, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// readINI reads an INI file as Python's configparser does with its
// defaults: [section] headers, "key = value" or "key: value" (keys in
// lower case), indented lines continuing a value, whole-line comments
// starting with # or ;.
func readINI(file string, data []byte) ([]iniValue, error) {
	var values []iniValue
	section := ""
	cur := -1 // the value being continued
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		l := strings.TrimRight(raw, "\r")
		trimmed := strings.TrimSpace(l)
		switch {
		case trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';':
			continue
		case l[0] == ' ' || l[0] == '\t':
			if cur < 0 {
				return nil, &ParseError{File: file, Line: n, Msg: "indented line outside a value"}
			}
			values[cur].parts = append(values[cur].parts, reqLine{n, trimmed})
			continue
		case trimmed[0] == '[':
			end := strings.IndexByte(trimmed, ']')
			if end < 0 {
				return nil, &ParseError{File: file, Line: n, Msg: "unclosed section header"}
			}
			section, cur = strings.TrimSpace(trimmed[1:end]), -1
			continue
		}
		sep := strings.IndexAny(l, "=:")
		if sep <= 0 || section == "" {
			return nil, &ParseError{File: file, Line: n, Msg: fmt.Sprintf("not a section, nor key = value: %q", truncate(trimmed))}
		}
		v := iniValue{section: section, key: strings.ToLower(strings.TrimSpace(l[:sep])), line: n}
		if s := strings.TrimSpace(l[sep+1:]); s != "" {
			v.parts = []reqLine{{n, s}}
		}
		values = append(values, v)
		cur = len(values) - 1
	}
	return values, nil
}

// setup.py is Python: it is never run. Its tokens are read, and the
// values of install_requires, setup_requires (lists of requirement
// strings) and extras_require (a dict of them) are taken where they are
// literals: keyword arguments (install_requires=[...]), dict entries
// ("install_requires": [...]) and assignments. A name is followed to its
// value when it is assigned exactly once, to a literal, and never
// changed (no .append, +=, [...]). Anything else (a call, a
// comprehension, a sum) is recorded in Manifest.Unread: those packages
// are not known without running the file.

// maxSetupPySize bounds a setup.py (real ones are a few kilobytes).
const maxSetupPySize = 1 << 20

// setupPyKeys are the arguments of setup() that list requirements: true
// for a dict of lists (extras_require).
var setupPyKeys = map[string]bool{"install_requires": false, "setup_requires": false, "extras_require": true}

// pyToken is a token of Python source.
type pyToken struct {
	kind byte // pyName, pyString, pyOther (f-strings, bytes, numbers), pyOp, pyNewline
	text string
	line int
}

const (
	pyName    = 'n'
	pyString  = 's'
	pyOther   = 'x'
	pyOp      = 'o'
	pyNewline = 'N'
)

// pyOps are Python's operators of more than one character, longest
// first.
var pyOps = []string{"**=", "//=", ">>=", "<<=", "...", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", ":=", "->", "**", "//", "<<", ">>"}

// pyTokens splits Python source into tokens. A logical line ends with a
// pyNewline token (newlines inside brackets and after a backslash do
// not end one). Comments are dropped.
func pyTokens(file string, src string) ([]pyToken, error) {
	var toks []pyToken
	line, depth := 1, 0
	perr := func(msg string) error { return &ParseError{File: file, Line: line, Msg: "setup.py: " + msg} }
	emit := func(kind byte, text string) { toks = append(toks, pyToken{kind, text, line}) }
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			if depth == 0 && len(toks) > 0 && toks[len(toks)-1].kind != pyNewline {
				emit(pyNewline, "")
			}
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			i++
		case c == '\\' && i+1 < len(src) && (src[i+1] == '\n' || src[i+1] == '\r'):
			i += 2
			if src[i-1] == '\r' && i < len(src) && src[i] == '\n' {
				i++
			}
			line++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '\'' || c == '"':
			start := line
			s, n, err := readPyString(src[i:], false, &line)
			if err != nil {
				line = start
				return nil, perr(err.Error())
			}
			toks = append(toks, pyToken{pyString, s, start})
			i += n
		case c < utf8.RuneSelf && (c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') || c >= utf8.RuneSelf:
			j := i
			for j < len(src) {
				r, size := utf8.DecodeRuneInString(src[j:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				j += size
			}
			if j == i { // a character that starts nothing
				_, size := utf8.DecodeRuneInString(src[i:])
				emit(pyOther, src[i:i+size])
				i += size
				continue
			}
			word := src[i:j]
			if j < len(src) && (src[j] == '\'' || src[j] == '"') && len(word) <= 2 && strings.Trim(strings.ToLower(word), "rubft") == "" {
				start := line
				s, n, err := readPyString(src[j:], strings.ContainsAny(word, "rR"), &line)
				if err != nil {
					line = start
					return nil, perr(err.Error())
				}
				kind := byte(pyString)
				if strings.ContainsAny(word, "bBfFtT") {
					kind = pyOther // bytes, f-strings and templates are not literal text
				}
				toks = append(toks, pyToken{kind, s, start})
				i = j + n
				continue
			}
			emit(pyName, word)
			i = j
		case '0' <= c && c <= '9' || c == '.' && i+1 < len(src) && '0' <= src[i+1] && src[i+1] <= '9':
			j := i + 1
			for j < len(src) && (src[j] == '.' || src[j] == '_' || 'a' <= src[j]|0x20 && src[j]|0x20 <= 'z' || '0' <= src[j] && src[j] <= '9') {
				j++
			}
			emit(pyOther, src[i:j])
			i = j
		default:
			op := string(c)
			for _, o := range pyOps {
				if strings.HasPrefix(src[i:], o) {
					op = o
					break
				}
			}
			switch op {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth = max(depth-1, 0)
			}
			emit(pyOp, op)
			i += len(op)
		}
	}
	emit(pyNewline, "")
	return toks, nil
}

// readPyString reads the string literal at the start of s (its quote), and
// returns its text (escapes decoded unless raw) and length, counting
// the newlines it spans into line.
func readPyString(s string, raw bool, line *int) (string, int, error) {
	q := s[:1]
	if strings.HasPrefix(s, q+q+q) {
		q = q + q + q
	}
	var b strings.Builder
	for i := len(q); i < len(s); {
		c := s[i]
		switch {
		case strings.HasPrefix(s[i:], q):
			return b.String(), i + len(q), nil
		case c == '\n' && len(q) == 1:
			return "", 0, fmt.Errorf("unterminated string")
		case c == '\\' && i+1 < len(s):
			e := s[i+1]
			if e == '\n' {
				*line++
			}
			switch {
			case raw:
				b.WriteByte(c)
				b.WriteByte(e)
			case e == '\n':
			case e == 'n':
				b.WriteByte('\n')
			case e == 't':
				b.WriteByte('\t')
			case e == '\\' || e == '\'' || e == '"':
				b.WriteByte(e)
			default:
				b.WriteByte(c)
				b.WriteByte(e)
			}
			i += 2
		default:
			if c == '\n' {
				*line++
			}
			b.WriteByte(c)
			i++
		}
	}
	return "", 0, fmt.Errorf("unterminated string")
}

// setupPy reads the requirement lists of a setup.py.
type setupPy struct {
	st   *parseState
	file string
	toks []pyToken
	// done are the starts of the values read (a variable assigned once
	// and passed as install_requires=name is read once); reported the
	// keys already recorded as unread.
	done     map[int]bool
	reported map[string]bool
}

func parseSetupPy(st *parseState, file string, data []byte) error {
	if len(data) > maxSetupPySize {
		return &ParseError{File: file, Msg: fmt.Sprintf("setup.py larger than %d bytes", maxSetupPySize)}
	}
	toks, err := pyTokens(file, string(data))
	if err != nil {
		return err
	}
	sp := &setupPy{st: st, file: file, toks: toks, done: map[int]bool{}, reported: map[string]bool{}}
	for i, t := range toks {
		isDict, ok := setupPyKeys[t.text]
		if !ok {
			continue
		}
		start := -1
		switch {
		case t.kind == pyName && sp.isOp(i+1, "=") && sp.statementStart(i):
			// install_requires = [...], a variable: read once, unless changed
			if start = sp.assignment(t.text); start < 0 {
				sp.unread(t.line, t.text, "assigned more than once, or changed by code")
				continue
			}
		case t.kind == pyName && sp.isOp(i+1, "="):
			start = i + 2 // install_requires=[...]
		case t.kind == pyString && sp.isOp(i+1, ":"):
			start = i + 2 // {"install_requires": [...]}
		case t.kind == pyString && sp.isOp(i-1, "[") && sp.isOp(i+1, "]"):
			switch {
			case sp.isOp(i+2, "="):
				start = i + 3 // kwargs["install_requires"] = [...]
			case sp.modified(i + 1):
				sp.unread(t.line, t.text, "changed by code")
				continue
			default:
				continue
			}
		default:
			continue // a read, an attribute, a definition, a string
		}
		if err := sp.value(t.text, t.line, start, isDict); err != nil {
			return err
		}
	}
	return nil
}

// isOp reports whether token i is the operator op.
func (sp *setupPy) isOp(i int, op string) bool {
	return i >= 0 && i < len(sp.toks) && sp.toks[i].kind == pyOp && sp.toks[i].text == op
}

// statementStart reports whether token i starts a logical line.
func (sp *setupPy) statementStart(i int) bool {
	return i == 0 || sp.toks[i-1].kind == pyNewline || sp.isOp(i-1, ";")
}

// modified reports whether the name at token i is changed there: a
// method call or attribute, an item, an augmented assignment.
func (sp *setupPy) modified(i int) bool {
	if i+1 >= len(sp.toks) || sp.toks[i+1].kind != pyOp {
		return false
	}
	switch op := sp.toks[i+1].text; op {
	case ".", "[":
		return true
	case "==", "!=", "<=", ">=":
		return false
	default:
		return len(op) > 1 && strings.HasSuffix(op, "=")
	}
}

// assignment returns the start of the value of name when name is
// assigned exactly once at the start of a statement and never changed,
// else -1.
func (sp *setupPy) assignment(name string) int {
	start, count := -1, 0
	for j, t := range sp.toks {
		if t.kind != pyName || t.text != name {
			continue
		}
		switch {
		case sp.isOp(j+1, "=") && sp.statementStart(j):
			count++
			start = j + 2
		case sp.modified(j):
			return -1
		}
	}
	if count != 1 {
		return -1
	}
	return start
}

// unread records that the value of key is not a literal, once per key.
func (sp *setupPy) unread(line int, key, why string) {
	if sp.reported[key] {
		return
	}
	sp.reported[key] = true
	sp.st.m.Unread = append(sp.st.m.Unread, ParseError{File: sp.file, Line: line,
		Msg: "setup.py: " + key + " " + why + ": could not read statically (not a literal list of requirement strings)"})
}

// value reads the value of key at token i: a literal (a list, tuple or
// string of requirements; for a dict key, a dict of those), or a name
// assigned once to one.
func (sp *setupPy) value(key string, line, i int, isDict bool) error {
	if i < len(sp.toks) && sp.toks[i].kind == pyName && sp.ends(i+1) {
		j := sp.assignment(sp.toks[i].text)
		if j < 0 {
			sp.unread(line, key, "is "+sp.toks[i].text+", a name not assigned exactly once, or changed by code")
			return nil
		}
		i = j
	}
	if sp.done[i] {
		return nil
	}
	sp.done[i] = true
	var items []pyToken
	var end int
	var ok bool
	if isDict {
		items, end, ok = sp.dict(i)
	} else {
		items, end, ok = sp.list(i)
	}
	if !ok || !sp.ends(end) {
		sp.unread(line, key, "is computed")
		return nil
	}
	for _, it := range items {
		for k, text := range strings.Split(it.text, "\n") {
			text = strings.TrimSpace(text)
			if text == "" || strings.HasPrefix(text, "#") {
				continue
			}
			p, err := parseRequirement(text)
			if err != nil {
				return &ParseError{File: sp.file, Line: it.line + k, Msg: fmt.Sprintf("%s: %s", key, err)}
			}
			p.File, p.Line = sp.file, it.line+k
			if err := sp.st.add(p, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// ends reports whether a value ends before token i: the token closes an
// argument, an item or a statement.
func (sp *setupPy) ends(i int) bool {
	if i >= len(sp.toks) || sp.toks[i].kind == pyNewline {
		return true
	}
	return sp.isOp(i, ",") || sp.isOp(i, ")") || sp.isOp(i, "}") || sp.isOp(i, ";")
}

// stringItem reads adjacent string literals at token i (Python joins them)
// as one item.
func (sp *setupPy) stringItem(i int) (pyToken, int, bool) {
	if i >= len(sp.toks) || sp.toks[i].kind != pyString {
		return pyToken{}, i, false
	}
	t := sp.toks[i]
	for i++; i < len(sp.toks) && sp.toks[i].kind == pyString; i++ {
		t.text += sp.toks[i].text
	}
	return t, i, true
}

// list reads a literal string, or list or tuple of strings, at token i;
// it returns the items and the token after the literal.
func (sp *setupPy) list(i int) ([]pyToken, int, bool) {
	if s, end, ok := sp.stringItem(i); ok {
		return []pyToken{s}, end, true
	}
	if !sp.isOp(i, "[") && !sp.isOp(i, "(") {
		return nil, i, false
	}
	closer := map[string]string{"[": "]", "(": ")"}[sp.toks[i].text]
	var items []pyToken
	for i++; ; {
		if sp.isOp(i, closer) {
			return items, i + 1, true
		}
		s, end, ok := sp.stringItem(i)
		if !ok {
			return nil, i, false
		}
		items = append(items, s)
		i = end
		if sp.isOp(i, ",") {
			i++
		} else if !sp.isOp(i, closer) {
			return nil, i, false
		}
	}
}

// dict reads a literal dict of string keys to literal lists at token i.
func (sp *setupPy) dict(i int) ([]pyToken, int, bool) {
	if !sp.isOp(i, "{") {
		return nil, i, false
	}
	var items []pyToken
	for i++; ; {
		if sp.isOp(i, "}") {
			return items, i + 1, true
		}
		_, end, ok := sp.stringItem(i)
		if !ok || !sp.isOp(end, ":") {
			return nil, i, false
		}
		vals, end, ok := sp.list(end + 1)
		if !ok {
			return nil, i, false
		}
		items = append(items, vals...)
		i = end
		if sp.isOp(i, ",") {
			i++
		} else if !sp.isOp(i, "}") {
			return nil, i, false
		}
	}
}
