package main

import (
	"fmt"
	"strings"

	"github.com/violet-mlsecops/violet/report"
)

// exitMeaning is what the exit codes of a command mean: by code, a code
// the command never returns left out. Markdown backticks mark flags and
// values; help shows them plain.
type exitMeaning struct {
	command string // "scan", "policy test"; "" for violet itself
	codes   map[int]string
}

// exitMeanings are the exit codes of every command, from which the help of
// each command and the tables of README.md and docs/ci.md are written
// (TestExitCodeDocs checks them).
var exitMeanings = []exitMeaning{
	{"", map[int]string{
		report.ExitPass:       "passed",
		report.ExitFindings:   "found what the command looks for: a finding at or above `--fail-on`, a signature that does not verify, a denied release",
		report.ExitIncomplete: "could not do the job: bad usage, unreadable or not fully analyzed input. An error never passes",
	}},
	{"scan", map[int]string{
		report.ExitPass:       "no finding at or above `--fail-on` (default `high`), and every file was fully analyzed",
		report.ExitFindings:   "a finding at or above `--fail-on` (this wins over 2)",
		report.ExitIncomplete: "could not scan: bad usage, an unreadable file, a file that could not be fully analyzed, no model with `--require-models`, or an attestation that could not be written",
	}},
	{"watch", map[int]string{
		report.ExitPass:       "with `--once`: nothing new, or every new version passed; without it: stopped on SIGINT or SIGTERM",
		report.ExitFindings:   "with `--once`: a new version has a finding at or above `--fail-on`",
		report.ExitIncomplete: "bad usage, or with `--once`: a location or version that could not be read or fully scanned (tried again at the next run)",
	}},
	{"deps", map[int]string{
		report.ExitPass:       "no finding at or above `--fail-on` (default `high`)",
		report.ExitFindings:   "a finding at or above `--fail-on`",
		report.ExitIncomplete: "could not check: bad usage, an unreadable or empty OSV database, a file or folder that could not be read (everything else is still checked and reported)",
	}},
	{"verify", map[int]string{
		report.ExitPass:       "the signature is trusted and the content matches it",
		report.ExitFindings:   "the signature is not trusted, or files were modified, added or removed",
		report.ExitIncomplete: "could not verify: bad usage, an unreadable signature or model",
	}},
	{"bom", map[int]string{
		report.ExitPass:       "the BOM was written (with `--check`: the score is at least `--min-score`)",
		report.ExitFindings:   "`--check` scored below `--min-score`",
		report.ExitIncomplete: "bad usage, an unreadable model, or entries of the model folder that could not be read (the BOM would not cover them)",
	}},
	{"gate", map[int]string{
		report.ExitPass:       "allow",
		report.ExitFindings:   "deny (every reason is printed)",
		report.ExitIncomplete: "error: bad usage, unreadable evidence, a verify report given as evidence, a policy that does not evaluate (an error never allows)",
	}},
	{"discover", map[int]string{
		report.ExitPass:       "the inventory was written",
		report.ExitIncomplete: "bad usage, an unreadable PATH, or a file or folder under PATH that could not be read (listed; everything else is still inventoried)",
	}},
	{"hash", map[int]string{
		report.ExitPass:       "the manifest was written",
		report.ExitIncomplete: "bad usage or an unreadable model",
	}},
	{"sign", map[int]string{
		report.ExitPass:       "the signature was written",
		report.ExitIncomplete: "bad usage, an unreadable key, certificate or model, or a signature that could not be written",
	}},
	{"policy test", map[int]string{
		report.ExitPass:       "every test passed",
		report.ExitFindings:   "a test failed",
		report.ExitIncomplete: "the policy could not be tested: a module that does not parse or compile, a test that stopped on an error, no tests",
	}},
	{"serve", map[int]string{
		report.ExitPass:       "stopped on SIGINT or SIGTERM after finishing the requests under way",
		report.ExitIncomplete: "could not serve: bad usage, a database that does not open or migrate, an address in use, an admin.token in the way on the first start",
	}},
	{"worker", map[int]string{
		report.ExitPass:       "stopped on SIGINT or SIGTERM after finishing the jobs under way",
		report.ExitIncomplete: "could not work: bad usage, a database that does not open or migrate, a scan policy that does not load",
	}},
	{"rescan", map[int]string{
		report.ExitPass:       "the rescans were queued; with `--wait`, every version rescanned passes",
		report.ExitFindings:   "with `--wait`: a version rescanned has a finding at or above high",
		report.ExitIncomplete: "bad usage, a database that does not open, no worker finished the jobs within `--timeout`, or (with `--wait`) a version that could not be fully rescanned",
	}},
	{"serve backup", map[int]string{
		report.ExitPass:       "the copy was written",
		report.ExitIncomplete: "bad usage, a database that does not open, a file already at `--to`, or PostgreSQL (use pg_dump)",
	}},
	{"serve restore", map[int]string{
		report.ExitPass:       "the backup was checked and put in place as `violet.db` (its audit head is printed)",
		report.ExitFindings:   "the backup's audit chain is broken (the first broken record is named): nothing was restored",
		report.ExitIncomplete: "nothing was restored: bad usage, a data folder that is not empty, a file that is not a Violet SQLite database of a schema version this Violet knows, or PostgreSQL (use pg_restore)",
	}},
	{"release approve", map[int]string{
		report.ExitPass:       "the approval was recorded (and signed, with `--key`)",
		report.ExitIncomplete: "nothing was recorded: bad usage, a model that is not the release's version, a key that does not load, or a server that refuses (the role is not the token's or not required, the same person decided for another role)",
	}},
	{"release reject", map[int]string{
		report.ExitPass:       "the rejection was recorded (and signed, with `--key`)",
		report.ExitIncomplete: "nothing was recorded: bad usage, a model that is not the release's version, a key that does not load, or a server that refuses",
	}},
	{"release verify", map[int]string{
		report.ExitPass:       "every required role approved this very version, each by another person, and no role rejects it",
		report.ExitFindings:   "not approved: an approval is missing, for another version, unsigned with `--require-signed` or signed with no given key; or a role rejects it",
		report.ExitIncomplete: "bad usage, an unreadable record or model, or a key that does not load",
	}},
	{"audit verify", map[int]string{
		report.ExitPass:       "the audit log's hash chain is intact (its head is printed)",
		report.ExitFindings:   "the chain is broken: the first broken record is named",
		report.ExitIncomplete: "bad usage, a database that does not open or read, or a server (`--server`) that refuses or answers badly",
	}},
	{"policy show", map[int]string{
		report.ExitPass:       "the policy was printed or written",
		report.ExitIncomplete: "the files could not be written (a file of the same name is never overwritten)",
	}},
}

// exitCodeList are the exit codes, in order.
var exitCodeList = []int{report.ExitPass, report.ExitFindings, report.ExitIncomplete}

// meaningsOf returns the exit codes of command.
func meaningsOf(command string) map[int]string {
	for _, m := range exitMeanings {
		if m.command == command {
			return m.codes
		}
	}
	panic("no exit codes for command " + command)
}

// exitCodesHelp is the "Exit codes:" paragraph of a command's help.
func exitCodesHelp(command string) string {
	var b strings.Builder
	b.WriteString("Exit codes:")
	codes := meaningsOf(command)
	for _, c := range exitCodeList {
		if m, ok := codes[c]; ok {
			fmt.Fprintf(&b, "\n  %d  %s.", c, strings.ReplaceAll(m, "`", ""))
		}
	}
	return b.String()
}

// withExitCodes is a command's long help followed by its exit codes.
func withExitCodes(long, command string) string {
	return strings.TrimRight(long, "\n") + "\n\n" + exitCodesHelp(command)
}

// exitCodesTable is the Markdown table of one command's exit codes
// (README.md, "Use it").
func exitCodesTable(command string) string {
	var b strings.Builder
	b.WriteString("| Exit code | Meaning |\n|---|---|\n")
	codes := meaningsOf(command)
	for _, c := range exitCodeList {
		if m, ok := codes[c]; ok {
			fmt.Fprintf(&b, "| %d | %s. |\n", c, capitalize(m))
		}
	}
	return b.String()
}

// exitCodesMatrix is the Markdown table of every command's exit codes
// (docs/ci.md), "—" for a code a command never returns.
func exitCodesMatrix() string {
	var b strings.Builder
	b.WriteString("| Command |")
	for _, c := range exitCodeList {
		fmt.Fprintf(&b, " %d |", c)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(exitCodeList)) + "\n")
	for _, m := range exitMeanings {
		if m.command == "" {
			continue
		}
		fmt.Fprintf(&b, "| `violet %s` |", m.command)
		for _, c := range exitCodeList {
			text, ok := m.codes[c]
			if !ok {
				text = "—"
			}
			fmt.Fprintf(&b, " %s |", text)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
