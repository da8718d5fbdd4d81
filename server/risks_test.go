package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// TestRiskRegisterAPI: legal-compliance adds a privacy risk on a model of
// its team; the register lists it, with overdue ones filtered by
// ?overdue=true; an update is recorded with what it changed; another
// team's risk and model do not exist; bad input is refused with nothing
// stored.
func TestRiskRegisterAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, Options{})
		alpha, beta := e.team("alpha"), e.team("beta")
		legal := e.token(alpha, "lena", store.RoleLegalCompliance)
		viewer := e.token(alpha, "vic", store.RoleViewer)
		other := e.token(beta, "bea", store.RoleLegalCompliance)
		_, files := modelDir(t)
		e.putModel(e.token(alpha, "ml", store.RoleMLEngineer), "scorer", files)
		e.putModel(e.token(beta, "ml-b", store.RoleMLEngineer), "beta-model", files)

		in := map[string]any{"model": "scorer", "category": "privacy", "title": "lakehouse re-identifies customers",
			"description": "scores joined with addresses in the lakehouse", "owner_role": "legal-compliance",
			"likelihood": 3, "impact": 5, "treatment": "mitigate", "plan": "aggregate by region",
			"review_by": time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}
		var r riskJSON
		e.must(http.StatusCreated, e.do("POST", "/api/v1/risks", legal, in)).decode(t, &r)
		if r.ID == 0 || r.Model != "scorer" || r.Score != 15 || r.Status != "open" || r.Overdue || r.CreatedBy != "token:2" {
			t.Fatalf("created %+v", r)
		}
		// An overdue one (brought from a spreadsheet), and a closed one
		// past its date, which is not overdue.
		late := map[string]any{"category": "legal-regulatory", "title": "EU AI Act: high-risk (annex III, credit)",
			"owner_role": "legal-compliance", "likelihood": 4, "impact": 4, "treatment": "mitigate",
			"review_by": time.Now().AddDate(0, 0, -3).Format(time.DateOnly)}
		var overdue riskJSON
		e.must(http.StatusCreated, e.do("POST", "/api/v1/risks", legal, late)).decode(t, &overdue)
		late["title"], late["status"] = "closed one", "closed"
		e.must(http.StatusCreated, e.do("POST", "/api/v1/risks", legal, late))

		var page pageJSON[riskJSON]
		e.must(http.StatusOK, e.do("GET", "/api/v1/risks", viewer, nil)).decode(t, &page)
		if len(page.Items) != 3 || page.Items[0].ID != overdue.ID || !page.Items[0].Overdue {
			t.Fatalf("register %+v", page.Items)
		}
		e.must(http.StatusOK, e.do("GET", "/api/v1/risks?overdue=true", viewer, nil)).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != overdue.ID {
			t.Fatalf("overdue %+v", page.Items)
		}
		e.must(http.StatusOK, e.do("GET", "/api/v1/risks?category=privacy", viewer, nil)).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != r.ID {
			t.Fatalf("privacy %+v", page.Items)
		}
		if got := e.do("GET", "/api/v1/risks?overdue=yes", viewer, nil); got.status != http.StatusBadRequest {
			t.Errorf("overdue=yes: %d", got.status)
		}

		// The update: a new review date and a lower likelihood.
		rp := fmt.Sprintf("/api/v1/risks/%d", r.ID)
		in["likelihood"], in["status"] = 2, "in-treatment"
		var u riskJSON
		e.must(http.StatusOK, e.do("PUT", rp, legal, in)).decode(t, &u)
		if u.Likelihood != 2 || u.Status != "in-treatment" || u.Score != 10 {
			t.Fatalf("updated %+v", u)
		}
		recs, err := e.st.AuditLog(context.Background(), 0, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		last := recs[len(recs)-1]
		if last.Action != "risk.update" || last.Object != fmt.Sprintf("risk/%d", r.ID) ||
			!strings.Contains(last.Detail, `"likelihood":[3,2]`) || !strings.Contains(last.Detail, `"status":["open","in-treatment"]`) {
			t.Fatalf("audit %+v", last)
		}
		delete(in, "status")
		if got := e.do("PUT", rp, legal, in); got.status != http.StatusUnprocessableEntity {
			t.Errorf("an update without status: %d %s", got.status, got.body)
		}

		// Team walls.
		for _, got := range []response{
			e.do("GET", rp, other, nil),
			e.do("PUT", rp, other, map[string]any{"category": "privacy", "title": "x", "owner_role": "hr", "likelihood": 1,
				"impact": 1, "treatment": "accept", "review_by": "2030-01-01", "status": "closed"}),
			e.do("POST", "/api/v1/risks", legal, map[string]any{"model": "beta-model", "category": "privacy", "title": "x",
				"owner_role": "hr", "likelihood": 1, "impact": 1, "treatment": "accept", "review_by": "2030-01-01"}),
			e.do("GET", "/api/v1/risks/nine", legal, nil),
			e.do("GET", "/api/v1/risks/999999", legal, nil),
		} {
			if got.status != http.StatusNotFound || got.code() != "not_found" {
				t.Errorf("%d %s, want 404", got.status, got.body)
			}
		}
		e.must(http.StatusOK, e.do("GET", "/api/v1/risks", other, nil)).decode(t, &page)
		if len(page.Items) != 0 {
			t.Fatalf("team beta sees %+v", page.Items)
		}

		// Bad input.
		head, err := e.st.AuditHead(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]struct {
			change func(map[string]any)
			status int
		}{
			"likelihood 6":   {func(m map[string]any) { m["likelihood"] = 6 }, 422},
			"category":       {func(m map[string]any) { m["category"] = "finance" }, 422},
			"owner role":     {func(m map[string]any) { m["owner_role"] = "ceo" }, 422},
			"no review date": {func(m map[string]any) { delete(m, "review_by") }, 422},
			"a time":         {func(m map[string]any) { m["review_by"] = "2030-01-01T00:00:00Z" }, 422},
			"unknown field":  {func(m map[string]any) { m["severity"] = "high" }, 400},
			"text impact":    {func(m map[string]any) { m["impact"] = "high" }, 400},
			"empty title":    {func(m map[string]any) { m["title"] = "" }, 422},
		} {
			body := map[string]any{"category": "privacy", "title": "t", "owner_role": "hr", "likelihood": 1, "impact": 1,
				"treatment": "accept", "review_by": "2030-01-01"}
			c.change(body)
			if got := e.do("POST", "/api/v1/risks", legal, body); got.status != c.status {
				t.Errorf("%s: %d %s, want %d", name, got.status, got.body, c.status)
			}
		}
		if now, _ := e.st.AuditHead(context.Background()); now != head {
			t.Error("a refused risk was recorded")
		}
	})
}

// TestThreatModelAPI: security pre-fills the threat model of a model with
// a pickle checkpoint, edits it, and an ML engineer reads it; techniques
// not in ATLAS and unknown controls are refused; another team's model does
// not exist.
func TestThreatModelAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, Options{})
		alpha, beta := e.team("alpha"), e.team("beta")
		sec := e.token(alpha, "sam", store.RoleSecurity)
		ml := e.token(alpha, "mia", store.RoleMLEngineer)
		other := e.token(beta, "bob", store.RoleSecurity)
		dir, files := modelDir(t)
		e.putModel(ml, "scorer", files)
		e.must(http.StatusCreated, e.do("POST", versionPath("scorer", files)+"/evidence?kind=scan", ml, scanJSON(t, dir)))
		const tp = "/api/v1/models/scorer/threat-model"

		var tm threatModelJSON
		e.must(http.StatusOK, e.do("GET", tp, ml, nil)).decode(t, &tm)
		if tm.UpdatedAt != nil || len(tm.Techniques) != 0 || tm.Model != "scorer" {
			t.Fatalf("before any save %+v", tm)
		}
		var pre prefillJSON
		e.must(http.StatusOK, e.do("POST", tp+"/prefill", sec, nil)).decode(t, &pre)
		if !slices.Equal(pre.Added, []string{"AML.T0010.003", "AML.T0011.000"}) || len(pre.Signals) != 1 || pre.Signals[0].Signal != "pickle" {
			t.Fatalf("prefill %+v", pre)
		}
		got := pre.ThreatModel.Techniques
		if got[0].Name != "AI Supply Chain Compromise: Model" || !strings.Contains(got[0].Why, "model.pkl") ||
			!slices.Contains(got[0].Controls, "PICKLE-CODE-EXEC") || pre.ThreatModel.UpdatedBy != "token:2" {
			t.Fatalf("pre-filled %+v", pre.ThreatModel)
		}

		// Security edits: lowers the residual risk of the first, removes the
		// second, adds prompt injection.
		edit := map[string]any{"assets": "the scoring weights", "entry_points": "the model hub; the batch job", "techniques": []map[string]any{
			{"id": "AML.T0010.003", "why": got[0].Why, "mitigations": "signed with violet sign; verified in CI",
				"controls": []string{"verify", "scan"}, "residual": "low"},
			{"id": "AML.T0051", "why": "reads free text", "residual": "medium"},
		}}
		e.must(http.StatusOK, e.do("PUT", tp, sec, edit)).decode(t, &tm)
		e.must(http.StatusOK, e.do("GET", tp, ml, nil)).decode(t, &tm)
		if len(tm.Techniques) != 2 || tm.Techniques[0].Residual != "low" || tm.Techniques[1].Name != "LLM Prompt Injection" ||
			tm.Assets != "the scoring weights" || tm.Techniques[1].Controls == nil {
			t.Fatalf("after the edit %+v", tm)
		}
		// A second pre-fill adds back only what is missing.
		e.must(http.StatusOK, e.do("POST", tp+"/prefill", sec, nil)).decode(t, &pre)
		if !slices.Equal(pre.Added, []string{"AML.T0011.000"}) || pre.ThreatModel.Techniques[0].Residual != "low" {
			t.Fatalf("second prefill %+v", pre)
		}

		head, _ := e.st.AuditHead(context.Background())
		for name, tech := range map[string]map[string]any{
			"not in ATLAS":    {"id": "AML.T9999", "residual": "low"},
			"a mitigation id": {"id": "AML.M0014", "residual": "low"},
			"unknown control": {"id": "AML.T0051", "residual": "low", "controls": []string{"EVERYTHING-IS-FINE"}},
			"residual":        {"id": "AML.T0051", "residual": "none"},
		} {
			r := e.do("PUT", tp, sec, map[string]any{"techniques": []any{tech}})
			if r.status != http.StatusUnprocessableEntity || r.code() != "invalid" {
				t.Errorf("%s: %d %s", name, r.status, r.body)
			}
		}
		if now, _ := e.st.AuditHead(context.Background()); now != head {
			t.Error("a refused threat model was recorded")
		}
		for _, r := range []response{e.do("GET", tp, other, nil), e.do("PUT", tp, other, edit), e.do("POST", tp+"/prefill", other, nil)} {
			if r.status != http.StatusNotFound {
				t.Errorf("another team: %d %s", r.status, r.body)
			}
		}
	})
}
