package deps

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Pipfile.lock (JSON): "default" and "develop" objects of packages by
// name, each with a "version" ("==1.2"), hashes, markers, an index name
// from _meta.sources, or git, path or file for other sources.

type pipfileMeta struct {
	Sources []struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	} `json:"sources"`
}

type pipfileEntry struct {
	Version string   `json:"version"`
	Hashes  []string `json:"hashes"`
	Index   string   `json:"index"`
	Markers string   `json:"markers"`
	Git     string   `json:"git"`
	Hg      string   `json:"hg"`
	Svn     string   `json:"svn"`
	Bzr     string   `json:"bzr"`
	Ref     string   `json:"ref"`
	File    string   `json:"file"`
	Path    string   `json:"path"`
}

// pipfileSections are the package sections of a Pipfile.lock.
var pipfileSections = map[string]bool{"default": true, "develop": true}

func parsePipfileLock(st *parseState, file string, data []byte) error {
	li := newLineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	start := 0 // offset of the value being decoded
	perr := func(err error) error {
		off := int(dec.InputOffset())
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			off = int(se.Offset)
		case errors.As(err, &te):
			off = start + int(te.Offset)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			off = len(data)
			err = errors.New("unexpected end of JSON")
		}
		return &ParseError{File: file, Line: li.line(max(off-1, 0)), Msg: "invalid JSON: " + err.Error()}
	}
	delim := func(want json.Delim) error {
		tok, err := dec.Token()
		if err != nil {
			return perr(err)
		}
		if d, ok := tok.(json.Delim); !ok || d != want {
			return perr(fmt.Errorf("want %q", want))
		}
		return nil
	}
	type entry struct {
		name string
		line int
		e    pipfileEntry
	}
	var entries []entry
	var meta pipfileMeta
	if err := delim('{'); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return perr(err)
		}
		key, _ := tok.(string)
		switch {
		case key == "_meta":
			start = int(dec.InputOffset())
			if err := dec.Decode(&meta); err != nil {
				return perr(err)
			}
		case pipfileSections[key]:
			if err := delim('{'); err != nil {
				return err
			}
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					return perr(err)
				}
				name, _ := tok.(string)
				line := li.line(max(int(dec.InputOffset())-1, 0))
				var e pipfileEntry
				start = int(dec.InputOffset())
				if err := dec.Decode(&e); err != nil {
					return perr(err)
				}
				if len(entries) >= MaxPackages {
					return &ParseError{File: file, Line: line, Msg: fmt.Sprintf("more than %d packages", MaxPackages)}
				}
				entries = append(entries, entry{name, line, e})
			}
			if err := delim('}'); err != nil {
				return err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return perr(err)
			}
		}
	}
	if err := delim('}'); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return perr(errors.New("data after the JSON object"))
	}

	indexes := map[string]string{}
	for i, s := range meta.Sources {
		indexes[s.Name] = s.URL
		st.addIndex(s.URL, i > 0)
	}
	for _, en := range entries {
		e := en.e
		p := Package{Name: en.name, Markers: e.Markers, Hashes: e.Hashes, Source: SourceIndex, File: file, Line: en.line}
		if v, ok := strings.CutPrefix(e.Version, "==="); ok {
			p.Version = v
		} else if v, ok := strings.CutPrefix(e.Version, "=="); ok && !strings.Contains(v, "*") {
			p.Version = v
		} else if e.Version != "*" {
			p.Specifier = e.Version
		}
		if e.Index != "" {
			u, ok := indexes[e.Index]
			if !ok {
				return &ParseError{File: file, Line: en.line, Msg: "index " + truncate(e.Index) + " not in _meta.sources"}
			}
			p.URL = u
		}
		for _, c := range []struct{ url, source string }{
			{e.Git, SourceVCS},
			{e.Hg, SourceVCS},
			{e.Svn, SourceVCS},
			{e.Bzr, SourceVCS},
			{e.File, SourceURL},
			{e.Path, SourcePath},
		} {
			if c.url != "" {
				p.Source, p.URL = c.source, c.url
				break
			}
		}
		if p.Source == SourceVCS && e.Ref != "" {
			p.URL += "@" + e.Ref
		}
		if p.Source == SourceURL && !strings.Contains(p.URL, "://") {
			p.Source = SourcePath
		}
		if err := st.lockPackage(p); err != nil {
			return err
		}
	}
	return nil
}

// Pipfile (TOML): [[source]] indexes (the first is the primary one, the
// others are searched beside it, as in Pipfile.lock), and [packages],
// [dev-packages] and custom categories: tables of name = "specifier"
// ("*", "==1.2", ">=1.0") or name = {version, index, markers, git, ref,
// path, file, editable...}.

// pipfileNotPackages are the top-level tables of a Pipfile that do not
// list packages.
var pipfileNotPackages = map[string]bool{"source": true, "requires": true, "pipenv": true, "scripts": true}

func parsePipfile(st *parseState, file string, data []byte) error {
	var doc map[string]any
	if err := decodeTOML(file, data, &doc); err != nil {
		return err
	}
	mr := &manifestReader{st: st, file: file, lines: tomlLines(data)}
	indexes := map[string]string{}
	if src, ok := doc["source"]; ok {
		list, ok := src.([]any)
		if !ok {
			return mr.errorf(mr.line("source"), "source: a %T, want [[source]] tables", src)
		}
		for i, x := range list {
			t, _ := x.(map[string]any)
			name, _ := t["name"].(string)
			url, _ := t["url"].(string)
			if url == "" {
				return mr.errorf(mr.line("source", strconv.Itoa(i)), "[[source]] without a url")
			}
			indexes[name] = url
			st.addIndex(url, i > 0)
		}
	}
	for _, section := range slices.Sorted(maps.Keys(doc)) {
		v := doc[section]
		table, ok := v.(map[string]any)
		if pipfileNotPackages[section] || !ok {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(table)) {
			spec := table[name]
			line := mr.line(section, name)
			p, err := pipfilePackage(name, spec, indexes)
			if err != nil {
				return mr.errorf(line, "%s", err)
			}
			p.File, p.Line = file, line
			mr.pkgs = append(mr.pkgs, p)
		}
	}
	return mr.flush()
}

// pipfilePackage reads one package of a Pipfile.
func pipfilePackage(name string, v any, indexes map[string]string) (Package, error) {
	if !validPackageName.MatchString(name) {
		return Package{}, fmt.Errorf("invalid package name %q", truncate(name))
	}
	p := Package{Name: name, Source: SourceIndex}
	version := ""
	switch t := v.(type) {
	case string:
		version = t
	case map[string]any:
		str := func(k string) string { s, _ := t[k].(string); return s }
		version, p.Markers = str("version"), str("markers")
		if ix := str("index"); ix != "" {
			u, ok := indexes[ix]
			if !ok {
				return Package{}, fmt.Errorf("%s: index %s is not a [[source]]", name, truncate(ix))
			}
			p.URL = u
		}
		for _, c := range []struct{ key, source string }{
			{"git", SourceVCS}, {"hg", SourceVCS}, {"svn", SourceVCS}, {"bzr", SourceVCS},
			{"file", SourceURL}, {"path", SourcePath},
		} {
			if u := str(c.key); u != "" {
				p.Source, p.URL = c.source, u
				break
			}
		}
		if p.Source == SourceVCS && str("ref") != "" {
			p.URL += "@" + str("ref")
		}
		if p.Source == SourceURL && !strings.Contains(p.URL, "://") {
			p.Source = SourcePath
		}
	default:
		return Package{}, fmt.Errorf("%s: a %T, want a version specifier or a table", name, v)
	}
	if p.Source != SourceIndex {
		return p, nil
	}
	version = strings.TrimSpace(version)
	if version == "*" {
		version = ""
	}
	if strings.ContainsAny(version, "@;") {
		return Package{}, fmt.Errorf("%s: invalid version specifier %q", name, truncate(version))
	}
	q, err := parseRequirement(name + " " + version)
	if err != nil {
		return Package{}, fmt.Errorf("%s: %w", name, err)
	}
	p.Version, p.Specifier = q.Version, q.Specifier
	return p, nil
}
