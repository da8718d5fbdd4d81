package webui

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/violet-mlsecops/violet/server"
	"github.com/violet-mlsecops/violet/store"
)

// teamSigners is one team's trusted signers: what its verify jobs accept.
type teamSigners struct {
	Team      store.Team
	Signers   []store.TrustedSigner
	CanManage bool
}

// signersData is the signers page.
type signersData struct {
	Teams []teamSigners
	Kinds []string
}

// signersPage is the page of the teams' trusted signers.
func (u *ui) signersPage() teamPage {
	return teamPage{"signers", "Trusted signers", "/signers", func(ctx context.Context, v *viewer) (any, error) { return u.signersOf(ctx, v) }}
}

func (u *ui) signersOf(ctx context.Context, v *viewer) (signersData, error) {
	d := signersData{Kinds: store.SignerKinds()}
	for _, id := range slices.Sorted(maps.Keys(v.teamNames)) {
		if !v.may(id, store.PermRead) {
			continue
		}
		t := teamSigners{Team: store.Team{ID: id, Name: v.teamNames[id]}, CanManage: v.may(id, store.PermSigners)}
		var err error
		if t.Signers, err = u.st.TrustedSigners(ctx, id); err != nil {
			return d, err
		}
		d.Teams = append(d.Teams, t)
	}
	return d, nil
}

func (u *ui) signers(w http.ResponseWriter, r *http.Request, v *viewer) {
	u.showTeamPage(w, r, v, u.signersPage(), http.StatusOK, "")
}

// signersPost trusts a signer (action "add": its material must read as
// its kind says, as the API checks it) or stops trusting one (action
// "remove") in a team where the viewer may.
func (u *ui) signersPost(w http.ResponseWriter, r *http.Request, v *viewer) {
	team, ok := u.formTeam(w, r, v, store.PermSigners, "Only the team's admins and security engineers choose whom its verify jobs trust.")
	if !ok {
		return
	}
	f := r.PostForm
	var err error
	switch f.Get("action") {
	case "add":
		t := store.TrustedSigner{TeamID: team, Name: strings.TrimSpace(f.Get("name")), Kind: f.Get("kind"),
			Material: strings.ReplaceAll(strings.TrimSpace(f.Get("material")), "\r\n", "\n"),
			Identity: strings.TrimSpace(f.Get("identity")), Issuer: strings.TrimSpace(f.Get("issuer"))}
		if _, verr := server.TrustedVerifier(t); verr != nil {
			err = errors.Join(store.ErrInvalid, errors.New("the "+t.Kind+" signer's material does not read: "+verr.Error()))
		}
		if err == nil {
			_, err = u.st.AddTrustedSigner(r.Context(), actor(r, v), t)
		}
	case "remove":
		id, _ := strconv.ParseInt(f.Get("signer"), 10, 64)
		err = u.st.RemoveTrustedSigner(r.Context(), actor(r, v), team, id)
	default:
		err = errors.Join(store.ErrInvalid, errors.New("unknown action"))
	}
	u.answerPost(w, r, v, u.signersPage(), err)
}
