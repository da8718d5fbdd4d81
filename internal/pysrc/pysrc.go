// Package pysrc splits Python source into tokens, without running or
// importing anything. It is the one Python tokenizer of Violet: violet
// deps reads the requirement lists of a setup.py with it, violet discover
// the models that code names.
//
// It reads what a static reader needs, not all of Python: names, string
// literals with their values, numbers, operators, and the ends of logical
// lines. Indentation is not tracked and comments are dropped.
package pysrc

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is the kind of a token.
type Kind uint8

// Kinds of tokens.
const (
	// Name is an identifier or a keyword.
	Name Kind = iota
	// String is a string literal: Text is its value, escapes decoded
	// (unless raw), adjacent literals not joined.
	String
	// Number is a number, as written.
	Number
	// Op is an operator or delimiter ("=", "**=", "->", "("), or any
	// other character that starts no token.
	Op
	// Newline ends a logical line: newlines inside brackets and after a
	// backslash do not end one, nor do blank and comment-only lines. The
	// tokens always end with one.
	Newline
)

// Token is one token of Python source.
type Token struct {
	Kind Kind
	// Dynamic marks a string whose value is not a str known without
	// running the code: an f-string with replacement fields, a template
	// (t-string), bytes, or a literal cut short by the end of its line or
	// of the file. Text is then its body as written.
	Dynamic bool
	// Line is the 1-based line where the token starts.
	Line int
	// Text is the identifier, the operator, the number as written, or the
	// value of a string.
	Text string
}

// Is reports whether the token is the operator op.
func (t Token) Is(op string) bool { return t.Kind == Op && t.Text == op }

// Str reports whether the token is a string literal whose value, Text, is
// known: not Dynamic.
func (t Token) Str() bool { return t.Kind == String && !t.Dynamic }

// MaxTokens bounds the tokens read from one source: Tokenize stops there
// with an error. Callers bound the size of what they read (every token
// but the last Newline takes at least one byte).
const MaxTokens = 1 << 20

// SyntaxError is what Tokenize could not read, and where.
type SyntaxError struct {
	Line int
	Msg  string
}

// Error says where and what.
func (e *SyntaxError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Msg }

// ops are Python's operators of more than one character, longest first.
var ops = []string{"**=", "//=", ">>=", "<<=", "...", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", ":=", "->", "**", "//", "<<", ">>"}

// stringPrefixes are the prefixes a Python string may have (in lower case).
var stringPrefixes = map[string]bool{
	"r": true, "u": true, "b": true, "br": true, "rb": true, "f": true, "fr": true, "rf": true, "t": true, "tr": true, "rt": true,
}

// Tokenize splits Python source into tokens. It reads the whole source
// whatever it meets: a string literal left open ends at the end of its
// line (or, triple-quoted, of the file) and is Dynamic. The error is the
// first such problem (a *SyntaxError), for callers that must not guess;
// the tokens are returned with it. A source of more than MaxTokens tokens
// is read up to there, with an error.
func Tokenize(src []byte) ([]Token, error) {
	t := &tokenizer{src: string(src), line: 1}
	for t.pos < len(t.src) {
		if len(t.toks) >= MaxTokens {
			t.fail(fmt.Sprintf("more than %d tokens", MaxTokens))
			return t.toks, t.err
		}
		t.step()
	}
	if len(t.toks) == 0 || t.toks[len(t.toks)-1].Kind != Newline {
		t.emit(Newline, "")
	}
	return t.toks, t.err
}

// tokenizer is the state of Tokenize.
type tokenizer struct {
	src   string
	pos   int
	line  int
	depth int // open brackets
	toks  []Token
	err   error
}

func (t *tokenizer) fail(msg string) {
	if t.err == nil {
		t.err = &SyntaxError{Line: t.line, Msg: msg}
	}
}

// emit adds a token of text, read at pos.
func (t *tokenizer) emit(k Kind, text string) {
	t.toks = append(t.toks, Token{Kind: k, Line: t.line, Text: text})
	t.pos += len(text)
}

// step reads what starts at pos: a token, a blank, a comment, the end of
// a line.
func (t *tokenizer) step() {
	s := t.src[t.pos:]
	switch c := s[0]; {
	case c == '\n':
		if t.depth == 0 && len(t.toks) > 0 && t.toks[len(t.toks)-1].Kind != Newline {
			t.emit(Newline, "")
		}
		t.line++
		t.pos++
	case c == ' ' || c == '\t' || c == '\r' || c == '\f':
		t.pos++
	case strings.HasPrefix(s, "\\\n") || strings.HasPrefix(s, "\\\r\n"): // a line continued
		t.line++
		t.pos += strings.IndexByte(s, '\n') + 1
	case c == '#':
		if n := strings.IndexByte(s, '\n'); n >= 0 {
			t.pos += n
		} else {
			t.pos = len(t.src)
		}
	case c == '\'' || c == '"':
		t.str(s, "")
	case isNameStart(s):
		t.name(s)
	case '0' <= c && c <= '9' || c == '.' && len(s) > 1 && '0' <= s[1] && s[1] <= '9':
		n := 1
		for n < len(s) && (s[n] == '.' || s[n] == '_' || 'a' <= s[n]|0x20 && s[n]|0x20 <= 'z' || '0' <= s[n] && s[n] <= '9') {
			n++
		}
		t.emit(Number, s[:n])
	default:
		t.op(s)
	}
}

// name reads the identifier at the start of s, or the string literal it
// prefixes.
func (t *tokenizer) name(s string) {
	n := 0
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		if !isNamePart(r) {
			break
		}
		n += size
	}
	word := s[:n]
	if n < len(s) && (s[n] == '\'' || s[n] == '"') && stringPrefixes[strings.ToLower(word)] {
		t.pos += n
		t.str(s[n:], strings.ToLower(word))
		return
	}
	t.emit(Name, word)
}

// str reads the string literal at the start of s.
func (t *tokenizer) str(s, prefix string) {
	tok, n, ok := readString(s, prefix, t.line)
	if !ok {
		t.fail("unterminated string")
	}
	t.toks = append(t.toks, tok)
	t.line += strings.Count(s[:n], "\n")
	t.pos += n
}

// op reads the operator, delimiter or other character at the start of s.
func (t *tokenizer) op(s string) {
	_, size := utf8.DecodeRuneInString(s)
	op := s[:size]
	for _, o := range ops {
		if strings.HasPrefix(s, o) {
			op = o
			break
		}
	}
	switch op {
	case "(", "[", "{":
		t.depth++
	case ")", "]", "}":
		t.depth = max(t.depth-1, 0)
	}
	t.emit(Op, op)
}

// isNameStart reports whether s starts with a letter or an underscore.
func isNameStart(s string) bool {
	if c := s[0]; c < utf8.RuneSelf {
		return c == '_' || 'a' <= c|0x20 && c|0x20 <= 'z'
	}
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLetter(r)
}

// isNamePart reports whether r may continue an identifier.
func isNamePart(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Pc)
}

// readString reads the string literal at the start of s (its opening
// quote) with the given prefix (lower case), and returns its token and
// length; ok is false when the literal is not closed.
func readString(s, prefix string, line int) (t Token, n int, ok bool) {
	q := s[:1]
	if strings.HasPrefix(s, q+q+q) {
		q = q + q + q
	}
	raw := strings.Contains(prefix, "r")
	t = Token{Kind: String, Line: line, Dynamic: strings.ContainsAny(prefix, "bt")}
	end := -1
	for i := len(q); i < len(s) && end < 0; i++ {
		switch {
		case strings.HasPrefix(s[i:], q):
			end = i
		case s[i] == '\\':
			i++ // the escaped character never closes the literal
		case s[i] == '\n' && len(q) == 1:
			t.Text, t.Dynamic = s[1:i], true
			return t, i, false
		}
	}
	if end < 0 {
		t.Text, t.Dynamic = s[len(q):], true
		return t, len(s), false
	}
	body := s[len(q):end]
	switch {
	case strings.Contains(prefix, "f") && strings.ContainsAny(body, "{}"):
		t.Text, t.Dynamic = body, true
	case raw || t.Dynamic:
		t.Text = body
	default:
		t.Text = unescape(body)
	}
	return t, end + len(q), true
}

// simpleEscapes are the one-character escapes of a string literal.
var simpleEscapes = map[byte]string{
	'\n': "", '\\': `\`, '\'': "'", '"': `"`, 'a': "\a", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t", 'v': "\v",
}

// unescape decodes the escapes of the body of a str literal as Python
// does. An escape it does not know (\N{...}, an invalid one) is kept as
// written, as Python keeps an unknown escape.
func unescape(body string) string {
	if !strings.Contains(body, `\`) {
		return body
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' || i+1 == len(body) {
			b.WriteByte(body[i])
			continue
		}
		e := body[i+1]
		if v, ok := simpleEscapes[e]; ok {
			b.WriteString(v)
			i++
			continue
		}
		digits, base := 0, 16
		switch {
		case e == 'x':
			digits = 2
		case e == 'u':
			digits = 4
		case e == 'U':
			digits = 8
		case '0' <= e && e <= '7':
			base = 8
			for digits < 3 && i+1+digits < len(body) && '0' <= body[i+1+digits] && body[i+1+digits] <= '7' {
				digits++
			}
		}
		start := i + 2
		if base == 8 {
			start = i + 1
		}
		if digits == 0 || start+digits > len(body) {
			b.WriteByte('\\')
			continue
		}
		r, err := strconv.ParseUint(body[start:start+digits], base, 32)
		if err != nil || r > unicode.MaxRune {
			b.WriteByte('\\')
			continue
		}
		b.WriteRune(rune(r))
		i = start + digits - 1
	}
	return b.String()
}
