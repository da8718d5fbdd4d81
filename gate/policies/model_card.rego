# Model card: what the model's documentation tells its users, as the
# ML-BOM reads it.
package violet.gate

# card_sections maps each section name data.violet.required_card_sections
# may list to the ML-BOM field that holds it, and to how a message names it.
card_sections := {
	"intended_use": {"field": "use_cases", "title": "intended use"},
	"limitations": {"field": "limitations", "title": "limitations"},
	"ethical_considerations": {"field": "ethical_considerations", "title": "ethical considerations"},
	"datasets": {"field": "datasets", "title": "training datasets"},
	"base_models": {"field": "base_models", "title": "base models"},
}

# card_states(name) is true when the card states something under it.
card_states(name) if {
	some text in input.bom[card_sections[name].field]
	trim_space(text) != ""
}

# MODEL-CARD: the card must state each section listed in
# data.violet.required_card_sections (default: intended use and
# limitations), so users know what the model is for and where it fails.
deny contains {"id": "MODEL-CARD", "msg": msg} if {
	some name in data.violet.required_card_sections
	card_sections[name]
	not card_states(name)
	msg := sprintf("the model card does not state its %s", [card_sections[name].title])
}

# POLICY-CONFIG: a section name the policy does not know.
deny contains {"id": "POLICY-CONFIG", "msg": msg} if {
	some name in data.violet.required_card_sections
	not card_sections[name]
	msg := sprintf("configuration: unknown model card section %q in data.violet.required_card_sections (known: %s)", [name, concat(", ", sort(object.keys(card_sections)))])
}
