package webui

import "github.com/violet-mlsecops/violet/store"

// capability is something a role lets a user do in the web UI, in the
// teams where the user holds the role.
type capability uint8

const (
	// canView: see the team's inventory, models, evidence and findings.
	canView capability = 1 << iota
	// canTriage: accept a risk, mark a false positive, reopen a finding.
	canTriage
	// canRequestRelease: request the release of a version.
	canRequestRelease
	// canTraining: add courses, record completions.
	canTraining
	// canProcurement: review third-party AI and decide.
	canProcurement
)

// capabilityPermissions are the store permissions the UI's capabilities
// stand for: the roles are judged by store.RolePermissions, as the API
// judges them.
var capabilityPermissions = map[capability]store.Permission{
	canView:           store.PermRead,
	canTriage:         store.PermTriage,
	canRequestRelease: store.PermWrite,
	canTraining:       store.PermTraining,
	canProcurement:    store.PermProcurement,
}

// capabilitiesOf returns what role r may do in the web UI.
func capabilitiesOf(r store.Role) capability {
	var c capability
	for k, p := range capabilityPermissions {
		if r.May(p) {
			c |= k
		}
	}
	return c
}

// viewer is the logged-in user of a request with the roles they hold now
// (read from the store on every request, so that a role taken away takes
// effect at once).
type viewer struct {
	sessionID string
	sess      session
	// caps is what the user may do, by team id.
	caps map[int64]capability
	// teamNames names the teams the user is a member of.
	teamNames map[int64]string
}

// can reports whether the viewer may do c in team.
func (v *viewer) can(team int64, c capability) bool { return v.caps[team]&c == c }
