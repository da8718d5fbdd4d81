package webui

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/violet-mlsecops/violet/release"
	"github.com/violet-mlsecops/violet/store"
)

// releaseRow is a release on the releases page, with where it stands.
type releaseRow struct {
	Release store.Release
	Team    string
	Status  release.Status
}

// versionChoice is a version a release may be requested for.
type versionChoice struct {
	Model   string
	Version store.Version
}

// releasesData is the releases page.
type releasesData struct {
	Releases []releaseRow
	// Versions are those the viewer may request a release of (write).
	Versions []versionChoice
	Tiers    []string
	Signoffs release.Signoffs
}

// releaseData is a release's page.
type releaseData struct {
	releaseRow
	Decisions []store.ReleaseDecision
	// Roles are the required roles the viewer holds in the team: the ones
	// they may decide for.
	Roles []string
}

// decisionsOf returns a release's decisions as package release judges
// them.
func decisionsOf(r store.Release, ds []store.ReleaseDecision) []release.Decision {
	out := make([]release.Decision, len(ds))
	for i, d := range ds {
		out[i] = release.Decision{Release: r.ID, Model: r.Model, Digest: d.Digest, Role: d.Role, Decision: d.Decision,
			Reason: d.Reason, By: d.DecidedBy, At: d.DecidedAt, Signature: d.Signature}
	}
	return out
}

func (u *ui) releases(w http.ResponseWriter, r *http.Request, v *viewer) {
	d, err := u.releasesOf(r.Context(), v)
	if err != nil {
		u.serverError(w, v, err)
		return
	}
	u.render(w, http.StatusOK, "releases", v, page{Title: "Releases", Data: d})
}

func (u *ui) releasesOf(ctx context.Context, v *viewer) (releasesData, error) {
	d := releasesData{Tiers: release.Tiers(), Signoffs: release.DefaultSignoffs}
	for _, team := range slices.Sorted(maps.Keys(v.teamNames)) {
		if !v.may(team, store.PermRead) {
			continue
		}
		list, err := u.st.Releases(ctx, team, "")
		if err != nil {
			return d, err
		}
		for _, rel := range list {
			ds, err := u.st.ReleaseDecisions(ctx, rel.ID)
			if err != nil {
				return d, err
			}
			d.Releases = append(d.Releases, releaseRow{rel, v.teamNames[team], release.Judge(rel.Required, rel.Digest, decisionsOf(rel, ds))})
		}
		if !v.may(team, store.PermWrite) {
			continue
		}
		models, err := u.st.Models(ctx, team)
		if err != nil {
			return d, err
		}
		for _, m := range models {
			vs, err := u.st.Versions(ctx, m.ID)
			if err != nil {
				return d, err
			}
			for _, ver := range slices.Backward(vs) {
				d.Versions = append(d.Versions, versionChoice{m.Name, ver})
			}
		}
	}
	return d, nil
}

// requestRelease requests the release of the version the form names.
func (u *ui) requestRelease(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	fail := func(msg string) {
		d, err := u.releasesOf(ctx, v)
		if err != nil {
			u.serverError(w, v, err)
			return
		}
		u.render(w, http.StatusBadRequest, "releases", v, page{Title: "Releases", Error: msg, Data: d})
	}
	versionID, err := strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
	if err != nil {
		fail("Choose the version to release.")
		return
	}
	d, err := u.releasesOf(ctx, v)
	if err != nil {
		u.serverError(w, v, err)
		return
	}
	i := slices.IndexFunc(d.Versions, func(c versionChoice) bool { return c.Version.ID == versionID })
	if i < 0 {
		// Not a version the viewer may request a release of: as if absent.
		u.notFound(w, r, v)
		return
	}
	tier, third := r.PostForm.Get("tier"), r.PostForm.Get("third_party") == "on"
	required, err := release.DefaultSignoffs.Required(tier, third)
	if err != nil {
		fail("Choose the risk tier.")
		return
	}
	title := strings.TrimSpace(r.PostForm.Get("title"))
	if title == "" {
		title = d.Versions[i].Model + " " + d.Versions[i].Version.Label
	}
	rel, err := u.st.CreateRelease(ctx, actor(r, v), store.Release{VersionID: versionID,
		Title: title, Tier: tier, ThirdParty: third, Required: required})
	if errors.Is(err, store.ErrInvalid) {
		fail("The request was refused: " + err.Error())
		return
	}
	if err != nil {
		u.serverError(w, v, err)
		return
	}
	http.Redirect(w, r, u.opts.BasePath+"/releases/"+strconv.FormatInt(rel.ID, 10), http.StatusSeeOther)
}

// loadRelease returns the release of the request's path if the viewer
// may see it; ok is false after a 404 or 500.
func (u *ui) loadRelease(w http.ResponseWriter, r *http.Request, v *viewer) (releaseData, bool) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("release"), 10, 64)
	if err != nil || id <= 0 {
		u.notFound(w, r, v)
		return releaseData{}, false
	}
	rel, err := u.st.Release(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !v.may(rel.TeamID, store.PermRead) {
		u.notFound(w, r, v)
		return releaseData{}, false
	}
	if err != nil {
		u.serverError(w, v, err)
		return releaseData{}, false
	}
	ds, err := u.st.ReleaseDecisions(ctx, rel.ID)
	if err != nil {
		u.serverError(w, v, err)
		return releaseData{}, false
	}
	d := releaseData{releaseRow: releaseRow{rel, v.teamNames[rel.TeamID], release.Judge(rel.Required, rel.Digest, decisionsOf(rel, ds))},
		Decisions: ds}
	ms, err := u.st.Memberships(ctx, v.sess.userID)
	if err != nil {
		u.serverError(w, v, err)
		return releaseData{}, false
	}
	for _, m := range ms {
		if m.TeamID == rel.TeamID && slices.Contains(rel.Required, string(m.Role)) && m.Role.May(store.PermSignoff) {
			d.Roles = append(d.Roles, string(m.Role))
		}
	}
	slices.Sort(d.Roles)
	return d, true
}

func (u *ui) releasePage(w http.ResponseWriter, r *http.Request, v *viewer) {
	d, ok := u.loadRelease(w, r, v)
	if !ok {
		return
	}
	u.render(w, http.StatusOK, "release", v, page{Title: "Release " + d.Release.Title, Data: d})
}

// decideRelease records the viewer's decision for one of their roles. The
// form carries the digest the viewer saw: a release is decided for the
// version on the page, never another.
func (u *ui) decideRelease(w http.ResponseWriter, r *http.Request, v *viewer) {
	d, ok := u.loadRelease(w, r, v)
	if !ok {
		return
	}
	fail := func(status int, msg string) {
		u.render(w, status, "release", v, page{Title: "Release " + d.Release.Title, Error: msg, Data: d})
	}
	role := r.PostForm.Get("role")
	if !slices.Contains(d.Roles, role) {
		fail(http.StatusForbidden, "You hold no role this release requires.")
		return
	}
	decision := r.PostForm.Get("decision")
	reason := strings.ReplaceAll(strings.TrimSpace(r.PostForm.Get("reason")), "\r\n", "\n")
	switch {
	case decision != store.DecisionApprove && decision != store.DecisionReject:
		fail(http.StatusBadRequest, "Approve or reject.")
		return
	case reason == "":
		fail(http.StatusBadRequest, "Give a reason.")
		return
	case r.PostForm.Get("digest") != d.Release.Digest:
		fail(http.StatusBadRequest, "The form was for another version: reload the page and review this one.")
		return
	}
	_, err := u.st.DecideRelease(r.Context(), actor(r, v), v.sess.userID, store.ReleaseDecision{
		ReleaseID: d.Release.ID, Role: role, Decision: decision, Reason: reason, Digest: d.Release.Digest})
	switch {
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrInvalid):
		fail(http.StatusConflict, "The decision was refused: "+err.Error())
		return
	case err != nil:
		u.serverError(w, v, err)
		return
	}
	http.Redirect(w, r, u.opts.BasePath+"/releases/"+strconv.FormatInt(d.Release.ID, 10), http.StatusSeeOther)
}
