# Signature: whether the model is, file for file, the one that was signed
# (OpenSSF Model Signing).
package violet.gate

signature_present if input.signature.present == true

signature_verified if {
	signature_present
	input.signature.verified == true
}

# SIGNATURE-INVALID: a signature that is present must verify. The
# message names the files that were modified, added or removed since
# signing.
deny contains {"id": "SIGNATURE-INVALID", "msg": msg} if {
	signature_present
	not signature_verified
	msg := concat("; ", array.concat(["the signature does not verify"], signature_problems))
}

signature_problems := [p |
	some part in [
		["error", [object.get(input.signature, "error", "")]],
		["modified", items(object.get(input.signature, "modified", null))],
		["added", items(object.get(input.signature, "added", null))],
		["missing", items(object.get(input.signature, "missing", null))],
	]
	names := [n | some n in part[1]; n != ""]
	count(names) > 0
	p := sprintf("%s: %s", [part[0], concat(", ", names)])
]

# SIGNATURE-REQUIRED: when the gate is run with --require-signature, or
# data.violet.require_signature is true, the model must carry a signature
# (that it verifies is SIGNATURE-INVALID's job).
signature_required if input.options.require_signature == true

signature_required if data.violet.require_signature == true

deny contains {"id": "SIGNATURE-REQUIRED", "msg": "a verified signature is required, and the model has none"} if {
	signature_required
	not signature_present
}
