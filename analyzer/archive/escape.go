package archive

import (
	"fmt"
	"path"
	"strings"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// maxEscapes bounds the ARCHIVE-PATH-ESCAPE findings of one archive.
const maxEscapes = 20

// escapeReporter reports members whose names or link targets leave the
// folder an extractor writes into, at most maxEscapes of them.
type escapeReporter struct {
	rep analyzer.Reporter
	n   int
}

// name reports a member whose name escapes.
func (r *escapeReporter) name(off int64, name string) {
	if why, bad := NameEscapes(name); bad {
		r.report(off, fmt.Sprintf("The member name %q %s: extracting the archive writes outside its folder.", name, why), name)
	}
}

// link reports a symbolic or hard link whose target leaves the folder: a
// symbolic link's target is relative to the link's folder, a hard link's
// is a member name.
func (r *escapeReporter) link(off int64, name, target string, hard bool) {
	kind, resolved := "symbolic link", target
	if hard {
		kind = "hard link"
	} else if t := slashes(target); !strings.HasPrefix(t, "/") && !isDrive(t) {
		resolved = path.Join(path.Dir(slashes(name)), t)
	}
	if why, bad := NameEscapes(resolved); bad {
		r.report(off, fmt.Sprintf("The %s %q points to %q, which %s: extracting it reaches a file outside the archive's folder.", kind, name, target, why), name+" -> "+target)
	}
}

func (r *escapeReporter) report(off int64, msg, evidence string) {
	r.n++
	switch {
	case r.n <= maxEscapes:
		r.rep.Report(finding.ArchivePathEscape, off, msg, evidence)
	case r.n == maxEscapes+1:
		r.rep.Report(finding.ArchivePathEscape, -1, "More members escape the archive's folder; only the first ones are listed.", "")
	}
}

// slashes turns Windows separators into slashes: extractors on Windows
// split on both.
func slashes(name string) string { return strings.ReplaceAll(name, `\`, "/") }

// isDrive reports a Windows drive path ("C:..." ).
func isDrive(name string) bool {
	return len(name) >= 2 && name[1] == ':' && (name[0]|0x20 >= 'a' && name[0]|0x20 <= 'z')
}

// NameEscapes reports whether a member name leaves the folder that an
// extractor writes into: an absolute, drive or UNC path, or '..' that
// climbs above the folder. The string says how.
func NameEscapes(name string) (string, bool) {
	s := slashes(name)
	switch {
	case strings.HasPrefix(s, "//"):
		return "is a network (UNC) path", true
	case strings.HasPrefix(s, "/"):
		return "is an absolute path", true
	case isDrive(s):
		return "is a Windows drive path", true
	}
	if c := path.Clean(s); c == ".." || strings.HasPrefix(c, "../") {
		return "climbs out of the folder with '..'", true
	}
	return "", false
}
