package webui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/violet-mlsecops/violet/internal/atlas"
	"github.com/violet-mlsecops/violet/store"
	"github.com/violet-mlsecops/violet/threat"
)

// option is a choice of a select.
type option struct {
	ID   int64
	Name string
}

// riskRow is a risk in the register.
type riskRow struct {
	Risk    store.Risk
	Team    string
	Model   string
	Overdue bool
}

// riskChoices are the lists of the risk forms.
type riskChoices struct {
	Categories, Treatments, Statuses []string
	Roles                            []store.Role
	Scores                           []int
	Today, DefaultReview, MaxReview  string
}

func (u *ui) riskChoices() riskChoices {
	now := u.opts.Now().UTC()
	return riskChoices{Categories: store.RiskCategories(), Treatments: store.RiskTreatments(), Statuses: store.RiskStatuses(),
		Roles: store.Roles(), Scores: []int{1, 2, 3, 4, 5}, Today: now.Format(time.DateOnly),
		DefaultReview: now.AddDate(0, 3, 0).Format(time.DateOnly),
		MaxReview:     now.Add(store.MaxReviewAhead - 24*time.Hour).Format(time.DateOnly)}
}

// risksData is the register page.
type risksData struct {
	riskChoices
	Rows        []riskRow
	Overdue     int
	OnlyOverdue bool
	// CanAdd: the viewer may add risks in one of their teams.
	CanAdd bool
}

// teamModels names the models of teams by id, and lists them as options.
func (u *ui) teamModels(ctx context.Context, teams []int64) (map[int64]string, []option, error) {
	names := map[int64]string{}
	var opts []option
	for _, team := range teams {
		models, err := u.st.Models(ctx, team)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range models {
			names[m.ID] = m.Name
			opts = append(opts, option{m.ID, m.Name})
		}
	}
	return names, opts, nil
}

// viewedTeams are the ids of the teams whose records the viewer sees, in
// a stable order.
func viewedTeams(v *viewer) []int64 {
	var out []int64
	for team := range v.roles {
		if v.may(team, store.PermRead) {
			out = append(out, team)
		}
	}
	slices.Sort(out)
	return out
}

// risks is the register of the viewer's teams, the earliest review first,
// with the overdue ones counted and marked.
func (u *ui) risks(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	d := risksData{riskChoices: u.riskChoices(), OnlyOverdue: r.URL.Query().Get("overdue") == "1"}
	teams := viewedTeams(v)
	names, _, err := u.teamModels(ctx, teams)
	if err != nil {
		u.serverError(w, v, err)
		return
	}
	now := u.opts.Now()
	for _, team := range teams {
		risks, err := u.st.Risks(ctx, team)
		if err != nil {
			u.serverError(w, v, err)
			return
		}
		for _, rk := range risks {
			row := riskRow{Risk: rk, Team: v.teamNames[team], Model: names[rk.ModelID], Overdue: rk.Overdue(now)}
			if row.Overdue {
				d.Overdue++
			}
			if !d.OnlyOverdue || row.Overdue {
				d.Rows = append(d.Rows, row)
			}
		}
		d.CanAdd = d.CanAdd || v.may(team, store.PermRisk)
	}
	slices.SortStableFunc(d.Rows, func(a, b riskRow) int { return a.Risk.ReviewBy.Compare(b.Risk.ReviewBy) })
	u.render(w, http.StatusOK, "risks", v, page{Title: "Risk register", Data: d})
}

// writableTeams are the viewer's teams where they may add risks.
func writableTeams(v *viewer) []option {
	var out []option
	for _, team := range viewedTeams(v) {
		if v.may(team, store.PermRisk) {
			out = append(out, option{team, v.teamNames[team]})
		}
	}
	return out
}

// newRisk is the form of a new risk, holding rk, for the teams where the
// viewer may add risks.
func (u *ui) newRisk(w http.ResponseWriter, r *http.Request, v *viewer) {
	u.renderNewRisk(w, r, v, http.StatusOK, "", store.Risk{Category: store.RiskPrivacy, OwnerRole: store.RoleLegalCompliance,
		Likelihood: 3, Impact: 3, Treatment: store.TreatMitigate, Status: store.RiskOpen,
		ReviewBy: u.opts.Now().UTC().AddDate(0, 3, 0)})
}

func (u *ui) renderNewRisk(w http.ResponseWriter, r *http.Request, v *viewer, status int, msg string, rk store.Risk) {
	ctx := r.Context()
	teams := writableTeams(v)
	if len(teams) == 0 {
		u.message(w, http.StatusForbidden, v, "Not allowed", "Your roles may not add risks.")
		return
	}
	ids := make([]int64, len(teams))
	for i, t := range teams {
		ids[i] = t.ID
	}
	_, models, err := u.teamModels(ctx, ids)
	if err != nil {
		u.serverError(w, v, err)
		return
	}
	d := riskData{riskChoices: u.riskChoices(), Risk: rk, New: true, CanEdit: true, Teams: teams, Models: models}
	u.render(w, status, "risk", v, page{Title: "New risk", Error: msg, Data: d})
}

// riskFromForm reads the fields of a risk form into r; the message says
// what is wrong ("" when nothing).
func riskFromForm(f url.Values, r *store.Risk) string {
	text := func(name string) string { return strings.ReplaceAll(strings.TrimSpace(f.Get(name)), "\r\n", "\n") }
	r.Category, r.Title, r.Description = f.Get("category"), text("title"), text("description")
	r.OwnerRole, r.Treatment, r.Plan, r.Status = store.Role(f.Get("owner_role")), f.Get("treatment"), text("plan"), f.Get("status")
	var err1, err2, err3 error
	r.Likelihood, err1 = strconv.Atoi(f.Get("likelihood"))
	r.Impact, err2 = strconv.Atoi(f.Get("impact"))
	r.ReviewBy, err3 = time.Parse(time.DateOnly, f.Get("review_by"))
	r.ModelID = 0
	if m := f.Get("model"); m != "" {
		id, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			return "Choose a model from the list, or none."
		}
		r.ModelID = id
	}
	switch {
	case r.Title == "":
		return "Give the risk a title."
	case err1 != nil || err2 != nil:
		return "Choose a likelihood and an impact, 1 to 5."
	case err3 != nil:
		return "Give the date of the next review."
	}
	return ""
}

// riskError is the message shown for a store's refusal of a risk.
func riskError(err error) string {
	if errors.Is(err, store.ErrNotFound) {
		return "The model chosen is not a model of this team."
	}
	return "The risk was refused: " + err.Error()
}

// createRisk adds a risk to the register of the form's team, for the
// roles that may (403 for the others).
func (u *ui) createRisk(w http.ResponseWriter, r *http.Request, v *viewer) {
	var rk store.Risk
	team, ok := u.formTeam(w, r, v, store.PermRisk, "Your role in this team may not add risks.")
	if !ok {
		return
	}
	rk.TeamID = team
	if msg := riskFromForm(r.PostForm, &rk); msg != "" {
		u.renderNewRisk(w, r, v, http.StatusBadRequest, msg, rk)
		return
	}
	created, err := u.st.CreateRisk(r.Context(), actor(r, v), rk)
	switch {
	case errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrNotFound):
		u.renderNewRisk(w, r, v, http.StatusBadRequest, riskError(err), rk)
		return
	case err != nil:
		u.serverError(w, v, err)
		return
	}
	http.Redirect(w, r, u.opts.BasePath+"/risks/"+strconv.FormatInt(created.ID, 10), http.StatusSeeOther)
}

// riskData is the page of one risk.
type riskData struct {
	riskChoices
	Risk    store.Risk
	Team    string
	Model   string
	Overdue bool
	CanEdit bool
	Models  []option
	History []store.AuditRecord
	// New: the form adds a risk to one of Teams.
	New   bool
	Teams []option
}

// loadRisk returns the page of the risk named by the path, which must be
// of one of the viewer's teams (404 otherwise, as a missing one).
func (u *ui) loadRisk(w http.ResponseWriter, r *http.Request, v *viewer) (riskData, bool) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("risk"), 10, 64)
	if err != nil || id <= 0 {
		u.notFound(w, r, v)
		return riskData{}, false
	}
	rk, err := u.st.Risk(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !v.may(rk.TeamID, store.PermRead) {
		u.notFound(w, r, v)
		return riskData{}, false
	}
	if err != nil {
		u.serverError(w, v, err)
		return riskData{}, false
	}
	d := riskData{riskChoices: u.riskChoices(), Risk: rk, Team: v.teamNames[rk.TeamID], Overdue: rk.Overdue(u.opts.Now())}
	names, models, err := u.teamModels(ctx, []int64{rk.TeamID})
	if err == nil {
		d.Model, d.Models = names[rk.ModelID], models
		d.CanEdit = v.may(rk.TeamID, store.PermRisk)
	}
	if err == nil {
		d.History, err = u.st.AuditLog(ctx, 0, store.MaxAuditPage, "risk/"+strconv.FormatInt(rk.ID, 10))
	}
	if err != nil {
		u.serverError(w, v, err)
		return d, false
	}
	return d, true
}

func (u *ui) risk(w http.ResponseWriter, r *http.Request, v *viewer) {
	if d, ok := u.loadRisk(w, r, v); ok {
		u.render(w, http.StatusOK, "risk", v, page{Title: d.Risk.Title, Data: d})
	}
}

// updateRisk changes a risk, for the roles that may (403 for the others).
func (u *ui) updateRisk(w http.ResponseWriter, r *http.Request, v *viewer) {
	d, ok := u.loadRisk(w, r, v)
	if !ok {
		return
	}
	if !d.CanEdit {
		u.message(w, http.StatusForbidden, v, "Not allowed", "Your role in this team may not change risks.")
		return
	}
	rk := d.Risk
	fail := func(msg string) {
		d.Risk = rk
		u.render(w, http.StatusBadRequest, "risk", v, page{Title: d.Risk.Title, Error: msg, Data: d})
	}
	if msg := riskFromForm(r.PostForm, &rk); msg != "" {
		fail(msg)
		return
	}
	_, err := u.st.UpdateRisk(r.Context(), actor(r, v), rk)
	switch {
	case errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrNotFound):
		fail(riskError(err))
		return
	case err != nil:
		u.serverError(w, v, err)
		return
	}
	http.Redirect(w, r, u.opts.BasePath+"/risks/"+strconv.FormatInt(rk.ID, 10), http.StatusSeeOther)
}

// threatRow is a technique of the threat model page.
type threatRow struct {
	store.Threat
	Name     string
	Controls string // space-separated, as the form takes them
}

// threatsData is the threat model page of a model.
type threatsData struct {
	Model      store.Model
	Team       string
	TM         store.ThreatModel
	Rows       []threatRow
	Signals    []threat.Found
	CanEdit    bool
	Residuals  []string
	Techniques []atlas.Entry
	Version    string
	Prefilled  string
	// Slots is the number of rows of the form: the techniques and a blank.
	Slots int
}

func (u *ui) loadThreats(w http.ResponseWriter, r *http.Request, v *viewer) (threatsData, bool) {
	m, ok := u.visibleModel(w, r, v)
	if !ok {
		return threatsData{}, false
	}
	ctx := r.Context()
	d := threatsData{Model: m, Team: v.teamNames[m.TeamID], Residuals: store.ResidualLevels(), Version: atlas.Version,
		Prefilled: r.URL.Query().Get("prefilled")}
	var err error
	if d.TM, err = u.st.ThreatModel(ctx, m.ID); err == nil {
		if d.Signals, err = threat.Signals(ctx, u.st, m.ID); err == nil {
			d.CanEdit = v.may(m.TeamID, store.PermThreatModel)
		}
	}
	if err != nil {
		u.serverError(w, v, err)
		return d, false
	}
	for _, t := range d.TM.Threats {
		name, _ := atlas.Technique(t.Technique)
		d.Rows = append(d.Rows, threatRow{Threat: t, Name: name, Controls: strings.Join(t.Controls, " ")})
	}
	if d.CanEdit {
		d.Techniques = atlas.Techniques()
	}
	d.Slots = len(d.Rows) + 1
	return d, true
}

func (u *ui) threats(w http.ResponseWriter, r *http.Request, v *viewer) {
	if d, ok := u.loadThreats(w, r, v); ok {
		u.render(w, http.StatusOK, "threats", v, page{Title: "Threat model of " + d.Model.Name, Data: d})
	}
}

// threatsFromForm reads the threat model form: rows 0 to rows-1 (at most
// store.MaxThreats plus the blank one), a row with remove checked or
// without a technique left out.
func threatsFromForm(f url.Values, tm *store.ThreatModel) string {
	text := func(name string) string { return strings.ReplaceAll(strings.TrimSpace(f.Get(name)), "\r\n", "\n") }
	tm.Assets, tm.EntryPoints = text("assets"), text("entry_points")
	n, err := strconv.Atoi(f.Get("rows"))
	if err != nil || n < 0 || n > store.MaxThreats+1 {
		return "The form is damaged: reload the page."
	}
	tm.Threats = nil
	for i := range n {
		k := strconv.Itoa(i)
		id := strings.ToUpper(strings.TrimSpace(f.Get("technique-" + k)))
		if f.Get("remove-"+k) != "" || id == "" {
			continue
		}
		if sp := strings.IndexByte(id, ' '); sp > 0 { // "AML.T0051 LLM Prompt Injection" from the list
			id = id[:sp]
		}
		tm.Threats = append(tm.Threats, store.Threat{Technique: id, Why: text("why-" + k), Mitigations: text("mitigations-" + k),
			Controls: strings.Fields(strings.ReplaceAll(f.Get("controls-"+k), ",", " ")), Residual: f.Get("residual-" + k)})
	}
	return ""
}

// saveThreats saves the threat model form, for the roles that may (403
// for the others).
func (u *ui) saveThreats(w http.ResponseWriter, r *http.Request, v *viewer) {
	d, ok := u.loadThreats(w, r, v)
	if !ok {
		return
	}
	if !d.CanEdit {
		u.message(w, http.StatusForbidden, v, "Not allowed", "Your role in this team may not change threat models.")
		return
	}
	tm := store.ThreatModel{ModelID: d.Model.ID}
	msg := threatsFromForm(r.PostForm, &tm)
	if msg == "" {
		_, err := u.st.PutThreatModel(r.Context(), actor(r, v), tm)
		switch {
		case errors.Is(err, store.ErrInvalid):
			msg = "The threat model was refused: " + err.Error()
		case err != nil:
			u.serverError(w, v, err)
			return
		}
	}
	if msg != "" {
		d.TM.Assets, d.TM.EntryPoints, d.Rows = tm.Assets, tm.EntryPoints, nil
		for _, t := range tm.Threats {
			name, _ := atlas.Technique(t.Technique)
			d.Rows = append(d.Rows, threatRow{Threat: t, Name: name, Controls: strings.Join(t.Controls, " ")})
		}
		d.Slots = len(d.Rows) + 1
		u.render(w, http.StatusBadRequest, "threats", v, page{Title: "Threat model of " + d.Model.Name, Error: msg, Data: d})
		return
	}
	http.Redirect(w, r, u.opts.BasePath+"/models/"+strconv.FormatInt(d.Model.ID, 10)+"/threats", http.StatusSeeOther)
}

// prefillThreats adds to the threat model what the inventory shows
// (package threat) and saves it, for the roles that may edit it.
func (u *ui) prefillThreats(w http.ResponseWriter, r *http.Request, v *viewer) {
	d, ok := u.loadThreats(w, r, v)
	if !ok {
		return
	}
	if !d.CanEdit {
		u.message(w, http.StatusForbidden, v, "Not allowed", "Your role in this team may not change threat models.")
		return
	}
	tm, added := threat.Prefill(d.TM, d.Signals)
	if _, err := u.st.PutThreatModel(r.Context(), actor(r, v), tm); err != nil {
		u.serverError(w, v, err)
		return
	}
	http.Redirect(w, r, u.opts.BasePath+"/models/"+strconv.FormatInt(d.Model.ID, 10)+"/threats?prefilled="+
		strconv.Itoa(len(added)), http.StatusSeeOther)
}
