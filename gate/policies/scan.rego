# Scan: what Violet's scanner found in the model's files.
#
# A scan may have tens of thousands of findings, and OPA spends about a
# microsecond on each finding a rule walks past (several when it calls a
# function or negates). So these rules never walk the findings: they take
# the severities found from input.scan.by_severity, which the gate
# computes from the findings themselves, and reach the findings of the
# blocking severities by their positions. A clean scan costs nothing per
# finding; a blocked one, only its blocking findings.
package violet.gate

# scan_denied is the set of severities that block a release: those at or
# above data.violet.max_severity (default "high").
scan_denied := severities_from(data.violet.max_severity)

# scan_severities is the set of severities the scan found. An input
# without input.scan.by_severity (one written by hand, in a test) is
# walked instead.
scan_severities := {s | some s, _ in input.scan.by_severity} if {
	is_object(input.scan.by_severity)
} else := {f.severity | some f in input.scan.findings}

# scan_findings(severity) are the findings of that severity.
scan_findings(severity) := [input.scan.findings[i] | some i in input.scan.by_severity[severity]] if {
	is_object(input.scan.by_severity)
} else := [f | some f in input.scan.findings; f.severity == severity]

# scan_unknown_severities are those not in data.violet.severities.
scan_unknown_severities := scan_severities - {s | some s in data.violet.severities}

# SCAN-MISSING: without a scan report nothing is known about the files.
deny contains {"id": "SCAN-MISSING", "msg": "the model was not scanned: there is no scan report"} if {
	object.get(input, "scan", null) == null
}

# SCAN-SEVERITY: no finding at or above data.violet.max_severity. A
# finding whose severity is not one of data.violet.severities blocks the
# release as well: an unknown severity could hide anything.
deny contains {"id": "SCAN-SEVERITY", "msg": msg, "severity": severity} if {
	some severity in (scan_severities & scan_denied)
	some f in scan_findings(severity)
	msg := sprintf("%s: %s (%s): %s", [f.path, f.rule, f.severity, f.message])
}

deny contains {"id": "SCAN-SEVERITY", "msg": msg, "severity": severity} if {
	some severity in scan_unknown_severities
	some f in scan_findings(severity)
	msg := sprintf("%s: %s has an unknown severity %q: %s", [f.path, f.rule, f.severity, f.message])
}

# SCAN-INCOMPLETE: every file must have been fully analyzed
# (input.scan.incomplete is 0); a file the scanner could not read to the
# end may hide anything. Allowed only when data.violet.allow_incomplete
# is true.
deny contains {"id": "SCAN-INCOMPLETE", "msg": msg} if {
	not data.violet.allow_incomplete
	scan_incomplete
	msg := sprintf("%d file(s) could not be fully analyzed: %s", [
		max([input.scan.incomplete, count(scan_incomplete_files)]),
		concat(", ", sort(scan_incomplete_files)),
	])
}

# scan_incomplete: the report counts files not fully analyzed.
scan_incomplete if input.scan.incomplete > 0

# scan_incomplete_files are the files of the findings marked incomplete,
# listed in the message.
scan_incomplete_files := {f.path | f := input.scan.findings[_]; f.incomplete == true}
