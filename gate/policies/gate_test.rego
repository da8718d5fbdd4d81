# Tests of the default policy: "violet policy test gate/policies" runs
# them, and so does "go test ./gate". Each test builds an input from a
# clean, signed model and changes one thing.
package violet.gate_test

import data.violet.gate

# clean is a model everyone would release: scanned, nothing above low,
# signed and verified, permissive license, a model card that says what
# the model is for and where it fails.
clean := {
	"schema_version": "1",
	"model": {"path": "models/bert", "name": "bert"},
	"scan": {
		"files": 3,
		"incomplete": 0,
		"findings": [{
			"rule": "PICKLE-IMPORT",
			"severity": "low",
			"path": "pytorch_model.bin",
			"message": "imports collections.OrderedDict",
		}],
		"counts": {"low": 1},
		"by_severity": {"low": [0]},
	},
	"signature": {"present": true, "verified": true, "method": "key"},
	"bom": {
		"licenses": ["Apache-2.0"],
		"completeness": 90,
		"missing": [],
		"use_cases": ["Sentence classification in English."],
		"limitations": ["Not evaluated on other languages."],
		"ethical_considerations": null,
		"base_models": null,
		"datasets": ["wikipedia"],
	},
	"deps": {
		"files": 1, "paths": ["requirements.txt"], "packages": 3, "pinned": 3,
		"findings": [{"rule": "DEPS-NO-HASH", "severity": "low", "path": "requirements.txt", "message": "torch==2.4.0 has no --hash"}],
		"vulnerability_data": "offline",
	},
	"attestations": [{"verified": true, "signer": "ci-key"}],
	"evidence": [{"path": "deps.json", "kind": "deps"}],
	"options": {"require_signature": false},
}

# ids(inp) is the set of reason ids the policy gives for inp.
ids(inp) := {r.id | some r in reasons} if {
	reasons := gate.deny with input as inp
}

# with_field(obj, key, value) is obj with key set to value.
with_field(obj, key, value) := object.union(object.remove(obj, [key]), {key: value})

with_scan(key, value) := with_field(clean, "scan", with_field(clean.scan, key, value))

# with_findings(fs) is clean with the scan findings fs, as the gate makes
# it: counts and by_severity computed from fs.
with_findings(fs) := with_field(clean, "scan", object.union(object.remove(clean.scan, ["counts", "by_severity"]), {
	"findings": fs,
	"counts": {s: count(positions) | some s, positions in by_severity},
	"by_severity": by_severity,
})) if {
	by_severity := {s: [i | some i, g in fs; g.severity == s] | some f in fs; s := f.severity}
}

# hand_written(fs) is clean with the scan findings fs but neither counts
# nor by_severity, as a person may write an input: the policy must then
# look at the findings themselves.
hand_written(fs) := with_field(clean, "scan", object.remove(with_field(clean.scan, "findings", fs), ["counts", "by_severity"]))

# inputs(fs) are both.
inputs(fs) := [with_findings(fs), hand_written(fs)]

with_signature(sig) := with_field(clean, "signature", sig)

with_bom(key, value) := with_field(clean, "bom", with_field(clean.bom, key, value))

with_deps_finding(f) := with_field(clean, "deps", with_field(clean.deps, "findings", [f]))

finding(rule, severity) := {"rule": rule, "severity": severity, "path": "model.pkl", "message": "something"}

# --- allow ---

test_allow_clean_signed_model if {
	ids(clean) == set()
}

test_allow_unsigned_model_when_not_required if {
	ids(with_field(clean, "signature", {"present": false, "verified": false})) == set()
}

test_allow_null_evidence_lists if {
	every inp in inputs(null) {
		ids(inp) == set()
	}
}

test_allow_medium_finding if {
	every inp in inputs([finding("PICKLE-IMPORT", "medium")]) {
		ids(inp) == set()
	}
}

test_allow_license_case_insensitive if {
	ids(with_bom("licenses", ["apache-2.0", "mit"])) == set()
}

# --- scan ---

test_deny_scan_missing if {
	ids(with_field(clean, "scan", null)) == {"SCAN-MISSING"}
}

test_deny_high_finding if {
	every inp in inputs([finding("PICKLE-PROCESS", "high")]) {
		ids(inp) == {"SCAN-SEVERITY"}
	}
}

test_deny_one_reason_per_blocking_finding if {
	fs := [
		finding("PICKLE-IMPORT", "low"), finding("PICKLE-PROCESS", "high"),
		finding("PICKLE-IMPORT", "info"), object.union(finding("PICKLE-EXEC", "critical"), {"path": "other.pkl"}),
	]
	every inp in inputs(fs) {
		reasons := gate.deny with input as inp
		{[r.id, r.severity] | some r in reasons} == {["SCAN-SEVERITY", "high"], ["SCAN-SEVERITY", "critical"]}
		count(reasons) == 2
	}
}

test_deny_critical_finding_names_the_file if {
	reasons := gate.deny with input as with_findings([finding("PICKLE-PROCESS", "critical")])
	some r in reasons
	r.id == "SCAN-SEVERITY"
	r.severity == "critical"
	contains(r.msg, "model.pkl")
	contains(r.msg, "PICKLE-PROCESS")
}

test_deny_unknown_severity if {
	every inp in inputs([finding("PICKLE-PROCESS", "HIGH")]) {
		ids(inp) == {"SCAN-SEVERITY"}
	}
}

test_max_severity_override if {
	ids(with_findings([finding("PICKLE-PROCESS", "high")])) == set() with data.violet.max_severity as "critical"
	ids(with_findings([finding("PICKLE-IMPORT", "medium")])) == {"SCAN-SEVERITY"} with data.violet.max_severity as "medium"
}

test_deny_incomplete_scan if {
	inp := with_scan("incomplete", 1)
	ids(inp) == {"SCAN-INCOMPLETE"}
}

test_deny_incomplete_names_the_files if {
	f := object.union(finding("ARCHIVE-TRUNCATED", "info"), {"incomplete": true})
	inp := with_field(clean, "scan", object.union(clean.scan, {"incomplete": 1, "findings": [f]}))
	reasons := gate.deny with input as inp
	reasons == {{"id": "SCAN-INCOMPLETE", "msg": "1 file(s) could not be fully analyzed: model.pkl"}}
}

test_allow_incomplete_override if {
	ids(with_scan("incomplete", 1)) == set() with data.violet.allow_incomplete as true
}

test_deny_bad_threshold_config if {
	ids(clean) == {"POLICY-CONFIG"} with data.violet.max_severity as "severe"
}

# --- signature ---

test_deny_signature_invalid if {
	sig := {"present": true, "verified": false, "error": "content does not match", "modified": ["model.safetensors"], "added": ["evil.pkl"]}
	reasons := gate.deny with input as with_signature(sig)
	{r.id | some r in reasons} == {"SIGNATURE-INVALID"}
	some r in reasons
	contains(r.msg, "modified: model.safetensors")
	contains(r.msg, "added: evil.pkl")
	not contains(r.msg, "missing:")
}

test_deny_signature_required_by_option if {
	inp := with_field(with_signature(null), "options", {"require_signature": true})
	ids(inp) == {"SIGNATURE-REQUIRED"}
}

test_deny_signature_required_by_data if {
	ids(with_signature({"present": false, "verified": false})) == {"SIGNATURE-REQUIRED"} with data.violet.require_signature as true
}

test_allow_signature_required_and_verified if {
	ids(clean) == set() with data.violet.require_signature as true
}

# --- dependencies ---

test_deny_malicious_dependency if {
	ids(with_deps_finding(finding("DEPS-MALICIOUS", "critical"))) == {"DEPS-MALICIOUS"}
}

test_deny_typosquat_dependency if {
	ids(with_deps_finding(finding("DEPS-TYPOSQUAT", "high"))) == {"DEPS-TYPOSQUAT"}
}

test_deny_critical_vulnerability if {
	ids(with_deps_finding(finding("DEPS-VULNERABLE", "critical"))) == {"DEPS-VULNERABLE"}
}

test_allow_high_vulnerability if {
	ids(with_deps_finding(finding("DEPS-VULNERABLE", "high"))) == set()
}

test_deny_high_vulnerability_override if {
	ids(with_deps_finding(finding("DEPS-VULNERABLE", "high"))) == {"DEPS-VULNERABLE"} with data.violet.max_dependency_severity as "high"
}

test_deny_known_exploited if {
	f := {
		"rule": "DEPS-VULNERABLE", "severity": "medium", "path": "requirements.txt",
		"message": "pillow 9.0.0 is affected by GHSA-8vj2-vxx3-667w (CVE-2023-4863): heap overflow. Fixed in 10.0.1.",
		"evidence": "GHSA-8vj2-vxx3-667w",
	}
	ids(with_deps_finding(f)) == {"DEPS-KNOWN-EXPLOITED"} with data.violet.known_exploited as ["cve-2023-4863"]
	ids(with_deps_finding(f)) == set()
}

# with_deps(key, value) is clean with deps.key set to value.
with_deps(key, value) := with_field(clean, "deps", with_field(clean.deps, key, value))

test_deny_deps_unchecked if {
	reasons := gate.deny with input as with_deps("vulnerability_data", "")
	{r.id | some r in reasons} == {"DEPS-UNCHECKED"}
	some r in reasons
	contains(r.msg, "requirements.txt")
}

test_allow_deps_checked_or_absent if {
	ids(clean) == set()
	ids(with_field(with_deps("vulnerability_data", ""), "deps", with_field(with_deps("vulnerability_data", "").deps, "paths", []))) == set()
	ids(with_field(clean, "deps", null)) == set()
}

test_allow_deps_unchecked_override if {
	ids(with_deps("vulnerability_data", "")) == set() with data.violet.require_vulnerability_data as false
}

# --- license ---

test_deny_license_not_allowed if {
	ids(with_bom("licenses", ["Apache-2.0", "CC-BY-NC-4.0"])) == {"LICENSE"}
}

test_allow_license_added_to_allowlist if {
	ids(with_bom("licenses", ["LLAMA-3.1"])) == set() with data.violet.license_allowlist as ["LLAMA-3.1"]
}

test_deny_license_missing if {
	ids(with_bom("licenses", [])) == {"LICENSE-MISSING"}
	ids(with_bom("licenses", null)) == {"LICENSE-MISSING"}
}

test_allow_license_missing_override if {
	ids(with_bom("licenses", [])) == set() with data.violet.require_license as false
}

# --- model card ---

test_deny_no_intended_use if {
	ids(with_bom("use_cases", [])) == {"MODEL-CARD"}
}

test_deny_no_limitations if {
	ids(with_bom("limitations", null)) == {"MODEL-CARD"}
}

test_deny_blank_limitations if {
	ids(with_bom("limitations", ["  "])) == {"MODEL-CARD"}
}

test_deny_no_bom if {
	ids(with_field(clean, "bom", null)) == {"LICENSE-MISSING", "MODEL-CARD"}
}

test_required_sections_override if {
	ids(with_bom("limitations", [])) == set() with data.violet.required_card_sections as ["intended_use"]
	ids(clean) == {"MODEL-CARD"} with data.violet.required_card_sections as ["ethical_considerations"]
	ids(clean) == {"POLICY-CONFIG"} with data.violet.required_card_sections as ["bias_audit"]
}

# --- attestations ---

test_deny_attestation_unverified if {
	inp := with_field(clean, "attestations", [{"verified": true}, {"verified": false, "error": "subjects differ", "signer": "ci"}])
	reasons := gate.deny with input as inp
	{r.id | some r in reasons} == {"ATTESTATION"}
	some r in reasons
	contains(r.msg, "attestation 2")
	contains(r.msg, "subjects differ")
}

test_allow_no_attestations if {
	ids(with_field(clean, "attestations", null)) == set()
	ids(with_field(clean, "attestations", [])) == set()
}

# --- evidence ---
test_deny_evidence_mismatch if {
	inp := with_field(clean, "evidence", [
		{"path": "scan.json", "kind": "scan", "error": "missing: x.pkl"},
		{"path": "ok.json", "kind": "scan"},
	])
	reasons := gate.deny with input as inp
	{r.id | some r in reasons} == {"EVIDENCE-MISMATCH"}
	count(reasons) == 1
	some r in reasons
	contains(r.msg, "scan.json")
	contains(r.msg, "missing: x.pkl")
}

test_allow_no_evidence if {
	ids(with_field(clean, "evidence", null)) == set()
	ids(with_field(clean, "evidence", [])) == set()
}

# Release sign-off. digest_a is the version the gate sees.
digest_a := "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

digest_b := "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

decision(role, by, verdict, digest) := {
	"role": role, "decision": verdict, "reason": "reviewed", "digest": digest, "by": by,
	"signed": false, "signature_verified": false,
}

# with_release(tier, third, ds) is clean with a release of digest_a whose
# latest decisions are ds (one per role), as the gate makes it.
with_release(tier, third, ds) := with_field(clean, "release", {
	"digest": digest_a, "found": true, "id": 1, "tier": tier, "third_party": third,
	"decisions": ds, "latest": {d.role: d | some d in ds},
})

medium_approved := [
	decision("security", "sam", "approve", digest_a),
	decision("ml-engineer", "mia", "approve", digest_a),
]

test_release_not_asked_is_not_judged if {
	count(ids(clean)) == 0
}

test_release_approved_by_every_role if {
	count(ids(with_release("medium", false, medium_approved))) == 0
}

test_release_lacks_a_role if {
	ids(with_release("medium", false, [medium_approved[0]])) == {"RELEASE-SIGNOFF-MISSING"}
}

test_release_approval_for_another_digest_does_not_count if {
	ds := [medium_approved[0], decision("ml-engineer", "mia", "approve", digest_b)]
	ids(with_release("medium", false, ds)) == {"RELEASE-SIGNOFF-MISSING"}
}

test_release_third_party_needs_procurement if {
	ids(with_release("medium", true, medium_approved)) == {"RELEASE-SIGNOFF-MISSING"}
}

test_release_rejected if {
	ds := array.concat(medium_approved, [decision("legal-compliance", "lee", "reject", digest_a)])
	ids(with_release("medium", false, ds)) == {"RELEASE-REJECTED"}
}

test_release_one_person_two_roles if {
	ds := [decision("security", "sam", "approve", digest_a), decision("ml-engineer", "sam", "approve", digest_a)]
	ids(with_release("medium", false, ds)) == {"RELEASE-SAME-APPROVER"}
}

test_release_not_requested if {
	inp := with_field(clean, "release", {"digest": digest_a, "found": false, "third_party": false, "decisions": [], "latest": {}})
	ids(inp) == {"RELEASE-NOT-REQUESTED"}
}

test_release_required_without_server if {
	r := gate.deny with input as clean with data.violet.require_release as true
	{x.id | some x in r} == {"RELEASE-REQUIRED"}
}

test_release_signed_signoffs_required if {
	r := gate.deny with input as with_release("medium", false, medium_approved) with data.violet.require_signed_signoffs as true
	{x.id | some x in r} == {"RELEASE-SIGNOFF-MISSING"}
}

test_release_unknown_tier if {
	"POLICY-CONFIG" in ids(with_release("extreme", false, medium_approved))
}
