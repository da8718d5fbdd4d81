package pymarshal

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Code summarizes a marshaled code object.
type Code struct {
	// Name is co_name, "<lambda>" for a lambda.
	Name string
	// QualName is co_qualname; only Python 3.11 and later store it.
	QualName string
	// Filename is co_filename, where the code was compiled from.
	Filename string
	// FirstLine is co_firstlineno.
	FirstLine int
	// ArgCount is co_argcount, the number of positional parameters.
	ArgCount int
	// PosOnlyArgCount is co_posonlyargcount (Python 3.8 and later).
	PosOnlyArgCount int
	// KwOnlyArgCount is co_kwonlyargcount (Python 3).
	KwOnlyArgCount int
	// Flags is co_flags.
	Flags int
	// Names is co_names: the globals and attributes the code uses, such as
	// "os" and "system".
	Names []string
	// Strings holds the string constants of co_consts, found recursively
	// through tuples and frozensets but not inside nested code objects,
	// deduplicated in order of first appearance. Bytes constants are
	// included as their raw bytes.
	Strings []string
	// Varnames holds the argument and local variable names (co_varnames).
	Varnames []string
	// Freevars holds the names the code reads from an enclosing scope.
	Freevars []string
	// Cellvars holds the local names that nested code reads.
	Cellvars []string
	// Nested holds the code objects among the constants, such as nested
	// lambdas and comprehensions, each once.
	Nested []*Code
	// Layout names the CPython code layout that decoded the object:
	// "3.11+", "3.8-3.10", "3.0-3.7" or "2.x".
	Layout string
	// TrailingBytes counts the bytes after the top-level object, which
	// CPython's marshal.loads ignores. It is zero for nested codes.
	TrailingBytes int
}

// Decode summarizes the code object held in raw marshal bytes, such as the
// output of marshal.dumps(func.__code__). It tries each known code layout and
// keeps the one that parses the whole object with every field of the type
// CPython expects. Errors that come from a Limits bound wrap ErrLimit; data
// that is not a code object gives an error wrapping ErrNotCode.
func Decode(data []byte, lim Limits) (*Code, error) {
	lim = lim.normalized()
	if len(data) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes of marshal data, limit %d", ErrLimit, len(data), lim.MaxBytes)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("pymarshal: empty data: %w", ErrNotCode)
	}
	if data[0]&^flagRef != typeCode {
		return nil, fmt.Errorf("pymarshal: type code 0x%02x: %w", data[0], ErrNotCode)
	}
	var (
		best     *Code
		bestErr  error
		bestOff  = -1
		limitErr error
	)
	for _, l := range layouts {
		d := &decoder{data: data, lim: lim, layout: l}
		v, err := d.object()
		if err != nil {
			var de *decodeError
			off := 0
			if errors.As(err, &de) {
				off = de.off
			}
			if errors.Is(err, ErrLimit) && limitErr == nil {
				limitErr = err
			}
			if off > bestOff {
				bestOff, bestErr = off, err
			}
			continue
		}
		c := summarize(v.code, l.String(), map[*rawCode]*Code{})
		c.TrailingBytes = len(data) - d.pos
		if c.TrailingBytes == 0 {
			return c, nil
		}
		if best == nil {
			best = c
		}
	}
	if best != nil {
		return best, nil
	}
	if limitErr != nil {
		return nil, limitErr
	}
	return nil, bestErr
}

// DecodeBase64 decodes base64 text, as Keras stores a Lambda layer's
// function, and then calls Decode. Like Python's codecs base64 decoder it
// accepts embedded newlines and other characters outside the alphabet, with
// or without padding; it also accepts the URL-safe alphabet.
func DecodeBase64(s string, lim Limits) (*Code, error) {
	lim = lim.normalized()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
		case c == '-':
			c = '+'
		case c == '_':
			c = '/'
		case c == '=':
			i = len(s) // padding ends the data
			continue
		default:
			continue
		}
		if b.Len()/4*3 > lim.MaxBytes {
			return nil, fmt.Errorf("%w: base64 text decodes to more than %d bytes", ErrLimit, lim.MaxBytes)
		}
		b.WriteByte(c)
	}
	raw, err := base64.RawStdEncoding.DecodeString(b.String())
	if err != nil {
		return nil, fmt.Errorf("pymarshal: bad base64: %w", err)
	}
	return Decode(raw, lim)
}

// summarize converts a decoded code object, converting each shared nested
// code once.
func summarize(rc *rawCode, layout string, memo map[*rawCode]*Code) *Code {
	if c, ok := memo[rc]; ok {
		return c
	}
	c := &Code{
		Name:            rc.name,
		QualName:        rc.qualname,
		Filename:        rc.filename,
		FirstLine:       int(rc.firstline),
		ArgCount:        int(rc.argcount),
		PosOnlyArgCount: int(rc.posonly),
		KwOnlyArgCount:  int(rc.kwonly),
		Flags:           int(rc.flags),
		Names:           rc.names,
		Varnames:        rc.varnames,
		Freevars:        rc.freevars,
		Cellvars:        rc.cellvars,
		Layout:          layout,
	}
	memo[rc] = c
	seenStr := map[string]bool{}
	seenVal := map[*value]bool{}
	var walk func(v *value)
	walk = func(v *value) {
		switch v.kind {
		case kStr, kBytes:
			if !seenStr[v.str] {
				seenStr[v.str] = true
				c.Strings = append(c.Strings, v.str)
			}
		case kTuple, kList, kSet, kFrozenSet, kDict:
			// Containers can be shared through refs; visit each once so
			// a chain of shared tuples stays linear.
			if seenVal[v] {
				return
			}
			seenVal[v] = true
			for _, item := range v.items {
				walk(item)
			}
		case kCode:
			if seenVal[v] {
				return
			}
			seenVal[v] = true
			c.Nested = append(c.Nested, summarize(v.code, layout, memo))
		}
	}
	walk(rc.consts)
	return c
}

// AllNames returns the names (co_names) of c and of its nested code objects,
// deduplicated in order of first appearance.
func (c *Code) AllNames() []string {
	var out []string
	seen := map[string]bool{}
	visited := map[*Code]bool{}
	var walk func(*Code)
	walk = func(c *Code) {
		if c == nil || visited[c] {
			return
		}
		visited[c] = true
		for _, n := range c.Names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
		for _, n := range c.Nested {
			walk(n)
		}
	}
	walk(c)
	return out
}

// Length caps for String.
const (
	maxSummary = 300
	maxItem    = 60
)

// String returns a one-line summary for a finding's evidence, such as
// `<lambda> (<stdin>:1) names os, system; strings 'id'`. Nested code objects
// follow in braces. Non-printable characters are escaped, long items are cut,
// and the whole line is capped at about 300 characters.
func (c *Code) String() string {
	if c == nil {
		return "<nil>"
	}
	var b strings.Builder
	c.describe(&b, map[*Code]bool{})
	s := b.String()
	if len(s) > maxSummary {
		cut := maxSummary
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

func (c *Code) describe(b *strings.Builder, seen map[*Code]bool) {
	if b.Len() > maxSummary {
		return
	}
	seen[c] = true
	b.WriteString(escape(c.Name, false))
	fmt.Fprintf(b, " (%s:%d)", escape(c.Filename, false), c.FirstLine)
	sep := " "
	part := func(label string, items []string, quote bool) {
		if len(items) == 0 {
			return
		}
		b.WriteString(sep)
		sep = "; "
		b.WriteString(label)
		for i, it := range items {
			if b.Len() > maxSummary {
				return
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(escape(it, quote))
		}
	}
	part("names ", c.Names, false)
	part("strings ", c.Strings, true)
	for _, n := range c.Nested {
		if seen[n] || b.Len() > maxSummary {
			continue
		}
		b.WriteString(sep)
		sep = "; "
		b.WriteString("nested {")
		n.describe(b, seen)
		b.WriteString("}")
	}
}

// escape makes s printable on one line, cut to maxItem characters, and when
// quote is set wraps it in single quotes.
func escape(s string, quote bool) string {
	var b strings.Builder
	if quote {
		b.WriteByte('\'')
	}
	n := 0
	for i := 0; i < len(s); {
		if n >= maxItem {
			b.WriteString("...")
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\' || (quote && r == '\''):
			b.WriteByte('\\')
			b.WriteRune(r)
		case strconv.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
		n++
	}
	if quote {
		b.WriteByte('\'')
	}
	return b.String()
}
