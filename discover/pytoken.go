package discover

import "strings"

// tokKind is the kind of a Python token.
type tokKind uint8

const (
	tokName   tokKind = iota // an identifier or keyword
	tokString                // a string literal; text is its content
	tokOp                    // one punctuation character
	tokNumber                // a number
	tokEOL                   // the end of a logical line
)

// token is one Python token. Comments are dropped.
type token struct {
	kind tokKind
	text string
	line int
	// dynamic marks an f-string with replacement fields: its value is not
	// known without running the code.
	dynamic bool
}

// maxTokens bounds the tokens kept of one file.
const maxTokens = 1 << 20

// tokenizePython splits Python source into the tokens the reference
// extractor needs: names, string literals (with their content, escapes
// left as written), single-character operators, and the ends of lines
// outside brackets. It never fails: what it cannot read becomes operators.
func tokenizePython(src []byte) []token {
	s := string(src)
	var toks []token
	line, depth := 1, 0
	for i := 0; i < len(s) && len(toks) < maxTokens; {
		c := s[i]
		switch {
		case c == '\n':
			if depth == 0 {
				toks = append(toks, token{kind: tokEOL, line: line})
			}
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			i++
		case c == '\\' && i+1 < len(s) && s[i+1] == '\n':
			line++
			i += 2
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'':
			t, n := readPyString(s[i:], "", line)
			toks = append(toks, t)
			line += strings.Count(s[i:i+n], "\n")
			i += n
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdentPart(s[j]) {
				j++
			}
			word := s[i:j]
			if j < len(s) && (s[j] == '"' || s[j] == '\'') && isStringPrefix(word) {
				t, n := readPyString(s[j:], strings.ToLower(word), line)
				toks = append(toks, t)
				line += strings.Count(s[j:j+n], "\n")
				i = j + n
				continue
			}
			toks = append(toks, token{kind: tokName, text: word, line: line})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && (isIdentPart(s[j]) || s[j] == '.') {
				j++
			}
			toks = append(toks, token{kind: tokNumber, text: s[i:j], line: line})
			i = j
		default:
			switch c {
			case '(', '[', '{':
				depth++
			case ')', ']', '}':
				depth = max(0, depth-1)
			}
			toks = append(toks, token{kind: tokOp, text: s[i : i+1], line: line})
			i++
		}
	}
	return toks
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// stringPrefixes are the letters that may precede a Python string.
var stringPrefixes = map[string]bool{
	"r": true, "u": true, "b": true, "f": true, "br": true, "rb": true, "fr": true, "rf": true, "t": true, "tr": true, "rt": true,
}

func isStringPrefix(w string) bool { return stringPrefixes[strings.ToLower(w)] }

// readPyString reads the string literal at the start of s (its quote) and
// returns the token and how many bytes it took. An unterminated
// single-quoted string ends at the end of its line.
func readPyString(s, prefix string, line int) (token, int) {
	q := s[0]
	triple := len(s) >= 3 && s[1] == q && s[2] == q
	open := 1
	if triple {
		open = 3
	}
	raw := strings.Contains(prefix, "r")
	i := open
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\\' && !raw && i+1 < len(s):
			i += 2
			continue
		case c == '\\' && raw && i+1 < len(s) && (s[i+1] == q || s[i+1] == '\\'):
			i += 2
			continue
		case c == '\n' && !triple:
			return token{kind: tokString, text: s[open:i], line: line, dynamic: true}, i
		case c == q && (!triple || strings.HasPrefix(s[i:], s[:3])):
			body := s[open:i]
			t := token{kind: tokString, text: body, line: line}
			t.dynamic = strings.ContainsAny(prefix, "ft") && strings.Contains(body, "{") || strings.Contains(prefix, "b")
			return t, i + open
		}
		i++
	}
	return token{kind: tokString, text: s[open:], line: line, dynamic: true}, len(s)
}
