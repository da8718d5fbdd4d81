package webui

import (
	"net/http"
	"slices"
	"strconv"

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

// actor is the viewer as the audit log records them.
func actor(r *http.Request, v *viewer) store.Actor {
	return store.Actor{Name: v.sess.login, Remote: r.RemoteAddr}
}

// formTeam returns the team that a form's "team" field names when the
// viewer holds p there. A team the viewer is not a member of (or no team)
// is 404, as if it did not exist; one where p is not held is 403 with
// denied. ok is false when the answer was written.
func (u *ui) formTeam(w http.ResponseWriter, r *http.Request, v *viewer, p store.Permission, denied string) (team int64, ok bool) {
	team, err := strconv.ParseInt(r.PostForm.Get("team"), 10, 64)
	if err != nil || !v.may(team, store.PermRead) {
		u.notFound(w, r, v)
		return 0, false
	}
	if !v.may(team, p) {
		u.message(w, http.StatusForbidden, v, "Not allowed", denied)
		return 0, false
	}
	return team, true
}

// may reports whether the viewer holds permission p in team through one of
// the roles held there: store.RolePermissions judges, as for the API.
func (v *viewer) may(team int64, p store.Permission) bool {
	return slices.ContainsFunc(v.roles[team], func(r store.Role) bool { return r.May(p) })
}
