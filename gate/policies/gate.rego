# Violet's default release policy.
#
# The gate refuses to release a model when "deny" has any member. Each
# member is one reason: {"id": "RULE-ID", "msg": "what is wrong"}, and
# for reasons that come from a finding, "severity". No reason: the model
# may be released.
#
# The rules are split by subject, one file each, all in this package:
#   scan.rego         what the scanner found in the model files (security)
#   signature.rego    whether the model is the one that was signed (security)
#   dependencies.rego the Python packages shipped beside the model (security)
#   license.rego      the model's licenses (legal)
#   model_card.rego   what the model card states (ML, ethics)
#   attestation.rego  scan attestations given to the gate (security)
#   evidence.rego     reports of earlier steps given to the gate (security)
#
# Every threshold and list lives in data.json under "violet", so a team
# changes them with its own data file, without touching the rules.
package violet.gate

# The configuration is data.violet: data.json, and any data file given
# to the gate merged over it. Rules read each setting by its full name
# (data.violet.max_severity): reading data.violet as a whole would
# include this package's own rules.

# severity_rank gives each severity name its rank in data.violet.severities,
# from the least severe (0) to the most.
severity_rank[name] := rank if {
	some rank, name in data.violet.severities
}

# severities_from(threshold) is the set of severity names at or above
# threshold.
severities_from(threshold) := {name |
	some name in data.violet.severities
	severity_rank[name] >= severity_rank[threshold]
}

# POLICY-CONFIG: a threshold that names no known severity would let
# everything through; refuse instead.
deny contains {"id": "POLICY-CONFIG", "msg": msg} if {
	not severity_rank[data.violet.max_severity]
	msg := sprintf("configuration: data.violet.max_severity must be one of %v", [data.violet.severities])
}

deny contains {"id": "POLICY-CONFIG", "msg": msg} if {
	not severity_rank[data.violet.max_dependency_severity]
	msg := sprintf("configuration: data.violet.max_dependency_severity must be one of %v", [data.violet.severities])
}

# items(x) is the array x, or an empty array when x is null. For a key
# the evidence may leave out, pass object.get(obj, key, null).
items(x) := [v | some v in x]
