package finding

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// atlasNames gives the name of each MITRE ATLAS technique the catalogue
// uses, as ATLAS writes it for a sub-technique: "Technique: Sub-technique".
// TestCatalogue checks them against testdata/specs/atlas/ATLAS.yaml.
var atlasNames = map[string]string{
	atlasSupplyChainModel: "AI Supply Chain Compromise: Model",
	atlasUnsafeArtifacts:  "User Execution: Unsafe AI Artifacts",
	atlasScripting:        "Command and Scripting Interpreter",
	atlasExfilCyber:       "Exfiltration via Cyber Means",
	atlasDenialOfService:  "Denial of AI Service",
	atlasDefenseEvasion:   "Exploitation for Defense Evasion",
	atlasEmbedMalware:     "Manipulate AI Model: Embed Malware",
	atlasSupplyChainSW:    "AI Supply Chain Compromise: AI Software",
}

// ATLASName returns the name of the MITRE ATLAS technique id ("AML.T0050":
// "Command and Scripting Interpreter"), for the ids the catalogue uses.
func ATLASName(id string) (string, bool) {
	name, ok := atlasNames[id]
	return name, ok
}

// ATLASURL returns the address of the page of the MITRE ATLAS technique id.
func ATLASURL(id string) string {
	return "https://atlas.mitre.org/techniques/" + id
}

// Anchor returns the fragment that links to rule id's section of
// docs/rules.md, as GitHub and most Markdown renderers make it.
func Anchor(id string) string {
	return strings.ToLower(id)
}

// Section is a part of docs/rules.md that another package writes from its
// own data (the pickle policy's reasoning, written by analyzer/pickle).
type Section struct {
	// Title is the section's heading, without the leading ##.
	Title string
	// Markdown is its body.
	Markdown string
}

// WriteRulesMarkdown writes docs/rules.md from the catalogue: what rule ids,
// severities and incomplete findings mean, the exit codes, the sections
// given, an index of the rules, and one section per rule with its severity,
// its MITRE ATLAS techniques, what it means and how to fix it. It fails when
// a rule names an ATLAS technique whose name atlasNames does not know.
func WriteRulesMarkdown(w io.Writer, sections ...Section) error {
	rules := Rules()
	for _, r := range rules {
		for _, id := range r.ATLAS {
			if _, ok := atlasNames[id]; !ok {
				return fmt.Errorf("finding: rule %s names ATLAS technique %s, whose name is unknown: add it to atlasNames in finding/docs.go", r.ID, id)
			}
		}
	}
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }

	p("<!-- Code generated from the rule catalogue (finding/catalogue.go) by `go test ./scan -run TestRulesDoc -update`. DO NOT EDIT. -->\n\n")
	p("# Rules\n\n")
	p("Every finding that `violet scan` reports names the rule that produced it. A rule id, such as `%s`, is stable:\n", PickleCodeExec)
	p("reports, SARIF results, suppressions and policies refer to rules by it, and a rule is never renamed or reused for\n")
	p("something else. Each rule has a default severity, the MITRE ATLAS techniques it maps to, what it means and how to\n")
	p("fix it. This page is generated from the catalogue in `finding/catalogue.go`.\n\n")

	p("## Severities\n\n")
	p("From the most to the least serious: `critical`, `high`, `medium`, `low`, `info`. Configuration can override the\n")
	p("severity of a rule; the report then shows the overridden severity.\n\n")
	p("| Severity | What it means |\n|---|---|\n")
	p("| `critical` | Loading the file runs code or reaches the system: treat the file as malicious. |\n")
	p("| `high` | Likely dangerous; do not load the file before someone has reviewed the finding. |\n")
	p("| `medium` | Suspicious, or part of the file could not be analyzed. |\n")
	p("| `low` | Worth knowing; not dangerous by itself. |\n")
	p("| `info` | Information only. |\n\n")

	p("## Incomplete findings and exit codes\n\n")
	p("A file that Violet could not fully analyze (it is malformed, encrypted, too deeply nested, too large, or took too\n")
	p("long) is never reported as clean. It gets a finding of its own, from a rule marked *incomplete* below, and the\n")
	p("file is marked incomplete in the report. The exit code of `violet scan` says:\n\n")
	p("| Exit code | Meaning |\n|---|---|\n")
	p("| 0 | Pass: no finding at or above the `--fail-on` severity (default `high`), and every file was fully analyzed. |\n")
	p("| 1 | A finding at or above `--fail-on`. This wins over exit code 2. |\n")
	p("| 2 | The scan could not do its job: an input could not be read or fully analyzed, or the command was misused. |\n\n")
	p("Findings below the `--fail-on` severity are reported but do not change the exit code.\n\n")
	for _, sec := range sections {
		p("## %s\n\n%s\n", sec.Title, strings.TrimRight(sec.Markdown, "\n")+"\n")
	}

	p("## Index\n\n")
	p("| Rule | Severity | Title |\n|---|---|---|\n")
	for _, r := range rules {
		p("| [`%s`](#%s) | %s | %s |\n", r.ID, Anchor(r.ID), r.Severity, mdCell(r.Title))
	}
	p("\n## Rules\n")
	for _, r := range rules {
		p("\n### %s\n\n", r.ID)
		p("**%s**\n\n", r.Title)
		p("- Severity: `%s`\n", r.Severity)
		if r.Incomplete {
			p("- Incomplete: yes. A finding of this rule means the input could not be fully analyzed (exit code 2 unless a\n  finding is at or above `--fail-on`).\n")
		}
		if len(r.ATLAS) == 0 {
			p("- MITRE ATLAS: none\n")
		} else {
			p("- MITRE ATLAS:\n")
			for _, id := range r.ATLAS {
				p("  - [%s](%s) %s\n", id, ATLASURL(id), atlasNames[id])
			}
		}
		p("\n**What it means.** %s\n\n", r.Description)
		p("**How to fix.** %s\n", r.Remediation)
	}
	return bw.Flush()
}

// mdCell escapes the characters that would break a Markdown table cell.
func mdCell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
