# Evidence: the reports of earlier pipeline steps given to the gate
# (--evidence). A scan report is never the verdict (it is not signed), but
# one that is not about this model's files, or that disagrees with the
# verified attestation, means the pipeline is broken or was tampered with.
package violet.gate

# EVIDENCE-MISMATCH: every report given must match the model: the same
# files (and digests, where it gives them), and the findings of the
# verified scan attestation, when there is one.
deny contains {"id": "EVIDENCE-MISMATCH", "msg": msg} if {
	some e in input.evidence
	object.get(e, "error", "") != ""
	msg := sprintf("%s (%s report) does not match the model: %s", [e.path, e.kind, e.error])
}
