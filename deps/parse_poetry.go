package deps

import (
	"sort"
	"strings"
)

// poetry.lock: [[package]] tables with name, version, markers, files
// (with hashes) and a [package.source] for packages not from PyPI.

type poetryLock struct {
	Package  []poetryPackage `toml:"package"`
	Metadata struct {
		// Files are the hashes of lock-version 1 files, by package.
		Files map[string][]poetryFile `toml:"files"`
	} `toml:"metadata"`
}

type poetryPackage struct {
	Name    string       `toml:"name"`
	Version string       `toml:"version"`
	Markers any          `toml:"markers"`
	Files   []poetryFile `toml:"files"`
	Source  *struct {
		Type              string `toml:"type"`
		URL               string `toml:"url"`
		Reference         string `toml:"reference"`
		ResolvedReference string `toml:"resolved_reference"`
	} `toml:"source"`
}

type poetryFile struct {
	File string `toml:"file"`
	Hash string `toml:"hash"`
}

// poetrySources are the sources of poetry's source types.
var poetrySources = map[string]string{
	"legacy":    SourceIndex,
	"git":       SourceVCS,
	"url":       SourceURL,
	"file":      SourcePath,
	"directory": SourcePath,
}

func parsePoetryLock(st *parseState, file string, data []byte) error {
	var lock poetryLock
	if err := decodeTOML(file, data, &lock); err != nil {
		return err
	}
	lines := packageLines(data, "package", len(lock.Package))
	for i, lp := range lock.Package {
		p := Package{
			Name: lp.Name, Version: lp.Version, Source: SourceIndex,
			Markers: poetryMarkers(lp.Markers), File: file, Line: lines[i],
		}
		files := lp.Files
		if len(files) == 0 {
			files = lock.Metadata.Files[lp.Name]
		}
		for _, f := range files {
			p.Hashes = appendHash(p.Hashes, f.Hash)
		}
		if s := lp.Source; s != nil && s.Type != "" {
			src, ok := poetrySources[s.Type]
			if !ok {
				return &ParseError{File: file, Line: p.Line, Msg: "unknown source type " + truncate(s.Type)}
			}
			p.Source, p.URL = src, s.URL
			if src == SourceVCS && s.ResolvedReference != "" {
				p.URL += "@" + s.ResolvedReference
			}
		}
		if err := st.lockPackage(p); err != nil {
			return err
		}
	}
	return nil
}

// poetryMarkers returns a package's markers: a string, or a table of
// markers by dependency group (any of which installs the package).
func poetryMarkers(v any) string {
	switch m := v.(type) {
	case string:
		return m
	case map[string]any:
		var all []string
		for _, g := range m {
			if s, ok := g.(string); ok && s != "" {
				all = append(all, "("+s+")")
			}
		}
		sort.Strings(all)
		return strings.Join(all, " or ")
	}
	return ""
}
