package finding

import (
	"strings"
)

// Location says where a finding is: a file on disk, the chain of members
// inside containers (outermost first), and a byte offset in the innermost one.
type Location struct {
	// Path is the file on disk, as the user named it or as the walk found it.
	Path string `json:"path"`
	// Member is the path of containers members inside Path, outermost first:
	// ["model.tar.gz", "archive/data.pkl"] for a pickle inside a zip inside a tarball.
	Member []string `json:"member,omitempty"`
	// Offset is the byte offset in the innermost file or member, or -1 when
	// the finding concerns the whole of it.
	Offset int64 `json:"offset"`
	// Line is the line of a text file (a requirements or lock file) the
	// finding is on, from 1; 0 when the finding has no line.
	Line int `json:"line,omitempty"`
}

// String renders the location as path!member!member@offset, or
// path:line for a line of a text file.
func (l Location) String() string {
	var b strings.Builder
	b.WriteString(l.Path)
	for _, m := range l.Member {
		b.WriteString("!")
		b.WriteString(m)
	}
	if l.Offset >= 0 {
		b.WriteString("@")
		b.WriteString(itoa(l.Offset))
	}
	if l.Line > 0 {
		b.WriteString(":")
		b.WriteString(itoa(int64(l.Line)))
	}
	return b.String()
}

// Child returns the location of a member named name inside l.
func (l Location) Child(name string) Location {
	member := make([]string, len(l.Member), len(l.Member)+1)
	copy(member, l.Member)
	return Location{Path: l.Path, Member: append(member, name), Offset: -1}
}

// At returns l at byte offset off.
func (l Location) At(off int64) Location {
	l.Offset = off
	return l
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}

// Finding is one thing an analyzer found. Findings are values: renderers,
// the gate and the server read them and never change them.
type Finding struct {
	// Rule is the stable id of the rule that produced the finding.
	Rule string `json:"rule"`
	// Severity is the rule's severity, or an override from configuration.
	Severity Severity `json:"severity"`
	// Title is the rule's one-line title.
	Title string `json:"title"`
	// Message says what was found in this file, in a sentence.
	Message string `json:"message"`
	// Location is where it was found.
	Location Location `json:"location"`
	// Evidence is the exact thing found: for a pickle, the call with its
	// reconstructed arguments, such as posix.system('id').
	Evidence string `json:"evidence,omitempty"`
	// ATLAS lists the MITRE ATLAS technique ids the finding maps to.
	ATLAS []string `json:"atlas,omitempty"`
	// Remediation says how to fix it.
	Remediation string `json:"remediation,omitempty"`
	// Incomplete is true when the finding means the input could not be
	// fully analyzed: such an input is never reported as clean.
	Incomplete bool `json:"incomplete,omitempty"`
	// Analyzer names the analyzer and its version ("pickle/1").
	Analyzer string `json:"analyzer,omitempty"`
}

// New returns a finding of the catalogued rule id at loc. It panics if id is
// not in the catalogue: rule ids are constants, so that is a programming error
// that the catalogue test catches.
func New(id string, loc Location, message, evidence string) Finding {
	r, ok := Lookup(id)
	if !ok {
		panic("finding: rule " + id + " is not in the catalogue")
	}
	return Finding{
		Rule:        r.ID,
		Severity:    r.Severity,
		Title:       r.Title,
		Message:     message,
		Location:    loc,
		Evidence:    evidence,
		ATLAS:       r.ATLAS,
		Remediation: r.Remediation,
		Incomplete:  r.Incomplete,
	}
}

// WithSeverity returns f with severity s.
func (f Finding) WithSeverity(s Severity) Finding {
	f.Severity = s
	return f
}
