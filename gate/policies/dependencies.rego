# Dependencies: the Python packages listed beside the model
# (requirements.txt, lockfiles), checked by "violet deps".
package violet.gate

# DEPS-MALICIOUS, DEPS-TYPOSQUAT (and any rule listed in
# data.violet.denied_dependency_rules): a known-malicious package, or a
# name one typo away from a popular one, always blocks the release. The
# reason's id is the finding's rule.
deny contains {"id": f.rule, "msg": msg, "severity": f.severity} if {
	some f in input.deps.findings
	f.rule in data.violet.denied_dependency_rules
	msg := sprintf("%s: %s", [f.path, f.message])
}

# DEPS-VULNERABLE: no vulnerable package at or above
# data.violet.max_dependency_severity (default "critical").
deps_denied := severities_from(data.violet.max_dependency_severity)

deny contains {"id": "DEPS-VULNERABLE", "msg": msg, "severity": f.severity} if {
	some f in input.deps.findings
	f.rule == "DEPS-VULNERABLE"
	deps_denied[f.severity]
	msg := sprintf("%s: %s", [f.path, f.message])
}

deny contains {"id": "DEPS-VULNERABLE", "msg": msg, "severity": f.severity} if {
	some f in input.deps.findings
	f.rule == "DEPS-VULNERABLE"
	not severity_rank[f.severity]
	msg := sprintf("%s: unknown severity %q: %s", [f.path, f.severity, f.message])
}

# DEPS-KNOWN-EXPLOITED: a vulnerability listed in
# data.violet.known_exploited (for example from CISA's Known Exploited
# Vulnerabilities catalog) blocks the release whatever its severity. The
# advisory ids of a finding are its evidence and the ids in its message
# (aliases such as CVE ids).
known_exploited := {upper(id) | some id in data.violet.known_exploited}

deny contains {"id": "DEPS-KNOWN-EXPLOITED", "msg": msg, "severity": f.severity} if {
	count(known_exploited) > 0
	some f in input.deps.findings
	f.rule == "DEPS-VULNERABLE"
	ids := {upper(id) | some id in regex.find_n(`[A-Za-z]+-[A-Za-z0-9-]+`, concat(" ", [object.get(f, "evidence", ""), f.message]), -1)}
	exploited := ids & known_exploited
	count(exploited) > 0
	msg := sprintf("%s: %s is known to be exploited: %s", [f.path, concat(", ", sort(exploited)), f.message])
}

# DEPS-UNCHECKED: dependency files beside the model must have been checked
# against vulnerability advisories (the gate's --osv-db or --online).
# Off when data.violet.require_vulnerability_data is false.
deny contains {"id": "DEPS-UNCHECKED", "msg": msg} if {
	data.violet.require_vulnerability_data == true
	is_object(input.deps)
	paths := [p | some p in input.deps.paths]
	count(paths) > 0
	object.get(input.deps, "vulnerability_data", "") == ""
	msg := sprintf("the dependency files %s were not checked against vulnerability advisories: give the gate --osv-db or --online", [concat(", ", sort(paths))])
}
