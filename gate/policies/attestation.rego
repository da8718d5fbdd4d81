# Attestations: signed statements that a scan found the model clean,
# given to the gate. One that does not verify is a forged, stale or
# foreign claim.
package violet.gate

# ATTESTATION: every attestation given must verify: signed by a trusted
# key, over exactly the model's files as they are now.
deny contains {"id": "ATTESTATION", "msg": msg} if {
	some i, a in input.attestations
	a.verified != true
	msg := sprintf("attestation %d (signer %s) does not verify: %s", [
		i + 1,
		object.get(a, "signer", "unknown"),
		object.get(a, "error", "no reason given"),
	])
}
