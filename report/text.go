package report

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/violet-mlsecops/violet/finding"
)

// TextOptions tune the human-readable report.
type TextOptions struct {
	// Color marks severities, paths and the verdict with ANSI escape codes.
	// The caller decides (a terminal, no NO_COLOR); the writer never guesses.
	Color bool
	// Verbose lists every file, the clean and the skipped ones too, instead
	// of only the files with findings or that could not be fully analyzed.
	Verbose bool
}

// maxTextEvidence is how many bytes of evidence the text report shows; the
// JSON and SARIF reports always carry all of it.
const maxTextEvidence = 512

// ANSI escape codes of the text report.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiCyan   = "\x1b[36m"
)

var severityColor = map[finding.Severity]string{
	finding.Critical: ansiBold + ansiRed,
	finding.High:     ansiRed,
	finding.Medium:   ansiYellow,
	finding.Low:      ansiCyan,
	finding.Info:     ansiBlue,
}

// WriteText writes r for a person reading a terminal or a CI log: one block
// per file with findings (files in path order, findings by severity, the
// worst first, then by location), the remediation of each rule once per
// block, a summary line and the verdict against r.FailOn with its exit code.
//
// Every string that comes from the scanned files (paths, member names,
// messages, evidence) is written with its control and invisible formatting
// characters escaped, so that a hostile file cannot move the cursor, recolor
// or hide lines of the report. Evidence longer than 512 bytes is shortened;
// the JSON and SARIF reports carry all of it.
func WriteText(w io.Writer, r *Report, opts TextOptions) error {
	if err := check(r); err != nil {
		return err
	}
	t := &textWriter{w: bufio.NewWriter(w), color: opts.Color}
	// A blank line separates a file's block from what comes before and
	// after it; the one-line entries of clean files follow each other.
	const none, block, line = 0, 1, 2
	last := none
	for _, f := range sortedFiles(r, bySeverity) {
		switch {
		case len(f.Findings) > 0 || f.Incomplete:
			if last != none {
				t.printf("\n")
			}
			t.fileBlock(&f)
			last = block
		case opts.Verbose:
			if last == block {
				t.printf("\n")
			}
			t.cleanLine(&f)
			last = line
		}
	}
	if last != none {
		t.printf("\n")
	}
	t.summary(r)
	t.verdict(r)
	if t.err != nil {
		return t.err
	}
	return t.w.Flush()
}

// textWriter writes the text report and remembers the first write error.
type textWriter struct {
	w     *bufio.Writer
	color bool
	err   error
}

func (t *textWriter) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

// paint wraps s in the ANSI code when colors are on.
func (t *textWriter) paint(code, s string) string {
	if !t.color || code == "" {
		return s
	}
	return code + s + ansiReset
}

// header writes the first line of a file's entry: its path and formats.
func (t *textWriter) header(f *File, status string) {
	path := safeText(f.Path)
	if strings.HasPrefix(path, "::") {
		// A line that starts with "::" is a workflow command to GitHub Actions.
		path = `\x3a` + path[1:]
	}
	line := t.paint(ansiBold, path)
	if len(f.Formats) > 0 {
		line += " [" + safeText(strings.Join(f.Formats, ", ")) + "]"
	}
	if status != "" {
		line += "  " + status
	}
	t.printf("%s\n", line)
}

func (t *textWriter) cleanLine(f *File) {
	if f.Skipped {
		t.header(f, t.paint(ansiDim, "skipped: no model format"))
		return
	}
	t.header(f, t.paint(ansiGreen, "clean"))
}

func (t *textWriter) fileBlock(f *File) {
	status := ""
	if f.Incomplete {
		status = t.paint(ansiBold+ansiYellow, "NOT FULLY ANALYZED")
	}
	t.header(f, status)
	const indent = "            " // under the message, past "  CRITICAL  "
	var fixRules []string
	fixes := map[string]string{}
	for _, x := range f.Findings {
		label := strings.ToUpper(x.Severity.String())
		pad := strings.Repeat(" ", max(0, 8-len(label)))
		msg := x.Message
		if msg == "" {
			msg = x.Title
		}
		t.printf("  %s%s  %s  %s\n", t.paint(severityColor[x.Severity], label), pad, safeText(x.Rule), safeText(msg))
		if where := memberAndOffset(x.Location); where != "" {
			t.printf("%sat %s\n", indent, where)
		}
		if x.Evidence != "" {
			t.printf("%sevidence: %s\n", indent, safeText(shorten(x.Evidence, maxTextEvidence)))
		}
		if _, seen := fixes[x.Rule]; !seen {
			fix := x.Remediation
			if fix == "" {
				if rule, ok := finding.Lookup(x.Rule); ok {
					fix = rule.Remediation
				}
			}
			fixes[x.Rule] = fix
			if fix != "" {
				fixRules = append(fixRules, x.Rule)
			}
		}
	}
	if f.Incomplete && !slices.ContainsFunc(f.Findings, func(x finding.Finding) bool { return x.Incomplete }) {
		t.printf("  %s\n", "Part of this file could not be analyzed; it is not reported as clean.")
	}
	if len(fixRules) > 0 {
		// Rules that share a remediation share its line.
		t.printf("  How to fix:\n")
		done := map[string]bool{}
		for _, id := range fixRules {
			fix := fixes[id]
			if done[fix] {
				continue
			}
			done[fix] = true
			var ids []string
			for _, other := range fixRules {
				if fixes[other] == fix {
					ids = append(ids, safeText(other))
				}
			}
			t.printf("    %s: %s\n", strings.Join(ids, ", "), safeText(fix))
		}
	}
}

// memberAndOffset renders the part of a location below its file: the member
// chain and the byte offset or the line, or "" for the whole file.
func memberAndOffset(l finding.Location) string {
	var parts []string
	if len(l.Member) > 0 {
		parts = append(parts, safeText(strings.Join(l.Member, "!")))
	}
	if l.Offset >= 0 {
		parts = append(parts, "byte "+strconv.FormatInt(l.Offset, 10))
	}
	if l.Line > 0 {
		parts = append(parts, "line "+strconv.Itoa(l.Line))
	}
	return strings.Join(parts, ", ")
}

func (t *textWriter) summary(r *Report) {
	s := r.Summary
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d scanned, %d skipped, %d incomplete", plural(s.Files, "file"), s.Scanned, s.Skipped, s.Incomplete)
	var counts []string
	for _, sev := range severitiesDescending {
		if n := s.Findings[sev.String()]; n > 0 {
			counts = append(counts, t.paint(severityColor[sev], fmt.Sprintf("%d %s", n, sev)))
		}
	}
	if len(counts) == 0 {
		b.WriteString("; no findings")
	} else {
		b.WriteString("; findings: " + strings.Join(counts, ", "))
	}
	if len(s.Formats) > 0 {
		names := make([]string, 0, len(s.Formats))
		for name := range s.Formats {
			names = append(names, name)
		}
		slices.Sort(names)
		for i, name := range names {
			names[i] = fmt.Sprintf("%s (%d)", safeText(name), s.Formats[name])
		}
		b.WriteString("; formats: " + strings.Join(names, ", "))
	}
	b.WriteString("; took " + (time.Duration(r.DurationMS) * time.Millisecond).String())
	t.printf("%s\n", b.String())
}

func (t *textWriter) verdict(r *Report) {
	above, below, incomplete := 0, 0, 0
	for _, f := range r.Files {
		if f.Incomplete {
			incomplete++
		}
		for _, x := range f.Findings {
			if x.Severity >= r.FailOn {
				above++
			} else {
				below++
			}
		}
	}
	code := r.ExitCode(r.FailOn)
	var word, color string
	var reasons []string
	switch code {
	case ExitFindings:
		word, color = "FAIL", ansiBold+ansiRed
		reasons = append(reasons, fmt.Sprintf("%s at or above %s", plural(above, "finding"), r.FailOn))
		if incomplete > 0 {
			reasons = append(reasons, fmt.Sprintf("%s not fully analyzed", plural(incomplete, "file")))
		}
	case ExitIncomplete:
		word, color = "INCOMPLETE", ansiBold+ansiYellow
		verb := "are"
		if incomplete == 1 {
			verb = "is"
		}
		if incomplete > 0 {
			reasons = append(reasons, fmt.Sprintf("%s could not be fully analyzed and %s not reported as clean",
				plural(incomplete, "file"), verb))
		}
		if r.RequireModels && !r.HoldsModel() {
			reasons = append(reasons, "the targets hold no file Violet reads as a model (--require-models): check the path, and that LFS, git-annex or DVC content was fetched")
		}
	default:
		word, color = "PASS", ansiBold+ansiGreen
		reasons = append(reasons, fmt.Sprintf("no finding at or above %s", r.FailOn))
	}
	if code != ExitFindings && below > 0 {
		reasons = append(reasons, fmt.Sprintf("%s below %s", plural(below, "finding"), r.FailOn))
	}
	t.printf("%s: %s (exit code %d)\n", t.paint(color, word), strings.Join(reasons, "; "), code)
}

// plural writes n and noun, with an s when n is not 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// shorten cuts s to at most n bytes on a rune boundary and says how much was
// left out.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("... (%d more bytes)", len(s)-cut)
}

// safeText escapes what a terminal or a log viewer would interpret rather
// than show: C0 and C1 control characters (escape sequences, carriage
// returns, new lines), DEL, Unicode format characters (bidirectional
// overrides, zero-width characters) and bytes that are not UTF-8. Each
// becomes a visible \xNN or \uNNNN escape.
func safeText(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80 && unsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) ||
		r == '\u2028' || r == '\u2029'
}
