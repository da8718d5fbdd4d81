package deps

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
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

// tomlLines maps the paths of a TOML document's keys and array elements
// to their lines, for the manifests whose values are decoded into maps
// (pyproject.toml, Pipfile). A path is the keys joined with tomlSep, an
// array element or array table adding its index:
// "tool\x00poetry\x00dependencies\x00torch", "project\x00dependencies\x002",
// "tool\x00uv\x00index\x000". Nil when the document does not parse
// (decodeTOML reports that).
func tomlLines(data []byte) map[string]int {
	li := newLineIndex(data)
	lines := map[string]int{}
	counts := map[string]int{} // array tables: elements so far
	line := func(n *unstable.Node, def int) int {
		if n.Raw.Length == 0 && n.Raw.Offset == 0 {
			return def
		}
		return li.line(int(n.Raw.Offset))
	}
	var value func(path string, v *unstable.Node, at int)
	keyValue := func(prefix string, kv *unstable.Node) {
		path := prefix
		it := kv.Key()
		at := 0
		for it.Next() {
			if at == 0 {
				at = line(it.Node(), 0)
			}
			path = tomlJoin(path, string(it.Node().Data))
		}
		lines[path] = at
		value(path, kv.Value(), at)
	}
	value = func(path string, v *unstable.Node, at int) {
		switch v.Kind {
		case unstable.Array:
			i := 0
			for it := v.Children(); it.Next(); i++ {
				c := it.Node()
				p := tomlJoin(path, strconv.Itoa(i))
				lines[p] = line(c, at)
				value(p, c, lines[p])
			}
		case unstable.InlineTable:
			for it := v.Children(); it.Next(); {
				if it.Node().Kind == unstable.KeyValue {
					keyValue(path, it.Node())
				}
			}
		}
	}
	var p unstable.Parser
	p.Reset(data)
	table := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			var parts []string
			it := e.Key()
			at := 0
			for it.Next() {
				if at == 0 {
					at = line(it.Node(), 0)
				}
				parts = append(parts, string(it.Node().Data))
			}
			table = ""
			for i, k := range parts {
				table = tomlJoin(table, k)
				if i == len(parts)-1 && e.Kind == unstable.ArrayTable {
					n := counts[table]
					counts[table] = n + 1
					table = tomlJoin(table, strconv.Itoa(n))
				} else if n, ok := counts[table]; ok {
					table = tomlJoin(table, strconv.Itoa(n-1))
				}
			}
			lines[table] = at
		case unstable.KeyValue:
			keyValue(table, e)
		}
	}
	if p.Error() != nil {
		return nil
	}
	return lines
}

// tomlSep joins the keys of a tomlLines path.
const tomlSep = "\x00"

// tomlJoin appends key to a tomlLines path.
func tomlJoin(path, key string) string {
	if path == "" {
		return key
	}
	return path + tomlSep + key
}

// tomlPath joins keys into a tomlLines path.
func tomlPath(keys ...string) string { return strings.Join(keys, tomlSep) }
