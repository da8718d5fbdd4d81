package server

import (
	"net/http"
	"time"

	"github.com/violet-mlsecops/violet/internal/atlas"
	"github.com/violet-mlsecops/violet/store"
	"github.com/violet-mlsecops/violet/threat"
)

// The JSON shapes of the risk register and threat models (openapi.json).
type (
	riskJSON struct {
		ID          int64     `json:"id"`
		Model       string    `json:"model,omitempty"`
		Category    string    `json:"category"`
		Title       string    `json:"title"`
		Description string    `json:"description"`
		OwnerRole   string    `json:"owner_role"`
		Likelihood  int       `json:"likelihood"`
		Impact      int       `json:"impact"`
		Score       int       `json:"score"`
		Treatment   string    `json:"treatment"`
		Plan        string    `json:"plan"`
		ReviewBy    string    `json:"review_by"`
		Status      string    `json:"status"`
		Overdue     bool      `json:"overdue"`
		CreatedBy   string    `json:"created_by"`
		CreatedAt   time.Time `json:"created_at"`
		UpdatedBy   string    `json:"updated_by"`
		UpdatedAt   time.Time `json:"updated_at"`
	}
	// riskInput is the body of POST /risks and PUT /risks/{risk}.
	riskInput struct {
		Model       string `json:"model"`
		Category    string `json:"category"`
		Title       string `json:"title"`
		Description string `json:"description"`
		OwnerRole   string `json:"owner_role"`
		Likelihood  int    `json:"likelihood"`
		Impact      int    `json:"impact"`
		Treatment   string `json:"treatment"`
		Plan        string `json:"plan"`
		ReviewBy    string `json:"review_by"`
		Status      string `json:"status"`
	}
	techniqueJSON struct {
		ID          string   `json:"id"`
		Name        string   `json:"name,omitempty"`
		Why         string   `json:"why"`
		Mitigations string   `json:"mitigations"`
		Controls    []string `json:"controls"`
		Residual    string   `json:"residual"`
	}
	threatModelJSON struct {
		Model       string          `json:"model"`
		Assets      string          `json:"assets"`
		EntryPoints string          `json:"entry_points"`
		Techniques  []techniqueJSON `json:"techniques"`
		UpdatedBy   string          `json:"updated_by,omitempty"`
		UpdatedAt   *time.Time      `json:"updated_at,omitempty"`
	}
	signalJSON struct {
		Signal  string `json:"signal"`
		Because string `json:"because"`
	}
	prefillJSON struct {
		Signals     []signalJSON    `json:"signals"`
		Added       []string        `json:"added"`
		ThreatModel threatModelJSON `json:"threat_model"`
	}
)

// toRisk converts a risk; names gives the names of the team's models.
func toRisk(r store.Risk, names map[int64]string, now time.Time) riskJSON {
	return riskJSON{ID: r.ID, Model: names[r.ModelID], Category: r.Category, Title: r.Title, Description: r.Description,
		OwnerRole: string(r.OwnerRole), Likelihood: r.Likelihood, Impact: r.Impact, Score: r.Score(),
		Treatment: r.Treatment, Plan: r.Plan, ReviewBy: r.ReviewBy.Format(time.DateOnly), Status: r.Status,
		Overdue: r.Overdue(now), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedBy: r.UpdatedBy, UpdatedAt: r.UpdatedAt}
}

func toThreatModel(name string, tm store.ThreatModel) threatModelJSON {
	out := threatModelJSON{Model: name, Assets: tm.Assets, EntryPoints: tm.EntryPoints, Techniques: []techniqueJSON{},
		UpdatedBy: tm.UpdatedBy}
	if !tm.UpdatedAt.IsZero() {
		out.UpdatedAt = &tm.UpdatedAt
	}
	for _, t := range tm.Threats {
		n, _ := atlas.Technique(t.Technique)
		out.Techniques = append(out.Techniques, techniqueJSON{ID: t.Technique, Name: n, Why: t.Why,
			Mitigations: t.Mitigations, Controls: t.Controls, Residual: t.Residual})
	}
	return out
}

// modelNames returns the names of the token's team's models by id.
func (s *Server) modelNames(c *call) (map[int64]string, error) {
	models, err := s.st.Models(c.ctx, c.token.TeamID)
	if err != nil {
		return nil, err
	}
	out := map[int64]string{}
	for _, m := range models {
		out[m.ID] = m.Name
	}
	return out, nil
}

// toStoreRisk converts a request's risk: the model is named in the token's
// team (another team's is 404), the review date is a date.
func (s *Server) toStoreRisk(c *call, in riskInput) (store.Risk, map[int64]string, error) {
	names, err := s.modelNames(c)
	if err != nil {
		return store.Risk{}, nil, err
	}
	r := store.Risk{TeamID: c.token.TeamID, Category: in.Category, Title: in.Title, Description: in.Description,
		OwnerRole: store.Role(in.OwnerRole), Likelihood: in.Likelihood, Impact: in.Impact, Treatment: in.Treatment,
		Plan: in.Plan, Status: in.Status}
	if in.Model != "" {
		for id, n := range names {
			if n == in.Model {
				r.ModelID = id
			}
		}
		if r.ModelID == 0 {
			return store.Risk{}, nil, fail(http.StatusNotFound, "not_found", "model %q: not found", clipText(in.Model))
		}
	}
	if r.ReviewBy, err = time.Parse(time.DateOnly, in.ReviewBy); err != nil {
		return store.Risk{}, nil, fail(http.StatusUnprocessableEntity, "invalid", "review_by %q: want a date, YYYY-MM-DD", clipText(in.ReviewBy))
	}
	return r, names, nil
}

func (s *Server) listRisks(c *call) error {
	q, _, err := pageQuery(c)
	if err != nil {
		return err
	}
	overdue := false
	switch v := q.Get("overdue"); v {
	case "", "false":
	case "true":
		overdue = true
	default:
		return fail(http.StatusBadRequest, "invalid_parameter", "overdue %q: want true or false", clipText(v))
	}
	category := q.Get("category")
	risks, err := s.st.Risks(c.ctx, c.token.TeamID)
	if err != nil {
		return err
	}
	names, err := s.modelNames(c)
	if err != nil {
		return err
	}
	now := time.Now()
	var out []store.Risk
	for _, r := range risks {
		if (!overdue || r.Overdue(now)) && (category == "" || r.Category == category) {
			out = append(out, r)
		}
	}
	return paginate(c, out, func(r store.Risk) riskJSON { return toRisk(r, names, now) })
}

func (s *Server) createRisk(c *call) error {
	var in riskInput
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.Status == "" {
		in.Status = store.RiskOpen
	}
	r, names, err := s.toStoreRisk(c, in)
	if err != nil {
		return err
	}
	if r, err = s.st.CreateRisk(c.ctx, c.actor, r); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, toRisk(r, names, time.Now()))
	return nil
}

// risk returns the request's {risk} of the token's team; another team's
// is 404, as a missing one.
func (s *Server) risk(c *call) (store.Risk, error) {
	return teamOwned(c, "risk", s.st.Risk, func(r store.Risk) int64 { return r.TeamID })
}

func (s *Server) getRisk(c *call) error {
	r, err := s.risk(c)
	if err != nil {
		return err
	}
	names, err := s.modelNames(c)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, toRisk(r, names, time.Now()))
	return nil
}

// updateRisk replaces the fields of a risk; every field is given (status
// too: a risk is never reopened or closed by leaving it out).
func (s *Server) updateRisk(c *call) error {
	var in riskInput
	if err := decode(c, &in); err != nil {
		return err
	}
	old, err := s.risk(c)
	if err != nil {
		return err
	}
	if in.Status == "" {
		return fail(http.StatusUnprocessableEntity, "invalid", "status is required: open, in-treatment or closed")
	}
	r, names, err := s.toStoreRisk(c, in)
	if err != nil {
		return err
	}
	r.ID = old.ID
	if r, err = s.st.UpdateRisk(c.ctx, c.actor, r); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, toRisk(r, names, time.Now()))
	return nil
}

func (s *Server) getThreatModel(c *call) error {
	m, err := s.model(c)
	if err != nil {
		return err
	}
	tm, err := s.st.ThreatModel(c.ctx, m.ID)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, toThreatModel(m.Name, tm))
	return nil
}

func (s *Server) putThreatModel(c *call) error {
	var in struct {
		Assets      string          `json:"assets"`
		EntryPoints string          `json:"entry_points"`
		Techniques  []techniqueJSON `json:"techniques"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	m, err := s.model(c)
	if err != nil {
		return err
	}
	tm := store.ThreatModel{ModelID: m.ID, Assets: in.Assets, EntryPoints: in.EntryPoints}
	for _, t := range in.Techniques {
		tm.Threats = append(tm.Threats, store.Threat{Technique: t.ID, Why: t.Why, Mitigations: t.Mitigations,
			Controls: t.Controls, Residual: t.Residual})
	}
	if tm, err = s.st.PutThreatModel(c.ctx, c.actor, tm); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, toThreatModel(m.Name, tm))
	return nil
}

// prefillThreatModel adds to the model's threat model the techniques that
// what the inventory knows of it brings (package threat), saves it, and
// answers with the signals, the techniques added and the threat model.
func (s *Server) prefillThreatModel(c *call) error {
	m, err := s.model(c)
	if err != nil {
		return err
	}
	found, err := threat.Signals(c.ctx, s.st, m.ID)
	if err != nil {
		return err
	}
	tm, err := s.st.ThreatModel(c.ctx, m.ID)
	if err != nil {
		return err
	}
	tm, added := threat.Prefill(tm, found)
	if tm, err = s.st.PutThreatModel(c.ctx, c.actor, tm); err != nil {
		return err
	}
	out := prefillJSON{Signals: []signalJSON{}, Added: added, ThreatModel: toThreatModel(m.Name, tm)}
	if out.Added == nil {
		out.Added = []string{}
	}
	for _, f := range found {
		out.Signals = append(out.Signals, signalJSON{string(f.Signal), f.Because})
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}
