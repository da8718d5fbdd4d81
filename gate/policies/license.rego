# License: the model's licenses, as the ML-BOM states them (SPDX ids, or
# names such as "LLAMA-3.1" for licenses SPDX does not list).
package violet.gate

# The allowlist, compared without regard to case.
license_allowed := {lower(l) | some l in data.violet.license_allowlist}

licenses := [l | some l in input.bom.licenses; trim_space(l) != ""]

# LICENSE: every license of the model must be in
# data.violet.license_allowlist. A license not on it needs a legal review
# first; add it to the list once approved.
deny contains {"id": "LICENSE", "msg": msg} if {
	some l in licenses
	not license_allowed[lower(l)]
	msg := sprintf("the license %q is not in the allowed licenses (data.violet.license_allowlist)", [l])
}

# LICENSE-MISSING: a model without a stated license may not be used at
# all. Off when data.violet.require_license is false.
deny contains {"id": "LICENSE-MISSING", "msg": "the model states no license"} if {
	data.violet.require_license == true
	count(licenses) == 0
}
