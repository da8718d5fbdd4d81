package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/violet-mlsecops/violet/deps"
	"github.com/violet-mlsecops/violet/store"
)

// The permissions of incidents and drills (store.RolePermissions).
const (
	PermIncident     = store.PermIncident
	PermIncidentNote = store.PermIncidentNote
	PermDrill        = store.PermDrill
)

// The JSON shapes of incidents and drills (openapi.json).
type (
	affectedJSON struct {
		Model   string `json:"model"`
		Version string `json:"version"`
		Label   string `json:"label,omitempty"`
		Why     string `json:"why"`
		Subject string `json:"subject"`
		How     string `json:"how,omitempty"`
	}
	incidentJSON struct {
		ID          int64      `json:"id"`
		Type        string     `json:"type"`
		Severity    string     `json:"severity"`
		Title       string     `json:"title"`
		Summary     string     `json:"summary"`
		State       string     `json:"state"`
		BeganAt     *time.Time `json:"began_at,omitempty"`
		DetectedAt  *time.Time `json:"detected_at,omitempty"`
		ContainedAt *time.Time `json:"contained_at,omitempty"`
		ResolvedAt  *time.Time `json:"resolved_at,omitempty"`
		Drill       int64      `json:"drill,omitempty"`
		OpenedBy    string     `json:"opened_by"`
		OpenedAt    time.Time  `json:"opened_at"`
		// The response times, in seconds, once both ends are known.
		TimeToDetect  *int64 `json:"time_to_detect_s,omitempty"`
		TimeToContain *int64 `json:"time_to_contain_s,omitempty"`
		TimeToResolve *int64 `json:"time_to_resolve_s,omitempty"`
		// Timeline and Affected are in the answer about one incident.
		Timeline []eventJSON    `json:"timeline,omitempty"`
		Affected []affectedJSON `json:"affected,omitempty"`
	}
	eventJSON struct {
		ID   int64     `json:"id"`
		At   time.Time `json:"at"`
		Who  string    `json:"who"`
		Text string    `json:"text"`
	}
	scenarioJSON struct {
		ID        string   `json:"id"`
		Title     string   `json:"title"`
		Type      string   `json:"type"`
		Severity  string   `json:"severity"`
		Inject    string   `json:"inject"`
		Steps     []string `json:"steps"`
		Detected  string   `json:"detected"`
		Contained string   `json:"contained"`
		Roles     []string `json:"roles"`
	}
	participantJSON struct {
		Role  string `json:"role"`
		Login string `json:"login,omitempty"`
	}
	drillJSON struct {
		ID           int64             `json:"id"`
		Scenario     string            `json:"scenario"`
		ScheduledAt  time.Time         `json:"scheduled_at"`
		ScheduledBy  string            `json:"scheduled_by"`
		Participants []participantJSON `json:"participants,omitempty"`
		StartedAt    *time.Time        `json:"started_at,omitempty"`
		ClosedAt     *time.Time        `json:"closed_at,omitempty"`
		Incident     int64             `json:"incident,omitempty"`
		Findings     string            `json:"findings,omitempty"`
		FollowUps    []string          `json:"follow_ups,omitempty"`
	}
	// blastJSON is a blast-radius query in a request body: the query
	// parameters of GET /api/v1/blast-radius.
	blastJSON struct {
		File    string `json:"file,omitempty"`
		Package string `json:"package,omitempty"`
		Version string `json:"version,omitempty"`
		Signer  string `json:"signer,omitempty"`
		Base    string `json:"base,omitempty"`
		Dataset string `json:"dataset,omitempty"`
	}
)

// blastKeys are the query parameters of a blast-radius query.
var blastKeys = []string{"file", "package", "version", "signer", "base", "dataset"}

// query is the store's query, the package name PEP 503-normalized.
func (b blastJSON) query() store.BlastQuery {
	q := store.BlastQuery{File: b.File, Version: b.Version, Signer: b.Signer, Base: b.Base, Dataset: b.Dataset}
	if b.Package != "" {
		q.Package = deps.PEP503Name(b.Package)
	}
	return q
}

func blastFromURL(v url.Values) blastJSON {
	return blastJSON{File: v.Get("file"), Package: v.Get("package"), Version: v.Get("version"), Signer: v.Get("signer"),
		Base: v.Get("base"), Dataset: v.Get("dataset")}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func seconds(d time.Duration, ok bool) *int64 {
	if !ok {
		return nil
	}
	n := int64(d / time.Second)
	return &n
}

func toAffected(a store.Affected) affectedJSON {
	return affectedJSON{a.ModelName, a.Digest, a.Label, a.Why, a.Subject, a.How}
}

func toIncident(i store.Incident) incidentJSON {
	return incidentJSON{ID: i.ID, Type: i.Type, Severity: i.Severity, Title: i.Title, Summary: i.Summary, State: i.State,
		BeganAt: timePtr(i.BeganAt), DetectedAt: timePtr(i.DetectedAt), ContainedAt: timePtr(i.ContainedAt),
		ResolvedAt: timePtr(i.ResolvedAt), Drill: i.DrillID, OpenedBy: i.OpenedBy, OpenedAt: i.OpenedAt,
		TimeToDetect: seconds(i.TimeToDetect()), TimeToContain: seconds(i.TimeToContain()),
		TimeToResolve: seconds(i.TimeToResolve())}
}

func toDrill(d store.Drill) drillJSON {
	out := drillJSON{ID: d.ID, Scenario: d.Scenario, ScheduledAt: d.ScheduledAt, ScheduledBy: d.ScheduledBy,
		StartedAt: timePtr(d.StartedAt), ClosedAt: timePtr(d.ClosedAt), Incident: d.IncidentID, Findings: d.Findings,
		FollowUps: d.FollowUps}
	for _, p := range d.Participants {
		out.Participants = append(out.Participants, participantJSON{string(p.Role), p.Login})
	}
	return out
}

func toScenario(sc store.DrillScenario) scenarioJSON {
	out := scenarioJSON{sc.ID, sc.Title, sc.Type, sc.Severity, sc.Inject, sc.Steps, sc.Detected, sc.Contained, nil}
	for _, r := range sc.Roles {
		out.Roles = append(out.Roles, string(r))
	}
	return out
}

// who is the person a token acts for, as an incident's timeline names
// them: the user's login.
func (s *Server) who(c *call) (string, error) {
	return s.st.UserLogin(c.ctx, c.token.UserID)
}

// teamOwned loads the record whose id is the path parameter name, with
// get, when it belongs to the token's team (team says whose it is): one
// of another team, a missing one and a malformed id are the same 404, so
// that no team learns what another holds.
func teamOwned[T any](c *call, name string, get func(context.Context, int64) (T, error), team func(T) int64) (T, error) {
	var zero T
	id, err := pathID(c, name)
	if err != nil {
		return zero, err
	}
	v, err := get(c.ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && team(v) != c.token.TeamID {
		return zero, fail(http.StatusNotFound, "not_found", "%s %d: not found", name, id)
	}
	return v, err
}

// pathID parses the path parameter name as an id; anything else is 404.
func pathID(c *call, name string) (int64, error) {
	raw := c.r.PathValue(name)
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, fail(http.StatusNotFound, "not_found", "%s %q: not found", name, clipText(raw))
	}
	return id, nil
}

// incident returns the token's team's incident of the path; another
// team's is 404, as if it did not exist.
func (s *Server) incident(c *call) (store.Incident, error) {
	return teamOwned(c, "incident", s.st.Incident, func(i store.Incident) int64 { return i.TeamID })
}

// drill returns the token's team's drill of the path (another team's is
// 404).
func (s *Server) drill(c *call) (store.Drill, error) {
	return teamOwned(c, "drill", s.st.Drill, func(d store.Drill) int64 { return d.TeamID })
}

// blastRadius answers which versions of the team's models hold a file,
// depend on a package (version), were signed by a key, or derive from a
// model or dataset: exactly one of file, package (with version), signer,
// base and dataset.
func (s *Server) blastRadius(c *call) error {
	q, _, err := pageQuery(c)
	if err != nil {
		return err
	}
	for k := range q {
		if k != "limit" && k != "cursor" && !containsString(blastKeys, k) {
			return fail(http.StatusBadRequest, "invalid_parameter", "unknown parameter %q", clipText(k))
		}
	}
	list, err := s.st.BlastRadius(c.ctx, c.token.TeamID, blastFromURL(q).query())
	if errors.Is(err, store.ErrInvalid) {
		return fail(http.StatusBadRequest, "invalid_parameter", "%v", err)
	}
	if err != nil {
		return err
	}
	return paginate(c, list, toAffected)
}

func containsString(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Server) listIncidents(c *call) error {
	list, err := s.st.Incidents(c.ctx, c.token.TeamID)
	if err != nil {
		return err
	}
	return paginate(c, list, toIncident)
}

// incidentDetail writes an incident with its timeline and affected
// versions.
func (s *Server) incidentDetail(c *call, status int, i store.Incident) error {
	out := toIncident(i)
	events, err := s.st.IncidentEvents(c.ctx, i.ID)
	if err != nil {
		return err
	}
	affected, err := s.st.IncidentAffected(c.ctx, i.ID)
	if err != nil {
		return err
	}
	out.Timeline, out.Affected = []eventJSON{}, []affectedJSON{}
	for _, e := range events {
		out.Timeline = append(out.Timeline, eventJSON{e.ID, e.At, e.Who, e.Text})
	}
	for _, a := range affected {
		out.Affected = append(out.Affected, toAffected(a))
	}
	writeJSON(c.w, status, out)
	return nil
}

// maxQueries bounds the blast-radius queries of one request.
const maxQueries = 20

func queries(in []blastJSON) ([]store.BlastQuery, error) {
	if len(in) > maxQueries {
		return nil, fail(http.StatusUnprocessableEntity, "invalid", "at most %d blast-radius queries", maxQueries)
	}
	var out []store.BlastQuery
	for _, b := range in {
		out = append(out, b.query())
	}
	return out, nil
}

func (s *Server) openIncident(c *call) error {
	var in struct {
		Type        string      `json:"type"`
		Severity    string      `json:"severity"`
		Title       string      `json:"title"`
		Summary     string      `json:"summary"`
		BeganAt     *time.Time  `json:"began_at"`
		DetectedAt  *time.Time  `json:"detected_at"`
		BlastRadius []blastJSON `json:"blast_radius"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	qs, err := queries(in.BlastRadius)
	if err != nil {
		return err
	}
	who, err := s.who(c)
	if err != nil {
		return err
	}
	i := store.Incident{TeamID: c.token.TeamID, Type: in.Type, Severity: in.Severity, Title: in.Title, Summary: in.Summary}
	if in.BeganAt != nil {
		i.BeganAt = *in.BeganAt
	}
	if in.DetectedAt != nil {
		i.DetectedAt = *in.DetectedAt
	}
	i, err = s.st.OpenIncident(c.ctx, c.actor, who, i, qs)
	if err != nil {
		return err
	}
	return s.incidentDetail(c, http.StatusCreated, i)
}

func (s *Server) getIncident(c *call) error {
	i, err := s.incident(c)
	if err != nil {
		return err
	}
	return s.incidentDetail(c, http.StatusOK, i)
}

func (s *Server) addIncidentEvent(c *call) error {
	var in struct {
		Text string `json:"text"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	i, err := s.incident(c)
	if err != nil {
		return err
	}
	who, err := s.who(c)
	if err != nil {
		return err
	}
	e, err := s.st.AddIncidentEvent(c.ctx, c.actor, i.ID, who, in.Text)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, eventJSON{e.ID, e.At, e.Who, e.Text})
	return nil
}

func (s *Server) setIncidentState(c *call) error {
	var in struct {
		State string     `json:"state"`
		At    *time.Time `json:"at"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	i, err := s.incident(c)
	if err != nil {
		return err
	}
	who, err := s.who(c)
	if err != nil {
		return err
	}
	var at time.Time
	if in.At != nil {
		at = *in.At
	}
	i, _, err = s.st.SetIncidentState(c.ctx, c.actor, i.ID, who, in.State, at)
	if err != nil {
		return err
	}
	return s.incidentDetail(c, http.StatusOK, i)
}

func (s *Server) attachAffected(c *call) error {
	var in struct {
		BlastRadius []blastJSON `json:"blast_radius"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	qs, err := queries(in.BlastRadius)
	if err != nil {
		return err
	}
	i, err := s.incident(c)
	if err != nil {
		return err
	}
	who, err := s.who(c)
	if err != nil {
		return err
	}
	if _, err := s.st.AttachAffected(c.ctx, c.actor, i.ID, who, qs); err != nil {
		return err
	}
	return s.incidentDetail(c, http.StatusOK, i)
}

func (s *Server) listDrillScenarios(c *call) error {
	return paginate(c, store.DrillScenarios(), toScenario)
}

func (s *Server) listDrills(c *call) error {
	list, err := s.st.Drills(c.ctx, c.token.TeamID)
	if err != nil {
		return err
	}
	return paginate(c, list, toDrill)
}

func (s *Server) scheduleDrill(c *call) error {
	var in struct {
		Scenario     string            `json:"scenario"`
		ScheduledAt  time.Time         `json:"scheduled_at"`
		Participants []participantJSON `json:"participants"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	d := store.Drill{TeamID: c.token.TeamID, Scenario: in.Scenario, ScheduledAt: in.ScheduledAt}
	for _, p := range in.Participants {
		d.Participants = append(d.Participants, store.DrillParticipant{Role: store.Role(p.Role), Login: p.Login})
	}
	d, err := s.st.ScheduleDrill(c.ctx, c.actor, d)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, toDrill(d))
	return nil
}

func (s *Server) getDrill(c *call) error {
	d, err := s.drill(c)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, toDrill(d))
	return nil
}

// startDrill starts a drill (again: its incident, unchanged) and answers
// with its incident.
func (s *Server) startDrill(c *call) error {
	d, err := s.drill(c)
	if err != nil {
		return err
	}
	who, err := s.who(c)
	if err != nil {
		return err
	}
	i, _, err := s.st.StartDrill(c.ctx, c.actor, d.ID, who)
	if err != nil {
		return err
	}
	return s.incidentDetail(c, http.StatusOK, i)
}

func (s *Server) closeDrill(c *call) error {
	var in struct {
		Findings  string   `json:"findings"`
		FollowUps []string `json:"follow_ups"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	d, err := s.drill(c)
	if err != nil {
		return err
	}
	who, err := s.who(c)
	if err != nil {
		return err
	}
	d, _, err = s.st.CloseDrill(c.ctx, c.actor, d.ID, who, in.Findings, in.FollowUps)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, toDrill(d))
	return nil
}
