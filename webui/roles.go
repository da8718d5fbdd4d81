package webui

import (
	"slices"

	"github.com/violet-mlsecops/violet/store"
)

// viewer is the logged-in user of a request with the roles they hold now
// (read from the store on every request, so that a role taken away takes
// effect at once).
type viewer struct {
	sessionID string
	sess      session
	// roles are the roles the user holds, by team id.
	roles map[int64][]store.Role
	// teamNames names the teams the user is a member of.
	teamNames map[int64]string
}

// may reports whether the viewer holds permission p in team through one of
// the roles held there: store.RolePermissions judges, as for the API.
func (v *viewer) may(team int64, p store.Permission) bool {
	return slices.ContainsFunc(v.roles[team], func(r store.Role) bool { return r.May(p) })
}
