package discover

import "strings"

// tomlValue is a value of the TOML subset the dependency parsers read: a
// string (or any scalar, as written), an array, or an inline table.
type tomlValue struct {
	str   string
	array []tomlValue
	table map[string]tomlValue
	line  int
}

// maxTOMLDepth bounds nested arrays and inline tables.
const maxTOMLDepth = 16

// tomlScanner reads the parts of a TOML document the dependency parsers
// need, tolerantly: what it cannot read is skipped to the end of the line.
// For every key = value it calls emit with the current table header
// ("project", "tool.poetry.dependencies"; array-of-tables headers are
// prefixed with "[]"), the key and the value.
type tomlScanner struct {
	src  string
	pos  int
	line int
}

func scanTOML(src string, emit func(table, key string, v tomlValue)) {
	s := &tomlScanner{src: src, line: 1}
	table := ""
	for s.pos < len(s.src) {
		s.skipSpaceLines()
		if s.pos >= len(s.src) {
			return
		}
		start := s.pos
		switch s.src[s.pos] {
		case '[':
			table = s.header()
		default:
			key, ok := s.key()
			if ok {
				s.skipSpace()
				if s.peek() == '=' {
					s.pos++
					s.skipSpace()
					v := s.value(0)
					emit(table, key, v)
				}
			}
		}
		s.skipLine()
		if s.pos == start {
			s.pos++ // always progress
		}
	}
}

func (s *tomlScanner) peek() byte {
	if s.pos < len(s.src) {
		return s.src[s.pos]
	}
	return 0
}

func (s *tomlScanner) skipSpace() {
	for s.pos < len(s.src) && (s.src[s.pos] == ' ' || s.src[s.pos] == '\t' || s.src[s.pos] == '\r') {
		s.pos++
	}
}

// skipSpaceLines skips blanks, newlines and comments.
func (s *tomlScanner) skipSpaceLines() {
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case ' ', '\t', '\r':
			s.pos++
		case '\n':
			s.pos++
			s.line++
		case '#':
			for s.pos < len(s.src) && s.src[s.pos] != '\n' {
				s.pos++
			}
		default:
			return
		}
	}
}

// skipLine moves past the end of the current line.
func (s *tomlScanner) skipLine() {
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		s.pos++
		if c == '\n' {
			s.line++
			return
		}
	}
}

// header reads [table] or [[array.of.tables]].
func (s *tomlScanner) header() string {
	prefix := ""
	s.pos++
	if s.peek() == '[' {
		s.pos++
		prefix = "[]"
	}
	end := strings.IndexAny(s.src[s.pos:], "]\n")
	if end < 0 {
		s.pos = len(s.src)
		return ""
	}
	name := s.src[s.pos : s.pos+end]
	s.pos += end
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return prefix + strings.Join(parts, ".")
}

// key reads a bare, quoted or dotted key.
func (s *tomlScanner) key() (string, bool) {
	var parts []string
	for {
		s.skipSpace()
		switch c := s.peek(); {
		case c == '"' || c == '\'':
			v := s.str(c)
			parts = append(parts, v.str)
		case isBareKey(c):
			start := s.pos
			for s.pos < len(s.src) && isBareKey(s.src[s.pos]) {
				s.pos++
			}
			parts = append(parts, s.src[start:s.pos])
		default:
			return "", false
		}
		s.skipSpace()
		if s.peek() != '.' {
			return strings.Join(parts, "."), true
		}
		s.pos++
	}
}

func isBareKey(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// value reads a string, array, inline table or scalar.
func (s *tomlScanner) value(depth int) tomlValue {
	line := s.line
	switch c := s.peek(); {
	case c == '"' || c == '\'':
		return s.str(c)
	case (c == '[' || c == '{') && depth < maxTOMLDepth:
		return s.compound(c, depth)
	default:
		start := s.pos
		for s.pos < len(s.src) && !strings.ContainsRune(",]}\n#", rune(s.src[s.pos])) {
			s.pos++
		}
		return tomlValue{str: strings.TrimSpace(s.src[start:s.pos]), line: line}
	}
}

// compound reads an array or an inline table.
func (s *tomlScanner) compound(open byte, depth int) tomlValue {
	v := tomlValue{line: s.line}
	closing := byte(']')
	if open == '{' {
		closing = '}'
		v.table = map[string]tomlValue{}
	}
	s.pos++
	for s.pos < len(s.src) {
		s.skipSpaceLines()
		if s.peek() == closing {
			s.pos++
			return v
		}
		if s.peek() == ',' {
			s.pos++
			continue
		}
		start := s.pos
		if open == '[' {
			v.array = append(v.array, s.value(depth+1))
		} else {
			key, ok := s.key()
			s.skipSpace()
			if !ok || s.peek() != '=' {
				return v
			}
			s.pos++
			s.skipSpace()
			v.table[key] = s.value(depth + 1)
		}
		if s.pos == start {
			return v // nothing readable: give up on this value
		}
	}
	return v
}

// str reads a basic or literal string, single- or multi-line.
func (s *tomlScanner) str(q byte) tomlValue {
	line := s.line
	triple := strings.Repeat(string(q), 3)
	if strings.HasPrefix(s.src[s.pos:], triple) {
		s.pos += 3
		end := strings.Index(s.src[s.pos:], triple)
		if end < 0 {
			end = len(s.src) - s.pos
		}
		body := s.src[s.pos : s.pos+end]
		s.line += strings.Count(body, "\n")
		s.pos = min(len(s.src), s.pos+end+3)
		return tomlValue{str: strings.TrimPrefix(body, "\n"), line: line}
	}
	s.pos++
	var b strings.Builder
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == q:
			s.pos++
			return tomlValue{str: b.String(), line: line}
		case c == '\n':
			return tomlValue{str: b.String(), line: line}
		case c == '\\' && q == '"' && s.pos+1 < len(s.src):
			b.WriteByte(s.src[s.pos+1])
			s.pos += 2
		default:
			b.WriteByte(c)
			s.pos++
		}
	}
	return tomlValue{str: b.String(), line: line}
}
