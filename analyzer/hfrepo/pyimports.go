package hfrepo

import (
	"strings"
)

// Import is one import found in Python source.
type Import struct {
	// Module is the imported module as written: "a.b", or ".helpers" and
	// "." for relative imports (the leading dots are kept).
	Module string
	// Names are the names of a from-import ("x", "y"), or nil.
	Names []string
	// Line is the 1-based line of the statement or call.
	Line int
	// Statement is the source text of the statement, whitespace collapsed
	// and cut to 200 bytes.
	Statement string
}

// Call is a call of a builtin that runs or loads code: exec, eval,
// compile or __import__.
type Call struct {
	// Name is the called builtin.
	Name string
	// Line is the 1-based line of the call.
	Line int
	// Text is the source text of the call's start.
	Text string
}

// Python is what ParsePython found in one file.
type Python struct {
	Imports []Import
	Calls   []Call
}

type tokKind int

const (
	tName tokKind = iota
	tOp
	tString
	tNewline
)

type token struct {
	kind       tokKind
	text       string // name, operator, or string contents
	line       int
	start, end int
}

// tokenize splits Python source into names, operators, strings and logical
// line ends, skipping comments and blank space. It never fails: malformed
// source gives some tokens.
func tokenize(src []byte) []token {
	var toks []token
	line, depth := 1, 0
	i := 0
	n := len(src)
	for i < n {
		c := src[i]
		switch {
		case c == '\n':
			if depth == 0 && len(toks) > 0 && toks[len(toks)-1].kind != tNewline {
				toks = append(toks, token{kind: tNewline, line: line, start: i, end: i})
			}
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			i++
		case c == '#':
			for i < n && src[i] != '\n' {
				i++
			}
		case c == '\\':
			// A line continuation: the newline after it does not end the line.
			i++
			if i < n && src[i] == '\r' {
				i++
			}
			if i < n && src[i] == '\n' {
				line++
				i++
			}
		case c == '"' || c == '\'':
			start, startLine := i, line
			var s string
			i, line, s = scanString(src, i, line, false)
			toks = append(toks, token{kind: tString, text: s, line: startLine, start: start, end: i})
		case isNameStart(c):
			start := i
			for i < n && isNameChar(src[i]) {
				i++
			}
			word := string(src[start:i])
			if i < n && (src[i] == '"' || src[i] == '\'') && isStringPrefix(word) {
				startLine := line
				var s string
				i, line, s = scanString(src, i, line, strings.ContainsAny(word, "fF"))
				toks = append(toks, token{kind: tString, text: s, line: startLine, start: start, end: i})
				continue
			}
			toks = append(toks, token{kind: tName, text: word, line: line, start: start, end: i})
		default:
			switch c {
			case '(', '[', '{':
				depth++
			case ')', ']', '}':
				if depth > 0 {
					depth--
				}
			case ';':
				if depth == 0 {
					toks = append(toks, token{kind: tNewline, line: line, start: i, end: i + 1})
					i++
					continue
				}
			}
			toks = append(toks, token{kind: tOp, text: string(c), line: line, start: i, end: i + 1})
			i++
		}
	}
	return toks
}

func isNameStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

func isStringPrefix(w string) bool {
	if len(w) > 2 {
		return false
	}
	for _, r := range strings.ToLower(w) {
		if !strings.ContainsRune("rbuf", r) {
			return false
		}
	}
	return true
}

// scanString reads the string literal whose opening quote is at src[i] and
// returns the index after it, the line count after it and its contents
// (escapes are kept as written). An f-string's replacement fields may hold
// nested strings, which are skipped whole.
func scanString(src []byte, i, line int, fstring bool) (int, int, string) {
	n := len(src)
	q := src[i]
	triple := i+2 < n && src[i+1] == q && src[i+2] == q
	if triple {
		i += 3
	} else {
		i++
	}
	start := i
	braces := 0
	for i < n {
		c := src[i]
		switch {
		case c == '\\':
			i++
			if i < n {
				if src[i] == '\n' {
					line++
				}
				i++
			}
			continue
		case c == '\n':
			if !triple && braces == 0 {
				return i, line, string(src[start:i]) // unterminated: the line ends it
			}
			line++
		case fstring && c == '{':
			if braces == 0 && i+1 < n && src[i+1] == '{' {
				i += 2
				continue
			}
			braces++
		case fstring && c == '}' && braces > 0:
			braces--
		case braces > 0 && (c == '"' || c == '\''):
			i, line, _ = scanString(src, i, line, true)
			continue
		case c == q:
			if !triple {
				return i + 1, line, string(src[start:i])
			}
			if i+2 < n && src[i+1] == q && src[i+2] == q {
				return i + 3, line, string(src[start:i])
			}
		}
		i++
	}
	return n, line, string(src[start:])
}

// ParsePython finds the imports of Python source and the calls of exec,
// eval, compile and __import__, without running or importing anything.
// Comments and string literals (docstrings included) are ignored.
func ParsePython(src []byte) Python {
	toks := tokenize(src)
	var p Python
	text := func(a, b int) string {
		if a >= len(toks) {
			return ""
		}
		if b >= len(toks) {
			b = len(toks) - 1
		}
		s := strings.Join(strings.Fields(string(src[toks[a].start:toks[b].end])), " ")
		if len(s) > 200 {
			s = s[:200] + "..."
		}
		return s
	}
	// dotted reads a dotted name (with leading dots when rel) at j.
	dotted := func(j int, rel bool) (string, int) {
		var b strings.Builder
		for j < len(toks) {
			t := toks[j]
			switch {
			case t.kind == tOp && t.text == "." && (rel || b.Len() > 0 && !strings.HasSuffix(b.String(), ".")):
				b.WriteByte('.')
			case t.kind == tName && t.text != "import" && (b.Len() == 0 || strings.HasSuffix(b.String(), ".")):
				b.WriteString(t.text)
			default:
				return b.String(), j
			}
			j++
		}
		return b.String(), j
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tName {
			continue
		}
		switch t.text {
		case "from":
			mod, j := dotted(i+1, true)
			if mod == "" || j >= len(toks) || toks[j].kind != tName || toks[j].text != "import" {
				continue
			}
			var names []string
			k := j + 1
			for ; k < len(toks) && toks[k].kind != tNewline; k++ {
				tk := toks[k]
				if tk.kind == tName && tk.text != "as" && !(k > 0 && toks[k-1].kind == tName && toks[k-1].text == "as") {
					names = append(names, tk.text)
				} else if tk.kind == tOp && tk.text == "*" {
					names = append(names, "*")
				}
			}
			p.Imports = append(p.Imports, Import{Module: mod, Names: names, Line: t.line, Statement: text(i, k-1)})
			i = k - 1
		case "import":
			k := i + 1
			for k < len(toks) && toks[k].kind != tNewline {
				mod, j := dotted(k, false)
				if mod == "" {
					k++
					continue
				}
				p.Imports = append(p.Imports, Import{Module: mod, Line: t.line, Statement: text(i, endOfLine(toks, i))})
				k = j
				if k+1 < len(toks) && toks[k].kind == tName && toks[k].text == "as" {
					k += 2
				}
				if k < len(toks) && toks[k].kind == tOp && toks[k].text == "," {
					k++
				} else {
					break
				}
			}
			i = k - 1
		case "__import__", "import_module", "exec", "eval", "compile":
			if i+1 >= len(toks) || toks[i+1].kind != tOp || toks[i+1].text != "(" {
				continue
			}
			if i > 0 && toks[i-1].kind == tName && toks[i-1].text == "def" {
				continue
			}
			method := i > 0 && toks[i-1].kind == tOp && toks[i-1].text == "."
			owner := ""
			if method && i > 1 && toks[i-2].kind == tName {
				owner = toks[i-2].text
			}
			if t.text == "import_module" {
				if method && owner != "importlib" {
					continue
				}
			} else if method && owner != "builtins" && owner != "__builtins__" {
				continue // re.compile(, model.eval(
			}
			if t.text != "import_module" {
				p.Calls = append(p.Calls, Call{Name: t.text, Line: t.line, Text: text(max(i-2*boolInt(method), 0), i+1)})
			}
			if (t.text == "__import__" || t.text == "import_module") && i+2 < len(toks) && toks[i+2].kind == tString {
				mod := strings.TrimSpace(toks[i+2].text)
				if mod != "" {
					p.Imports = append(p.Imports, Import{Module: mod, Line: t.line, Statement: text(max(i-2*boolInt(method), 0), min(i+3, len(toks)-1))})
				}
			}
		}
	}
	return p
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// endOfLine returns the index of the last token of the logical line of
// token i.
func endOfLine(toks []token, i int) int {
	for i+1 < len(toks) && toks[i+1].kind != tNewline {
		i++
	}
	return i
}
