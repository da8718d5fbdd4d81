package template

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the parser.
const (
	// MaxSize is the largest template accepted, in bytes.
	MaxSize = 1 << 20
	// MaxDepth is the deepest nesting of statements and expressions.
	MaxDepth = 64
	// MaxTokens is the largest number of tokens of one template.
	MaxTokens = 200_000
)

type tokKind int

const (
	tData tokKind = iota
	tVarBegin
	tVarEnd
	tBlockBegin
	tBlockEnd
	tName
	tString
	tNumber
	tOp
	tEOF
)

type token struct {
	kind    tokKind
	pos     int
	end     int
	val     string // name, operator, decoded string, number text
	escaped bool   // a string literal that used backslash escapes
}

var errTooManyTokens = errors.New("template: too many tokens")

type lexer struct {
	src  string
	pos  int
	toks []token
}

func (l *lexer) emit(t token) error {
	if len(l.toks) >= MaxTokens {
		return errTooManyTokens
	}
	l.toks = append(l.toks, t)
	return nil
}

// lex splits src into tokens.
func lex(src string) ([]token, error) {
	if len(src) > MaxSize {
		return nil, fmt.Errorf("template: %d bytes, more than the limit of %d", len(src), MaxSize)
	}
	l := &lexer{src: src}
	for l.pos < len(src) {
		i := nextTag(src, l.pos)
		if i < 0 {
			if err := l.emit(token{kind: tData, pos: l.pos, end: len(src)}); err != nil {
				return nil, err
			}
			break
		}
		if i > l.pos {
			if err := l.emit(token{kind: tData, pos: l.pos, end: i}); err != nil {
				return nil, err
			}
		}
		switch src[i+1] {
		case '#':
			j := strings.Index(src[i+2:], "#}")
			if j < 0 {
				return nil, fmt.Errorf("template: comment at offset %d is not closed", i)
			}
			l.pos = i + 2 + j + 2
		case '{':
			if err := l.emit(token{kind: tVarBegin, pos: i, end: i + 2}); err != nil {
				return nil, err
			}
			l.pos = skipWS(i+2, src)
			if err := l.lexInside("}}", i); err != nil {
				return nil, err
			}
		case '%':
			if err := l.emit(token{kind: tBlockBegin, pos: i, end: i + 2}); err != nil {
				return nil, err
			}
			l.pos = skipWS(i+2, src)
			start := len(l.toks)
			if err := l.lexInside("%}", i); err != nil {
				return nil, err
			}
			// {% raw %}: everything up to {% endraw %} is data.
			if len(l.toks)-start == 2 && l.toks[start].kind == tName && l.toks[start].val == "raw" {
				end, after, ok := findEndraw(src, l.pos)
				if !ok {
					return nil, fmt.Errorf("template: raw block at offset %d is not closed", i)
				}
				l.toks = l.toks[:start-1]
				if err := l.emit(token{kind: tData, pos: l.pos, end: end}); err != nil {
					return nil, err
				}
				l.pos = after
			}
		}
	}
	if err := l.emit(token{kind: tEOF, pos: len(src), end: len(src)}); err != nil {
		return nil, err
	}
	return l.toks, nil
}

func nextTag(src string, from int) int {
	for {
		i := strings.IndexByte(src[from:], '{')
		if i < 0 || from+i+1 >= len(src) {
			return -1
		}
		i += from
		if c := src[i+1]; c == '{' || c == '%' || c == '#' {
			return i
		}
		from = i + 1
	}
}

func skipWS(i int, src string) int {
	if i < len(src) && (src[i] == '-' || src[i] == '+') {
		i++
	}
	for i < len(src) && isSpace(src[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// findEndraw finds {%-? endraw -?%} from i, returning where the data ends and
// where the tag ends.
func findEndraw(src string, i int) (int, int, bool) {
	for {
		j := strings.Index(src[i:], "{%")
		if j < 0 {
			return 0, 0, false
		}
		j += i
		k := skipWS(j+2, src)
		if strings.HasPrefix(src[k:], "endraw") {
			k += len("endraw")
			for k < len(src) && isSpace(src[k]) {
				k++
			}
			if k < len(src) && (src[k] == '-' || src[k] == '+') {
				k++
			}
			if strings.HasPrefix(src[k:], "%}") {
				return j, k + 2, true
			}
		}
		i = j + 2
	}
}

var ops3 = []string{"//", "**", "==", "!=", ">=", "<="}

// lexInside lexes the inside of a tag up to its closing delimiter.
func (l *lexer) lexInside(closer string, open int) error {
	src := l.src
	depth := 0
	endKind := tVarEnd
	if closer == "%}" {
		endKind = tBlockEnd
	}
	for {
		for l.pos < len(src) && isSpace(src[l.pos]) {
			l.pos++
		}
		if l.pos >= len(src) {
			return fmt.Errorf("template: tag at offset %d is not closed", open)
		}
		p := l.pos
		if depth == 0 {
			if strings.HasPrefix(src[p:], closer) {
				l.pos = p + 2
				return l.emit(token{kind: endKind, pos: p, end: l.pos})
			}
			if (src[p] == '-' || src[p] == '+') && strings.HasPrefix(src[p+1:], closer) {
				l.pos = p + 3
				return l.emit(token{kind: endKind, pos: p, end: l.pos})
			}
		}
		c := src[p]
		r, size := utf8.DecodeRuneInString(src[p:])
		switch {
		case c == '_' || unicode.IsLetter(r):
			q := p + size
			for q < len(src) {
				r2, s2 := utf8.DecodeRuneInString(src[q:])
				if r2 != '_' && !unicode.IsLetter(r2) && !unicode.IsDigit(r2) {
					break
				}
				q += s2
			}
			l.pos = q
			if err := l.emit(token{kind: tName, pos: p, end: q, val: src[p:q]}); err != nil {
				return err
			}
		case c >= '0' && c <= '9':
			q := p
			for q < len(src) && (src[q] >= '0' && src[q] <= '9' || src[q] == '_') {
				q++
			}
			if q+1 < len(src) && src[q] == '.' && src[q+1] >= '0' && src[q+1] <= '9' {
				q++
				for q < len(src) && (src[q] >= '0' && src[q] <= '9' || src[q] == '_') {
					q++
				}
			}
			if q < len(src) && (src[q] == 'e' || src[q] == 'E') {
				r := q + 1
				if r < len(src) && (src[r] == '+' || src[r] == '-') {
					r++
				}
				if r < len(src) && src[r] >= '0' && src[r] <= '9' {
					for r < len(src) && src[r] >= '0' && src[r] <= '9' {
						r++
					}
					q = r
				}
			}
			l.pos = q
			if err := l.emit(token{kind: tNumber, pos: p, end: q, val: strings.ReplaceAll(src[p:q], "_", "")}); err != nil {
				return err
			}
		case c == '\'' || c == '"':
			q := p + 1
			for q < len(src) && src[q] != c {
				if src[q] == '\\' {
					q++
				}
				q++
			}
			if q >= len(src) {
				return fmt.Errorf("template: string at offset %d is not closed", p)
			}
			raw := src[p+1 : q]
			val, err := unescape(raw)
			if err != nil {
				return fmt.Errorf("template: string at offset %d: %w", p, err)
			}
			l.pos = q + 1
			if err := l.emit(token{kind: tString, pos: p, end: l.pos, val: val, escaped: strings.ContainsRune(raw, '\\')}); err != nil {
				return err
			}
		default:
			op := ""
			for _, o := range ops3 {
				if strings.HasPrefix(src[p:], o) {
					op = o
					break
				}
			}
			if op == "" {
				if !strings.ContainsRune("+-/*%~[](){}><=.:|,;!", rune(c)) {
					return fmt.Errorf("template: unexpected character %q at offset %d", r, p)
				}
				op = src[p : p+1]
			}
			switch op {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				if depth == 0 {
					return fmt.Errorf("template: unbalanced %q at offset %d", op, p)
				}
				depth--
			}
			l.pos = p + len(op)
			if err := l.emit(token{kind: tOp, pos: p, end: l.pos, val: op}); err != nil {
				return err
			}
		}
	}
}

// unescape decodes the backslash escapes of a Python string literal, as
// Jinja does (unicode-escape).
func unescape(s string) (string, error) {
	if !strings.ContainsRune(s, '\\') {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte(7)
		case 'b':
			b.WriteByte(8)
		case 'f':
			b.WriteByte(12)
		case 'v':
			b.WriteByte(11)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			v, _ := strconv.ParseUint(s[i:j], 8, 32)
			b.WriteRune(rune(v))
			i = j - 1
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+1+n > len(s) {
				return "", fmt.Errorf("truncated \\%c escape", e)
			}
			v, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
			if err != nil || v > unicode.MaxRune {
				return "", fmt.Errorf("bad \\%c escape", e)
			}
			b.WriteRune(rune(v))
			i += n
		case 'N':
			if i+1 >= len(s) || s[i+1] != '{' {
				return "", errors.New("bad \\N escape")
			}
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				return "", errors.New("bad \\N escape")
			}
			r, ok := unicodeName(s[i+2 : i+j])
			if !ok {
				return "", fmt.Errorf("unknown character name %q", s[i+2:i+j])
			}
			b.WriteRune(r)
			i += j
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String(), nil
}

// unicodeName resolves the \N{...} names of the ASCII characters an
// attribute name can be made of.
func unicodeName(name string) (rune, bool) {
	n := strings.ToUpper(strings.TrimSpace(name))
	switch n {
	case "LOW LINE", "SPACING UNDERSCORE":
		return '_', true
	case "FULL STOP", "PERIOD":
		return '.', true
	case "SPACE":
		return ' ', true
	case "APOSTROPHE":
		return '\'', true
	case "QUOTATION MARK":
		return '"', true
	case "LEFT SQUARE BRACKET":
		return '[', true
	case "RIGHT SQUARE BRACKET":
		return ']', true
	case "LEFT PARENTHESIS":
		return '(', true
	case "RIGHT PARENTHESIS":
		return ')', true
	case "SOLIDUS":
		return '/', true
	case "REVERSE SOLIDUS":
		return '\\', true
	case "HYPHEN-MINUS":
		return '-', true
	case "FULLWIDTH LOW LINE":
		return '＿', true
	}
	for _, p := range []struct {
		prefix string
		base   rune
	}{{"LATIN SMALL LETTER ", 'a'}, {"LATIN CAPITAL LETTER ", 'A'}} {
		if rest, ok := strings.CutPrefix(n, p.prefix); ok && len(rest) == 1 && rest[0] >= 'A' && rest[0] <= 'Z' {
			return p.base + rune(rest[0]-'A'), true
		}
	}
	digits := []string{"ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"}
	for i, d := range digits {
		if n == "DIGIT "+d {
			return rune('0' + i), true
		}
	}
	return 0, false
}
