package deps

import (
	"errors"
	"fmt"
	"strings"

	"github.com/violet-mlsecops/violet/internal/pysrc"
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
			p, err := ParseRequirement(l.text)
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

// setupPy reads the requirement lists of a setup.py.
type setupPy struct {
	st   *parseState
	file string
	toks []pysrc.Token
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
	toks, err := pysrc.Tokenize(data)
	if err != nil {
		pe := &ParseError{File: file, Msg: "setup.py: " + err.Error()}
		var se *pysrc.SyntaxError
		if errors.As(err, &se) {
			pe.Line, pe.Msg = se.Line, "setup.py: "+se.Msg
		}
		return pe
	}
	sp := &setupPy{st: st, file: file, toks: toks, done: map[int]bool{}, reported: map[string]bool{}}
	for i, t := range toks {
		isDict, ok := setupPyKeys[t.Text]
		if !ok {
			continue
		}
		var start int
		switch {
		case t.Kind == pysrc.Name && sp.isOp(i+1, "=") && sp.statementStart(i):
			// install_requires = [...], a variable: read once, unless changed
			if start = sp.assignment(t.Text); start < 0 {
				sp.unread(t.Line, t.Text, "assigned more than once, or changed by code")
				continue
			}
		case t.Kind == pysrc.Name && sp.isOp(i+1, "="):
			start = i + 2 // install_requires=[...]
		case t.Str() && sp.isOp(i+1, ":"):
			start = i + 2 // {"install_requires": [...]}
		case t.Str() && sp.isOp(i-1, "[") && sp.isOp(i+1, "]"):
			switch {
			case sp.isOp(i+2, "="):
				start = i + 3 // kwargs["install_requires"] = [...]
			case sp.modified(i + 1):
				sp.unread(t.Line, t.Text, "changed by code")
				continue
			default:
				continue
			}
		default:
			continue // a read, an attribute, a definition, a string
		}
		if err := sp.value(t.Text, t.Line, start, isDict); err != nil {
			return err
		}
	}
	return nil
}

// isOp reports whether token i is the operator op.
func (sp *setupPy) isOp(i int, op string) bool {
	return i >= 0 && i < len(sp.toks) && sp.toks[i].Is(op)
}

// statementStart reports whether token i starts a logical line.
func (sp *setupPy) statementStart(i int) bool {
	return i == 0 || sp.toks[i-1].Kind == pysrc.Newline || sp.isOp(i-1, ";")
}

// modified reports whether the name at token i is changed there: a
// method call or attribute, an item, an augmented assignment.
func (sp *setupPy) modified(i int) bool {
	if i+1 >= len(sp.toks) || sp.toks[i+1].Kind != pysrc.Op {
		return false
	}
	switch op := sp.toks[i+1].Text; op {
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
		if t.Kind != pysrc.Name || t.Text != name {
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
	if i < len(sp.toks) && sp.toks[i].Kind == pysrc.Name && sp.ends(i+1) {
		j := sp.assignment(sp.toks[i].Text)
		if j < 0 {
			sp.unread(line, key, "is "+sp.toks[i].Text+", a name not assigned exactly once, or changed by code")
			return nil
		}
		i = j
	}
	if sp.done[i] {
		return nil
	}
	sp.done[i] = true
	var items []pysrc.Token
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
		for k, text := range strings.Split(it.Text, "\n") {
			text = strings.TrimSpace(text)
			if text == "" || strings.HasPrefix(text, "#") {
				continue
			}
			p, err := ParseRequirement(text)
			if err != nil {
				return &ParseError{File: sp.file, Line: it.Line + k, Msg: fmt.Sprintf("%s: %s", key, err)}
			}
			p.File, p.Line = sp.file, it.Line+k
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
	if i >= len(sp.toks) || sp.toks[i].Kind == pysrc.Newline {
		return true
	}
	return sp.isOp(i, ",") || sp.isOp(i, ")") || sp.isOp(i, "}") || sp.isOp(i, ";")
}

// stringItem reads adjacent string literals at token i (Python joins them)
// as one item.
func (sp *setupPy) stringItem(i int) (pysrc.Token, int, bool) {
	if i >= len(sp.toks) || !sp.toks[i].Str() {
		return pysrc.Token{}, i, false
	}
	t := sp.toks[i]
	for i++; i < len(sp.toks) && sp.toks[i].Str(); i++ {
		t.Text += sp.toks[i].Text
	}
	return t, i, true
}

// list reads a literal string, or list or tuple of strings, at token i;
// it returns the items and the token after the literal.
func (sp *setupPy) list(i int) ([]pysrc.Token, int, bool) {
	if s, end, ok := sp.stringItem(i); ok {
		return []pysrc.Token{s}, end, true
	}
	if !sp.isOp(i, "[") && !sp.isOp(i, "(") {
		return nil, i, false
	}
	closer := map[string]string{"[": "]", "(": ")"}[sp.toks[i].Text]
	var items []pysrc.Token
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
func (sp *setupPy) dict(i int) ([]pysrc.Token, int, bool) {
	if !sp.isOp(i, "{") {
		return nil, i, false
	}
	var items []pysrc.Token
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
