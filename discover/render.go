package discover

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the result as the JSON document of docs/discover.md.
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// kindTitles head the sections of the text report.
var kindTitles = map[Kind]string{
	KindModelFile:   "Model files",
	KindArchive:     "Archives holding models",
	KindModelFolder: "Model folders",
	KindHFCache:     "Hugging Face cache snapshots",
	KindNotebook:    "Notebooks",
	KindDependency:  "Dependency files",
	KindReference:   "Model references in code and configuration",
}

// WriteText writes a table per kind: path, details, owners.
func WriteText(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, k := range Kinds {
		if r.Summary[k] == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s (%d)\n", kindTitles[k], r.Summary[k])
		fmt.Fprintln(tw, "  PATH\tDETAILS\tOWNERS")
		for i := range r.Assets {
			a := &r.Assets[i]
			if a.Kind != k {
				continue
			}
			for j, row := range detailRows(a) {
				p, owners := a.Path, ownerList(a.Owners)
				if j > 0 {
					p, owners = "", ""
				}
				if row.loc != "" {
					p = a.Path + ":" + row.loc
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\n", p, row.text, owners)
			}
		}
		fmt.Fprintln(tw)
	}
	var counts []string
	for _, k := range Kinds {
		if r.Summary[k] > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", r.Summary[k], k))
		}
	}
	if len(counts) == 0 {
		counts = append(counts, "no ML assets")
	}
	fmt.Fprintf(tw, "%s in %d files (%d folders, %d skipped) in %.2fs\n", strings.Join(counts, ", "), r.Stats.Files, r.Stats.Dirs, r.Stats.SkippedDirs, r.Duration)
	if r.GitNote != "" {
		fmt.Fprintf(tw, "Owners: %s\n", r.GitNote)
	}
	if r.Stats.Unreadable > 0 {
		fmt.Fprintf(tw, "\nIncomplete: %d files or folders could not be read\n", r.Stats.Unreadable)
		for _, e := range r.Unreadable {
			fmt.Fprintf(tw, "  %s\t%s\n", e.Path, e.Error)
		}
		if n := r.Stats.Unreadable - len(r.Unreadable); n > 0 {
			fmt.Fprintf(tw, "  ... and %d more\n", n)
		}
	}
	return tw.Flush()
}

// row is one line of an asset in the text report; loc, when set, is
// appended to the path (a reference's line).
type row struct{ loc, text string }

// detailRows describes an asset in one or more lines.
func detailRows(a *Asset) []row {
	switch a.Kind {
	case KindNotebook:
		rows := []row{{"", "imports " + strings.Join(a.Libraries, ", ")}}
		return append(rows, referenceRows(a.References)...)
	case KindDependency:
		var parts []string
		for _, p := range a.Packages {
			parts = append(parts, strings.TrimSpace(p.Name+" "+p.Spec))
		}
		return []row{{"", a.Type + ": " + strings.Join(parts, ", ")}}
	case KindReference:
		return referenceRows(a.References)
	}
	var parts []string
	if a.HubID != "" {
		parts = append(parts, a.HubID+"@"+shortRev(a.Revision))
	}
	if a.Type != "" {
		parts = append(parts, a.Type)
	}
	if a.Architecture != "" {
		parts = append(parts, a.Architecture)
	}
	if a.BaseModel != "" {
		parts = append(parts, "base "+a.BaseModel)
	}
	if len(a.Formats) > 0 {
		parts = append(parts, strings.Join(a.Formats, ","))
	}
	if len(a.Files) > 0 {
		parts = append(parts, fmt.Sprintf("%d files", len(a.Files)))
	}
	parts = append(parts, humanSize(a.Size))
	return []row{{"", strings.Join(parts, "  ")}}
}

func referenceRows(refs []Reference) []row {
	rows := make([]row, 0, len(refs))
	for _, r := range refs {
		loc := fmt.Sprint(r.Line)
		if r.Cell > 0 {
			loc = fmt.Sprintf("cell%d:%d", r.Cell, r.Line)
		}
		text := fmt.Sprintf("%s  %s  via %s", r.Model, r.Provider, r.Via)
		if r.Role != roleLoad {
			text += "  (" + r.Role + ")"
		}
		rows = append(rows, row{loc, text})
	}
	return rows
}

func shortRev(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}

func ownerList(owners []Owner) string {
	names := make([]string, 0, len(owners))
	for _, o := range owners {
		names = append(names, o.Name)
	}
	return strings.Join(names, ", ")
}

func humanSize(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// Models returns every distinct model id referenced, with its provider,
// sorted: what the code base loads and pushes.
func (r *Result) Models() []Reference {
	seen := map[[2]string]bool{}
	var out []Reference
	for _, a := range r.Assets {
		for _, ref := range a.References {
			k := [2]string{ref.Provider, ref.Model}
			if !seen[k] {
				seen[k] = true
				out = append(out, Reference{Model: ref.Model, Provider: ref.Provider, Role: ref.Role})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].Model < out[j].Model
	})
	return out
}
