package deps

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Conda environment files (environment.yml): the "dependencies" list of
// conda package specs ("numpy=1.26", "conda-forge::numpy==1.26.4",
// "numpy 1.26.4 py311_0"), whose packages get EcosystemConda, and a
// "pip:" sub-list of requirement lines read as a requirements file.

// condaSpecName matches the name that starts a conda package spec.
var condaSpecName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*`)

// yamlLine finds the line of a YAML error message ("yaml: line 3: ...").
var yamlLine = regexp.MustCompile(`line (\d+)`)

func parseCondaEnv(st *parseState, file string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		pe := &ParseError{File: file, Msg: "invalid YAML: " + err.Error()}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			pe.Line, _ = strconv.Atoi(m[1])
		}
		return pe
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil // empty file
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return &ParseError{File: file, Line: top.Line, Msg: "not a conda environment: want a mapping"}
	}
	deps := mappingValue(top, "dependencies")
	if deps == nil || deps.Tag == "!!null" {
		return nil
	}
	if deps.Kind != yaml.SequenceNode {
		return &ParseError{File: file, Line: deps.Line, Msg: "dependencies: want a list"}
	}
	for _, item := range deps.Content {
		switch item.Kind {
		case yaml.ScalarNode:
			p, err := parseCondaSpec(item.Value)
			if err != nil {
				return &ParseError{File: file, Line: item.Line, Msg: err.Error()}
			}
			p.File, p.Line = file, item.Line
			if err := st.add(p, false); err != nil {
				return err
			}
		case yaml.MappingNode:
			pip := mappingValue(item, "pip")
			if pip == nil || pip.Tag == "!!null" {
				continue
			}
			if pip.Kind != yaml.SequenceNode {
				return &ParseError{File: file, Line: pip.Line, Msg: "pip: want a list"}
			}
			for _, r := range pip.Content {
				if r.Kind != yaml.ScalarNode {
					return &ParseError{File: file, Line: r.Line, Msg: "pip: want a list of requirements"}
				}
				for _, l := range requirementLines([]byte(r.Value)) {
					if err := st.requirementLine(file, r.Line, l.text, false); err != nil {
						return err
					}
				}
			}
		default:
			return &ParseError{File: file, Line: item.Line, Msg: "dependencies: want package specs"}
		}
	}
	return nil
}

// mappingValue returns the value of key in a YAML mapping, nil if none.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// parseCondaSpec parses a conda package spec: [channel::]name, then a
// version as "==v" (exact), "=v=build" (exact), "=v" (conda's v.*
// prefix match, a specifier), other operators (a specifier), or " v
// [build]" (exact without a *).
func parseCondaSpec(s string) (Package, error) {
	p := Package{Ecosystem: EcosystemConda, Source: SourceIndex}
	s = strings.TrimSpace(s)
	if ch, rest, ok := strings.Cut(s, "::"); ok {
		p.URL, s = ch, rest
	}
	if i := strings.IndexByte(s, '['); i >= 0 {
		s = strings.TrimSpace(s[:i]) // bracket options: [build_number=3]
	}
	p.Name = condaSpecName.FindString(s)
	if p.Name == "" {
		return Package{}, fmt.Errorf("invalid conda package spec %q", truncate(s))
	}
	rest := s[len(p.Name):]
	if f := strings.Fields(rest); len(f) > 0 && strings.TrimLeft(rest, " \t") != rest {
		// "name version [build]"
		if len(f) > 2 {
			return Package{}, fmt.Errorf("invalid conda package spec %q", truncate(s))
		}
		v := f[0]
		if len(f) == 2 || !strings.ContainsAny(v, "*<>=!~|,") {
			p.Version = strings.TrimPrefix(v, "==")
		} else {
			p.Specifier = v
		}
		return p, nil
	}
	switch {
	case rest == "":
	case strings.HasPrefix(rest, "==") && !strings.ContainsAny(rest[2:], "*<>=!~|,"):
		p.Version = rest[2:]
	case strings.HasPrefix(rest, "=") && !strings.HasPrefix(rest, "=="):
		if v, build, ok := strings.Cut(rest[1:], "="); ok && build != "" && !strings.Contains(v, "*") {
			p.Version = v
		} else {
			p.Specifier = rest
		}
	case strings.ContainsAny(rest[:1], "<>!~="):
		p.Specifier = rest
	default:
		return Package{}, fmt.Errorf("invalid conda package spec %q", truncate(s))
	}
	if strings.ContainsAny(p.Version+p.Specifier, " \t") || (p.Version == "" && p.Specifier == "" && rest != "") {
		return Package{}, fmt.Errorf("invalid conda package spec %q", truncate(s))
	}
	return p, nil
}
