package webui

import (
	"context"
	"errors"
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

// teamPage is a page of the viewer's teams whose forms post back to it
// (training, procurement, signers): its template, title, path and data.
type teamPage struct {
	name, title, path string
	data              func(context.Context, *viewer) (any, error)
}

// showTeamPage renders p with status and msg (an error to show).
func (u *ui) showTeamPage(w http.ResponseWriter, r *http.Request, v *viewer, p teamPage, status int, msg string) {
	d, err := p.data(r.Context(), v)
	if err != nil {
		u.serverError(w, v, err)
		return
	}
	u.render(w, status, p.name, v, page{Title: p.title, Error: msg, Data: d})
}

// answerPost answers a post to p that err ended: back to the page when
// nil; the page again with the refusal (400) when the store refused it
// (invalid, a name taken, a record not found); a server error otherwise.
func (u *ui) answerPost(w http.ResponseWriter, r *http.Request, v *viewer, p teamPage, err error) {
	switch {
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrExists), errors.Is(err, store.ErrNotFound):
		u.showTeamPage(w, r, v, p, http.StatusBadRequest, "Refused: "+err.Error())
	case err != nil:
		u.serverError(w, v, err)
	default:
		http.Redirect(w, r, u.opts.BasePath+p.path, http.StatusSeeOther)
	}
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
