package deps

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// decodeTOML decodes a TOML lockfile into v, converting errors to a
// *ParseError at the error's line.
func decodeTOML(file string, data []byte, v any) error {
	err := toml.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		return &ParseError{File: file, Line: row, Msg: "invalid TOML: " + de.Error()}
	}
	return &ParseError{File: file, Msg: "invalid TOML: " + err.Error()}
}

// tomlArrayTableLines returns the lines of the headers [[key]] of a TOML
// document, in order; nil if the document cannot be parsed.
func tomlArrayTableLines(data []byte, key string) []int {
	li := newLineIndex(data)
	var p unstable.Parser
	p.Reset(data)
	var lines []int
	for p.NextExpression() {
		e := p.Expression()
		if e.Kind != unstable.ArrayTable {
			continue
		}
		it := e.Key()
		if !it.Next() {
			continue
		}
		first := it.Node()
		if string(first.Data) != key || it.Next() {
			continue
		}
		lines = append(lines, li.line(int(first.Raw.Offset)))
	}
	if p.Error() != nil {
		return nil
	}
	return lines
}

// packageLines returns the line of each of n packages declared by
// [[key]] headers, or n zeros when the packages are not all declared
// that way (an inline array).
func packageLines(data []byte, key string, n int) []int {
	lines := tomlArrayTableLines(data, key)
	if len(lines) != n {
		return make([]int, n)
	}
	return lines
}

// hashList returns the hashes of a PEP 751 hashes table ("sha256" →
// hex) as "algorithm:hex", sorted.
func hashList(h map[string]string) []string {
	out := make([]string, 0, len(h))
	for algo, hex := range h {
		out = append(out, algo+":"+hex)
	}
	sort.Strings(out)
	return out
}

// appendHash appends h to hashes unless it is empty or present.
func appendHash(hashes []string, h string) []string {
	if h == "" {
		return hashes
	}
	for _, x := range hashes {
		if x == h {
			return hashes
		}
	}
	return append(hashes, h)
}

// lockPackage checks the name of a lockfile package and adds it.
func (st *parseState) lockPackage(p Package) error {
	if p.Name == "" {
		return &ParseError{File: p.File, Line: p.Line, Msg: "package without a name"}
	}
	if !validPackageName.MatchString(p.Name) {
		return &ParseError{File: p.File, Line: p.Line, Msg: fmt.Sprintf("invalid package name %q", truncate(p.Name))}
	}
	if strings.ContainsAny(p.Version, " \t\n") {
		return &ParseError{File: p.File, Line: p.Line, Msg: fmt.Sprintf("invalid version %q", truncate(p.Version))}
	}
	return st.add(p, false)
}
