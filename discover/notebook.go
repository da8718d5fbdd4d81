package discover

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
)

// notebook is the part of a Jupyter notebook (nbformat 4) discovery reads.
type notebook struct {
	Cells []struct {
		CellType string          `json:"cell_type"`
		Source   json.RawMessage `json:"source"`
	} `json:"cells"`
}

// cellSource decodes a cell's source: a string or a list of lines.
func cellSource(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var lines []string
	if json.Unmarshal(raw, &lines) == nil {
		return strings.Join(lines, "")
	}
	return ""
}

var (
	importRe  = regexp.MustCompile(`(?m)^[ \t]*(?:from[ \t]+([A-Za-z_][\w.]*)[ \t]+import\b|import[ \t]+([A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*))`)
	installRe = regexp.MustCompile(`(?m)^[ \t]*[!%][ \t]*(?:pip3?|uv[ \t]+pip|conda|mamba|python[0-9.]*[ \t]+-m[ \t]+pip)[ \t]+install[ \t]+(.*)$`)
)

// importedLibraries returns the ML packages that Python source imports or
// installs (with !pip install in a notebook).
func importedLibraries(src string, libs map[string]bool) {
	for _, m := range importRe.FindAllStringSubmatch(src, -1) {
		mods := []string{m[1]}
		if m[1] == "" {
			mods = strings.Split(m[2], ",")
		}
		for _, mod := range mods {
			if p, ok := packageOfModule(strings.TrimSpace(mod)); ok {
				libs[p] = true
			}
		}
	}
	for _, m := range installRe.FindAllStringSubmatch(src, -1) {
		for _, arg := range strings.Fields(m[1]) {
			if strings.HasPrefix(arg, "-") {
				continue
			}
			if p, ok := parseRequirement(strings.Trim(arg, `"'`), 0); ok {
				name := normalizeName(p.Name)
				if _, ml := mlCategory(name); ml {
					libs[name] = true
				}
			}
		}
	}
}

// analyzeNotebook reads a notebook's code cells: the ML libraries they
// import and the models they name. ok is false for a notebook that is not
// JSON.
func analyzeNotebook(src []byte) (libs []string, refs []Reference, ok bool) {
	var nb notebook
	if json.Unmarshal(src, &nb) != nil {
		return nil, nil, false
	}
	set := map[string]bool{}
	c := &refCollector{}
	for i, cell := range nb.Cells {
		if cell.CellType != "code" {
			continue
		}
		code := cellSource(cell.Source)
		importedLibraries(code, set)
		c.cell = i + 1
		pythonRefs([]byte(code), c)
	}
	for l := range set {
		libs = append(libs, l)
	}
	sort.Strings(libs)
	return libs, c.sorted(), true
}
