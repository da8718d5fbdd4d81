package webui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// addUser adds a user with a password (password+login) and a role in team.
func (w *world) addUser(t *testing.T, login string, team store.Team, role store.Role) string {
	t.Helper()
	ctx := context.Background()
	u := must[store.User](t)(w.st.CreateUser(ctx, admin, login, login, hashFor(t, "password"+login)))
	if err := w.st.AddMember(ctx, admin, store.Membership{TeamID: team.ID, UserID: u.ID, Role: role}); err != nil {
		t.Fatal(err)
	}
	return login
}

// riskForm is a filled risk form.
func riskForm(csrf string, team, model int64, title string) url.Values {
	return url.Values{"csrf": {csrf}, "team": {fmt.Sprint(team)}, "model": {fmt.Sprint(model)}, "title": {title},
		"category": {"privacy"}, "description": {"the lakehouse re-identifies customers"}, "owner_role": {"legal-compliance"},
		"likelihood": {"3"}, "impact": {"5"}, "treatment": {"mitigate"}, "plan": {"aggregate by region"},
		"review_by": {time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}, "status": {"open"}}
}

// TestRiskPages: the owning role adds and edits a risk from the UI; a
// viewer sees it without a form and is refused if it posts anyway;
// another team's risk is not found; an overdue risk is marked; texts are
// escaped; a POST without the CSRF token is refused.
func TestRiskPages(t *testing.T) {
	w := newWorld(t)
	lena := w.addUser(t, "lena", w.teamA, store.RoleLegalCompliance)
	srv := w.server(t, Options{})
	legal, viewer, carol := loggedIn(t, srv, lena), loggedIn(t, srv, w.bob), loggedIn(t, srv, w.carol)

	r := legal.post("/risks", riskForm(legal.csrf("/risks/new"), w.teamA.ID, w.modelA.ID, "re-identification "+xss))
	wantStatus(t, r, http.StatusSeeOther)
	risks := must[[]store.Risk](t)(w.st.Risks(context.Background(), w.teamA.ID))
	if len(risks) != 1 || risks[0].CreatedBy != lena || risks[0].ModelID != w.modelA.ID || risks[0].Score() != 15 {
		t.Fatalf("stored %+v", risks)
	}
	rp := fmt.Sprintf("/risks/%d", risks[0].ID)
	if r.Header.Get("Location") != rp {
		t.Fatalf("redirect to %q", r.Header.Get("Location"))
	}
	// An overdue one, added as a spreadsheet would bring it.
	late := must[store.Risk](t)(w.st.CreateRisk(context.Background(), admin, store.Risk{TeamID: w.teamA.ID,
		Category: store.RiskLegalRegulatory, Title: "EU AI Act category not assessed", OwnerRole: store.RoleLegalCompliance,
		Likelihood: 4, Impact: 4, Treatment: store.TreatMitigate, ReviewBy: time.Now().AddDate(0, 0, -2), Status: store.RiskOpen}))

	page := viewer.get("/risks")
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, "re-identification &lt;script&gt;") || strings.Contains(page.body, "<script>") {
		t.Error("the register does not show the title escaped")
	}
	if !strings.Contains(page.body, `id="overdue-banner">1 risk is past its review date`) || strings.Count(page.body, `class="overdue"`) != 1 {
		t.Errorf("the overdue risk is not marked: %s", page.body)
	}
	if only := viewer.get("/risks?overdue=1"); !strings.Contains(only.body, late.Title) || strings.Contains(only.body, "re-identification") {
		t.Error("?overdue=1 does not keep only the overdue risk")
	}
	if strings.Contains(page.body, `id="add-risk"`) || strings.Contains(viewer.get(rp).body, `id="risk-form"`) {
		t.Error("a viewer is offered a form")
	}
	wantStatus(t, viewer.get("/risks/new"), http.StatusForbidden)
	wantStatus(t, viewer.post("/risks", riskForm(viewer.csrf("/risks"), w.teamA.ID, 0, "by a viewer")), http.StatusForbidden)
	wantStatus(t, viewer.post(rp, riskForm(viewer.csrf("/risks"), w.teamA.ID, 0, "by a viewer")), http.StatusForbidden)

	// The owner edits it: status and likelihood; the history shows who.
	f := riskForm(legal.csrf(rp), w.teamA.ID, w.modelA.ID, "re-identification "+xss)
	f.Set("status", "in-treatment")
	f.Set("likelihood", "2")
	wantStatus(t, legal.post(rp, f), http.StatusSeeOther)
	got := must[store.Risk](t)(w.st.Risk(context.Background(), risks[0].ID))
	if got.Status != store.RiskInTreatment || got.Likelihood != 2 || got.UpdatedBy != lena {
		t.Fatalf("after the edit %+v", got)
	}
	if h := legal.get(rp).body; !strings.Contains(h, "risk.update") || !strings.Contains(h, lena) {
		t.Error("the history does not show the change")
	}
	// Bad input is shown, not stored.
	f.Set("likelihood", "9")
	if r := legal.post(rp, f); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, `id="error"`) {
		t.Errorf("likelihood 9: %d", r.StatusCode)
	}
	f.Set("likelihood", "2")
	f.Set("model", fmt.Sprint(w.modelB.ID)) // another team's model
	if r := legal.post(rp, f); r.StatusCode != http.StatusBadRequest {
		t.Errorf("another team's model: %d", r.StatusCode)
	}
	if again := must[store.Risk](t)(w.st.Risk(context.Background(), risks[0].ID)); again != got {
		t.Errorf("a refused change was stored: %+v", again)
	}

	// Team walls and CSRF.
	wantStatus(t, carol.get(rp), http.StatusNotFound)
	if strings.Contains(carol.get("/risks").body, "re-identification") {
		t.Error("team b sees team a's register")
	}
	wantStatus(t, carol.post("/risks", riskForm(carol.csrf("/risks"), w.teamA.ID, 0, "into team a")), http.StatusNotFound)
	noCSRF := riskForm("", w.teamA.ID, 0, "no token")
	noCSRF.Del("csrf")
	wantStatus(t, legal.post("/risks", noCSRF), http.StatusForbidden)
	if n := len(must[[]store.Risk](t)(w.st.Risks(context.Background(), w.teamA.ID))); n != 2 {
		t.Fatalf("%d risks after the refusals, want 2", n)
	}
}

// TestThreatPages: security pre-fills and saves a model's threat model; a
// viewer sees it without a form and is refused if it posts anyway;
// another team does not see it; a technique not in ATLAS is refused.
func TestThreatPages(t *testing.T) {
	w := newWorld(t)
	srv := w.server(t, Options{})
	sec, viewer, carol := loggedIn(t, srv, w.alice), loggedIn(t, srv, w.bob), loggedIn(t, srv, w.carol)
	tp := fmt.Sprintf("/models/%d/threats", w.modelA.ID)
	if !strings.Contains(sec.get(fmt.Sprintf("/models/%d", w.modelA.ID)).body, `href="`+tp+`"`) {
		t.Error("the model page does not link its threat model")
	}
	wantStatus(t, sec.post(tp+"/prefill", url.Values{"csrf": {sec.csrf(tp)}}), http.StatusSeeOther)
	tm := must[store.ThreatModel](t)(w.st.ThreatModel(context.Background(), w.modelA.ID))
	if len(tm.Threats) != 2 || tm.Threats[0].Technique != "AML.T0010.003" || tm.UpdatedBy != w.alice {
		t.Fatalf("pre-filled %+v", tm)
	}
	form := url.Values{"csrf": {sec.csrf(tp)}, "rows": {"3"}, "assets": {"weights " + xss}, "entry_points": {"the hub"},
		"technique-0": {"AML.T0010.003"}, "why-0": {"pickle"}, "mitigations-0": {"signed"}, "controls-0": {"verify, scan"}, "residual-0": {"low"},
		"technique-1": {"AML.T0011.000"}, "remove-1": {"1"}, "residual-1": {"high"},
		"technique-2": {"AML.T0051 LLM Prompt Injection"}, "residual-2": {"medium"}}
	wantStatus(t, sec.post(tp, form), http.StatusSeeOther)
	tm = must[store.ThreatModel](t)(w.st.ThreatModel(context.Background(), w.modelA.ID))
	if len(tm.Threats) != 2 || tm.Threats[0].Residual != "low" || strings.Join(tm.Threats[0].Controls, " ") != "verify scan" ||
		tm.Threats[1].Technique != "AML.T0051" {
		t.Fatalf("saved %+v", tm)
	}
	form.Set("technique-2", "AML.T9999")
	if r := sec.post(tp, form); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "not a MITRE ATLAS") {
		t.Errorf("a technique not in ATLAS: %d", r.StatusCode)
	}
	form.Set("rows", "1000")
	wantStatus(t, sec.post(tp, form), http.StatusBadRequest)

	page := viewer.get(tp)
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.body, `id="threat-form"`) || strings.Contains(page.body, `id="prefill"`) ||
		!strings.Contains(page.body, "LLM Prompt Injection") || !strings.Contains(page.body, "weights &lt;script&gt;") {
		t.Errorf("the viewer's page: %s", page.body)
	}
	form.Set("rows", "3")
	form.Set("technique-2", "AML.T0051")
	form.Set("csrf", viewer.csrf(tp))
	wantStatus(t, viewer.post(tp, form), http.StatusForbidden)
	wantStatus(t, viewer.post(tp+"/prefill", url.Values{"csrf": {viewer.csrf(tp)}}), http.StatusForbidden)
	wantStatus(t, carol.get(tp), http.StatusNotFound)
	wantStatus(t, carol.post(tp+"/prefill", url.Values{"csrf": {carol.csrf("/risks")}}), http.StatusNotFound)
	if again := must[store.ThreatModel](t)(w.st.ThreatModel(context.Background(), w.modelA.ID)); len(again.Threats) != 2 ||
		!again.UpdatedAt.Equal(tm.UpdatedAt) {
		t.Errorf("a refused change was stored: %+v", again)
	}
}

// FuzzThreatsForm: any form body gives at most store.MaxThreats+1
// techniques, each with an id, or a message; never a panic.
func FuzzThreatsForm(f *testing.F) {
	f.Add("rows=2&technique-0=AML.T0051+LLM&controls-0=scan,+deps&technique-1=&remove-0=")
	f.Add("rows=65&technique-64=aml.t0020")
	f.Add("rows=-1")
	f.Add("rows=99999999999999999999")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		var tm store.ThreatModel
		if msg := threatsFromForm(form, &tm); msg != "" {
			return
		}
		if len(tm.Threats) > store.MaxThreats+1 {
			t.Fatalf("%d techniques", len(tm.Threats))
		}
		for _, th := range tm.Threats {
			if th.Technique == "" || strings.Contains(th.Technique, " ") {
				t.Fatalf("technique %q", th.Technique)
			}
		}
	})
}
