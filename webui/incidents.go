package webui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/violet-mlsecops/violet/deps"
	"github.com/violet-mlsecops/violet/store"
)

// incidentRoutes registers the pages of incidents and drills under base.
func (u *ui) incidentRoutes(m *http.ServeMux, base string) {
	m.HandleFunc("GET "+base+"/incidents", u.authed(u.incidents))
	m.HandleFunc("POST "+base+"/incidents", u.authed(u.openIncident))
	m.HandleFunc("GET "+base+"/incidents/{incident}", u.authed(u.incidentPage))
	m.HandleFunc("POST "+base+"/incidents/{incident}", u.authed(u.incidentAction))
	m.HandleFunc("POST "+base+"/drills", u.authed(u.scheduleDrill))
	m.HandleFunc("GET "+base+"/drills/{drill}", u.authed(u.drillPage))
	m.HandleFunc("POST "+base+"/drills/{drill}", u.authed(u.drillAction))
}

// blastKinds are the kinds of blast-radius query the form offers.
var blastKinds = []struct{ Kind, Label string }{
	{"package", "depend on the package"},
	{"file", "contain the file (SHA-256)"},
	{"signer", "were signed by the key (hint or subject)"},
	{"base", "derive from the base model"},
	{"dataset", "were trained on the dataset"},
}

// blastForm is a blast-radius query as the form sends it.
type blastForm struct {
	Team           int64
	Kind, Value    string
	PackageVersion string
}

func readBlastForm(q url.Values) blastForm {
	team, _ := strconv.ParseInt(q.Get("team"), 10, 64)
	return blastForm{Team: team, Kind: q.Get("kind"), Value: strings.TrimSpace(q.Get("q")),
		PackageVersion: strings.TrimSpace(q.Get("version"))}
}

// query is the store's query (the package name PEP 503-normalized).
func (f blastForm) query() store.BlastQuery {
	var q store.BlastQuery
	switch f.Kind {
	case "package":
		q.Package, q.Version = deps.PEP503Name(f.Value), f.PackageVersion
	case "file":
		q.File = strings.ToLower(f.Value)
	case "signer":
		q.Signer = f.Value
	case "base":
		q.Base = f.Value
	case "dataset":
		q.Dataset = f.Value
	}
	return q
}

// teamChoice is a team of the viewer, with what they may do in it.
type teamChoice struct {
	ID                int64
	Name              string
	CanOpen, CanDrill bool
}

type incidentRow struct {
	Incident        store.Incident
	Team            string
	Detect, Contain string
}

type drillRow struct {
	Drill store.Drill
	Team  string
	Title string
}

type incidentsData struct {
	Teams      []teamChoice
	Kinds      []struct{ Kind, Label string }
	Form       blastForm
	Ran        bool
	Results    []store.Affected
	CanOpen    bool
	CanDrill   bool
	Incidents  []incidentRow
	Drills     []drillRow
	Scenarios  []store.DrillScenario
	Types      []string
	Severities []string
	Roles      []store.Role
	Tomorrow   string
}

// duration writes a response time for people: "1h 12m", "45s".
func duration(d time.Duration, ok bool) string {
	if !ok {
		return ""
	}
	d = d.Round(time.Second)
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd %dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh %dm", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm %ds", d/time.Minute, d%time.Minute/time.Second)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// teams lists the viewer's teams by name with what they may do there.
func teams(v *viewer) []teamChoice {
	var out []teamChoice
	for id, name := range v.teamNames {
		out = append(out, teamChoice{id, name, v.may(id, store.PermIncident), v.may(id, store.PermDrill)})
	}
	slices.SortFunc(out, func(a, b teamChoice) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// incidentsData gathers the page: the viewer's teams' incidents and
// drills, and the blast-radius query of the request, run.
func (u *ui) incidentsData(ctx context.Context, v *viewer, form blastForm, run bool) (*incidentsData, string, error) {
	d := &incidentsData{Kinds: blastKinds, Form: form, Scenarios: store.DrillScenarios(), Types: store.IncidentTypes(),
		Severities: store.IncidentSeverities(), Roles: store.Roles(),
		Tomorrow: u.opts.Now().UTC().Add(24 * time.Hour).Format("2006-01-02T15:04")}
	d.Teams = teams(v)
	for _, t := range d.Teams {
		d.CanDrill = d.CanDrill || t.CanDrill
		incs, err := u.st.Incidents(ctx, t.ID)
		if err != nil {
			return nil, "", err
		}
		for _, i := range incs {
			d.Incidents = append(d.Incidents, incidentRow{i, t.Name, duration(i.TimeToDetect()), duration(i.TimeToContain())})
		}
		drills, err := u.st.Drills(ctx, t.ID)
		if err != nil {
			return nil, "", err
		}
		for _, dr := range drills {
			sc, _ := store.DrillScenarioByID(dr.Scenario)
			d.Drills = append(d.Drills, drillRow{dr, t.Name, sc.Title})
		}
	}
	slices.SortFunc(d.Incidents, func(a, b incidentRow) int { return b.Incident.OpenedAt.Compare(a.Incident.OpenedAt) })
	if d.Form.Team == 0 && len(d.Teams) > 0 {
		d.Form.Team = d.Teams[0].ID
	}
	if d.Form.Kind == "" {
		d.Form.Kind = "package"
	}
	if !run {
		return d, "", nil
	}
	i := slices.IndexFunc(d.Teams, func(t teamChoice) bool { return t.ID == form.Team })
	if i < 0 {
		return d, "Choose one of your teams.", nil
	}
	var err error
	d.Results, err = u.st.BlastRadius(ctx, form.Team, form.query())
	if errors.Is(err, store.ErrInvalid) {
		return d, "The query is not valid: give a package name, a file's SHA-256 (64 hex digits), a key hint or subject, or a model or dataset id.", nil
	}
	if err != nil {
		return nil, "", err
	}
	d.Ran, d.CanOpen = true, d.Teams[i].CanOpen
	return d, "", nil
}

// incidents is the list of incidents and drills, with the blast-radius
// query (run when the request has one).
func (u *ui) incidents(w http.ResponseWriter, r *http.Request, v *viewer) {
	q := r.URL.Query()
	form := readBlastForm(q)
	if len(form.Value) > maxQueryLen || len(form.PackageVersion) > maxQueryLen {
		u.message(w, http.StatusBadRequest, v, "Query too long", "Shorten the query.")
		return
	}
	d, msg, err := u.incidentsData(r.Context(), v, form, form.Value != "")
	if err != nil {
		u.serverError(w, v, err)
		return
	}
	status := http.StatusOK
	if msg != "" {
		status = http.StatusBadRequest
	}
	u.render(w, status, "incidents", v, page{Title: "Incidents and drills", Error: msg, Data: d})
}

// openIncident opens an incident in a team with the versions of the
// blast-radius query of the form.
func (u *ui) openIncident(w http.ResponseWriter, r *http.Request, v *viewer) {
	f := r.PostForm
	form := readBlastForm(f)
	if _, ok := v.teamNames[form.Team]; !ok {
		u.notFound(w, r, v)
		return
	}
	if !v.may(form.Team, store.PermIncident) {
		u.message(w, http.StatusForbidden, v, "Not allowed", "Your role in this team may not open incidents.")
		return
	}
	inc := store.Incident{TeamID: form.Team, Type: f.Get("type"), Severity: f.Get("severity"),
		Title: strings.TrimSpace(f.Get("title")), Summary: strings.ReplaceAll(strings.TrimSpace(f.Get("summary")), "\r\n", "\n")}
	var queries []store.BlastQuery
	if form.Value != "" {
		queries = append(queries, form.query())
	}
	inc, err := u.st.OpenIncident(r.Context(), actor(r, v), v.sess.login, inc, queries)
	if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrTooLarge) {
		d, _, derr := u.incidentsData(r.Context(), v, form, form.Value != "")
		if derr != nil {
			u.serverError(w, v, derr)
			return
		}
		u.render(w, http.StatusBadRequest, "incidents", v, page{Title: "Incidents and drills",
			Error: "The incident was not opened: give a title, a type and a severity. (" + err.Error() + ")", Data: d})
		return
	}
	if err != nil {
		u.serverError(w, v, err)
		return
	}
	http.Redirect(w, r, u.opts.BasePath+"/incidents/"+strconv.FormatInt(inc.ID, 10), http.StatusSeeOther)
}

type incidentData struct {
	Incident                 store.Incident
	Team                     string
	Events                   []store.IncidentEvent
	Affected                 []store.Affected
	Detect, Contain, Resolve string
	Scenario                 *store.DrillScenario
	CanUpdate, CanNote       bool
}

// loadIncident reads the incident of the path; one of another team (or
// none) is 404.
func (u *ui) loadIncident(w http.ResponseWriter, r *http.Request, v *viewer) (*incidentData, bool) {
	id, err := strconv.ParseInt(r.PathValue("incident"), 10, 64)
	if err != nil {
		u.notFound(w, r, v)
		return nil, false
	}
	inc, err := u.st.Incident(r.Context(), id)
	team, mine := v.teamNames[inc.TeamID]
	if errors.Is(err, store.ErrNotFound) || (err == nil && !mine) {
		u.notFound(w, r, v)
		return nil, false
	}
	d := &incidentData{Incident: inc, Team: team, Detect: duration(inc.TimeToDetect()),
		Contain: duration(inc.TimeToContain()), Resolve: duration(inc.TimeToResolve())}
	if err == nil {
		d.Events, err = u.st.IncidentEvents(r.Context(), id)
	}
	if err == nil {
		d.Affected, err = u.st.IncidentAffected(r.Context(), id)
	}
	d.CanUpdate, d.CanNote = v.may(inc.TeamID, store.PermIncident), v.may(inc.TeamID, store.PermIncidentNote)
	if err != nil {
		u.serverError(w, v, err)
		return nil, false
	}
	if inc.DrillID != 0 {
		if dr, err := u.st.Drill(r.Context(), inc.DrillID); err == nil {
			if sc, ok := store.DrillScenarioByID(dr.Scenario); ok {
				d.Scenario = &sc
			}
		}
	}
	return d, true
}

func (u *ui) incidentPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	d, ok := u.loadIncident(w, r, v)
	if !ok {
		return
	}
	u.render(w, http.StatusOK, "incident", v, page{Title: "Incident: " + d.Incident.Title, Data: d})
}

// incidentMarks are the state buttons: the form's action, the store's
// mark.
var incidentMarks = map[string]string{
	"detected":  store.IncidentDetected,
	"contained": store.IncidentContained,
	"resolved":  store.IncidentResolved,
}

// incidentAction adds a timeline entry (action "event") or marks the
// incident detected, contained or resolved.
func (u *ui) incidentAction(w http.ResponseWriter, r *http.Request, v *viewer) {
	d, ok := u.loadIncident(w, r, v)
	if !ok {
		return
	}
	fail := func(status int, msg string) {
		u.render(w, status, "incident", v, page{Title: "Incident: " + d.Incident.Title, Error: msg, Data: d})
	}
	action := r.PostForm.Get("action")
	var err error
	switch mark, isMark := incidentMarks[action]; {
	case action == "event":
		if !d.CanNote {
			fail(http.StatusForbidden, "Your role in this team may not add to the timeline.")
			return
		}
		text := strings.ReplaceAll(strings.TrimSpace(r.PostForm.Get("text")), "\r\n", "\n")
		_, err = u.st.AddIncidentEvent(r.Context(), actor(r, v), d.Incident.ID, v.sess.login, text)
	case isMark:
		if !d.CanUpdate {
			fail(http.StatusForbidden, "Your role in this team may not change the incident's state.")
			return
		}
		_, _, err = u.st.SetIncidentState(r.Context(), actor(r, v), d.Incident.ID, v.sess.login, mark, time.Time{})
	default:
		fail(http.StatusBadRequest, "Choose what to do.")
		return
	}
	switch {
	case errors.Is(err, store.ErrInvalid):
		fail(http.StatusBadRequest, "The change was refused: "+err.Error())
		return
	case errors.Is(err, store.ErrConflict):
		fail(http.StatusConflict, "The incident is resolved: it cannot go back.")
		return
	case err != nil:
		u.serverError(w, v, err)
		return
	}
	http.Redirect(w, r, u.opts.BasePath+"/incidents/"+strconv.FormatInt(d.Incident.ID, 10), http.StatusSeeOther)
}

// scheduleDrill schedules a drill of a scenario with the roles ticked.
func (u *ui) scheduleDrill(w http.ResponseWriter, r *http.Request, v *viewer) {
	f := r.PostForm
	team, ok := u.formTeam(w, r, v, store.PermDrill, "Your role in this team may not schedule drills.")
	if !ok {
		return
	}
	d := store.Drill{TeamID: team, Scenario: f.Get("scenario")}
	var err error
	d.ScheduledAt, err = time.Parse("2006-01-02T15:04", f.Get("scheduled_at"))
	for _, role := range f["role"] {
		d.Participants = append(d.Participants, store.DrillParticipant{Role: store.Role(role)})
	}
	if err == nil {
		d, err = u.st.ScheduleDrill(r.Context(), actor(r, v), d)
	}
	if err != nil && !errors.Is(err, store.ErrInvalid) && !errors.Is(err, store.ErrNotFound) {
		u.serverError(w, v, err)
		return
	}
	if err != nil {
		data, _, derr := u.incidentsData(r.Context(), v, blastForm{}, false)
		if derr != nil {
			u.serverError(w, v, derr)
			return
		}
		u.render(w, http.StatusBadRequest, "incidents", v, page{Title: "Incidents and drills",
			Error: "The drill was not scheduled: choose a scenario, a date and at least one role.", Data: data})
		return
	}
	http.Redirect(w, r, u.opts.BasePath+"/drills/"+strconv.FormatInt(d.ID, 10), http.StatusSeeOther)
}

type drillData struct {
	Drill    store.Drill
	Team     string
	Scenario store.DrillScenario
	Incident *store.Incident
	Detect   string
	Contain  string
	CanRun   bool
}

func (u *ui) loadDrill(w http.ResponseWriter, r *http.Request, v *viewer) (*drillData, bool) {
	id, err := strconv.ParseInt(r.PathValue("drill"), 10, 64)
	if err != nil {
		u.notFound(w, r, v)
		return nil, false
	}
	dr, err := u.st.Drill(r.Context(), id)
	team, mine := v.teamNames[dr.TeamID]
	if errors.Is(err, store.ErrNotFound) || (err == nil && !mine) {
		u.notFound(w, r, v)
		return nil, false
	}
	d := &drillData{Drill: dr, Team: team}
	d.Scenario, _ = store.DrillScenarioByID(dr.Scenario)
	if err == nil && dr.IncidentID != 0 {
		var inc store.Incident
		if inc, err = u.st.Incident(r.Context(), dr.IncidentID); err == nil {
			d.Incident, d.Detect, d.Contain = &inc, duration(inc.TimeToDetect()), duration(inc.TimeToContain())
		}
	}
	d.CanRun = v.may(dr.TeamID, store.PermDrill)
	if err != nil {
		u.serverError(w, v, err)
		return nil, false
	}
	return d, true
}

func (u *ui) drillPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	d, ok := u.loadDrill(w, r, v)
	if !ok {
		return
	}
	u.render(w, http.StatusOK, "drill", v, page{Title: "Drill: " + d.Scenario.Title, Data: d})
}

// drillAction starts a drill (its incident opens) or closes it with the
// findings and the follow-up actions, one a line.
func (u *ui) drillAction(w http.ResponseWriter, r *http.Request, v *viewer) {
	d, ok := u.loadDrill(w, r, v)
	if !ok {
		return
	}
	fail := func(status int, msg string) {
		u.render(w, status, "drill", v, page{Title: "Drill: " + d.Scenario.Title, Error: msg, Data: d})
	}
	if !d.CanRun {
		fail(http.StatusForbidden, "Your role in this team may not run drills.")
		return
	}
	var err error
	switch r.PostForm.Get("action") {
	case "start":
		var inc store.Incident
		inc, _, err = u.st.StartDrill(r.Context(), actor(r, v), d.Drill.ID, v.sess.login)
		if err == nil {
			http.Redirect(w, r, u.opts.BasePath+"/incidents/"+strconv.FormatInt(inc.ID, 10), http.StatusSeeOther)
			return
		}
	case "close":
		var follow []string
		for _, l := range strings.Split(r.PostForm.Get("follow_ups"), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				follow = append(follow, l)
			}
		}
		findings := strings.ReplaceAll(strings.TrimSpace(r.PostForm.Get("findings")), "\r\n", "\n")
		_, _, err = u.st.CloseDrill(r.Context(), actor(r, v), d.Drill.ID, v.sess.login, findings, follow)
	default:
		fail(http.StatusBadRequest, "Choose what to do.")
		return
	}
	switch {
	case errors.Is(err, store.ErrInvalid):
		fail(http.StatusBadRequest, "Give the findings (and the follow-up actions, one a line): "+err.Error())
		return
	case errors.Is(err, store.ErrConflict):
		fail(http.StatusConflict, "The drill cannot do that now: "+err.Error())
		return
	case err != nil:
		u.serverError(w, v, err)
		return
	}
	http.Redirect(w, r, u.opts.BasePath+"/drills/"+strconv.FormatInt(d.Drill.ID, 10), http.StatusSeeOther)
}
