# Release sign-off: the roles that answer for a model approve its release,
# for the very version the gate sees (violet gate --server; docs/team.md).
# input.release is null when the gate was not asked to look: then only
# data.violet.require_release makes a difference.
package violet.gate

release_checked if input.release != null

release_found if input.release.found == true

# release_required is the set of roles that must approve: those of the
# release's risk tier, and the third-party ones for a model the team did
# not train (data.violet.release_signoffs: the team's own table).
release_required contains role if {
	release_found
	some role in data.violet.release_signoffs.tiers[input.release.tier]
}

release_required contains role if {
	release_found
	input.release.third_party == true
	some role in data.violet.release_signoffs.third_party
}

# release_counts(d): an approval counts when it is for this version (the
# digest the gate computed from the files) and, when the team requires
# it, signed with a key the gate was given.
release_counts(d) if {
	d.decision == "approve"
	d.digest == input.release.digest
	release_signature_ok(d)
}

release_signature_ok(_) if not data.violet.require_signed_signoffs

release_signature_ok(d) if d.signature_verified == true

release_approved(role) if release_counts(input.release.latest[role])

deny contains {"id": "RELEASE-REQUIRED", "msg": "a release sign-off is required: run the gate with --server"} if {
	data.violet.require_release == true
	not release_checked
}

deny contains {"id": "RELEASE-NOT-REQUESTED", "msg": msg} if {
	release_checked
	not release_found
	msg := sprintf("the server holds no release request for this version (%s)", [input.release.digest])
}

deny contains {"id": "POLICY-CONFIG", "msg": msg} if {
	release_found
	not data.violet.release_signoffs.tiers[input.release.tier]
	msg := sprintf("configuration: data.violet.release_signoffs.tiers has no tier %q", [input.release.tier])
}

deny contains {"id": "RELEASE-SIGNOFF-MISSING", "msg": msg} if {
	some role in release_required
	not release_approved(role)
	msg := sprintf("the release lacks the approval of %s for this version%s", [role, release_why(role)])
}

# release_why(role) says why a role's latest decision does not count.
release_why(role) := "" if not input.release.latest[role]

release_why(role) := why if {
	d := input.release.latest[role]
	d.decision == "approve"
	d.digest != input.release.digest
	why := sprintf(": its approval is for %s, not %s", [d.digest, input.release.digest])
}

release_why(role) := why if {
	d := input.release.latest[role]
	d.decision == "approve"
	d.digest == input.release.digest
	not release_signature_ok(d)
	why := sprintf(": its approval is not signed with a trusted key (%s)", [object.get(d, "signature_error", "unsigned")])
}

release_why(role) := "" if input.release.latest[role].decision == "reject"

deny contains {"id": "RELEASE-REJECTED", "msg": msg} if {
	release_found
	some role, d in input.release.latest
	d.decision == "reject"
	msg := sprintf("%s (%s) rejected the release: %s", [d.by, role, d.reason])
}

deny contains {"id": "RELEASE-SAME-APPROVER", "msg": msg} if {
	some r1 in release_required
	some r2 in release_required
	r1 < r2
	d1 := input.release.latest[r1]
	d2 := input.release.latest[r2]
	release_counts(d1)
	release_counts(d2)
	d1.by == d2.by
	msg := sprintf("%s approved for both %s and %s: each required role needs its own approver", [d1.by, r1, r2])
}
