package sign

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// File names are bytes on POSIX systems, but a signature's statement is
// JSON, whose strings (and the protobuf and in-toto tools that read them)
// must be UTF-8. A name that is UTF-8 is written as it is, as the
// reference tool writes it. In a name that is not, every byte that is not
// part of a UTF-8 sequence is written as a NUL character followed by the
// byte in two lowercase hex digits: "w\xff.bin" is written "w\u0000ff.bin"
// in JSON. No file name holds a NUL, so a written name is never the name
// of another file, and EncodeName(DecodeName(s)) == s is required on
// reading, so that each file has exactly one written form.

// EncodeName returns the form of a file path (or a resource name) written
// in a manifest: p itself when it is UTF-8, otherwise p with every byte
// that is not UTF-8 written as NUL and two lowercase hex digits.
func EncodeName(p string) string {
	if utf8.ValidString(p) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, "\x00%02x", p[i])
		} else {
			b.WriteString(p[i : i+size])
		}
		i += size
	}
	return b.String()
}

// errName is the reason a written name is refused.
var errName = errors.New("a NUL in a name must be followed by two lowercase hex digits of a byte that is not UTF-8")

// DecodeName returns the file path of a name written by EncodeName, or an
// error for a string EncodeName does not write (one that is not UTF-8, a
// NUL that does not start an escape, or an escape of a byte that needs
// none).
func DecodeName(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("name %q: not UTF-8", s)
	}
	if !strings.Contains(s, "\x00") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != 0 {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isLowerHex(s[i+1]) || !isLowerHex(s[i+2]) {
			return "", fmt.Errorf("name %q: %w", s, errName)
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	p := b.String()
	if EncodeName(p) != s {
		return "", fmt.Errorf("name %q: %w", s, errName)
	}
	return p, nil
}

// isLowerHex reports whether c is 0-9 or a-f.
func isLowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// unhex is the value of a lowercase hex digit.
func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// encodeNames returns the written forms of paths, nil for nil.
func encodeNames(paths []string) []string {
	if paths == nil {
		return nil
	}
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = EncodeName(p)
	}
	return out
}

// decodeNames returns the paths of written names.
func decodeNames(names []string) ([]string, error) {
	if names == nil {
		return nil, nil
	}
	out := make([]string, len(names))
	for i, s := range names {
		p, err := DecodeName(s)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}
