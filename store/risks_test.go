package store

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// checkRiskSeeds checks the rows of the 0006_risks seed (from version 6).
func checkRiskSeeds(t *testing.T, s *Store, k int) {
	t.Helper()
	if k < 6 {
		return
	}
	ctx := context.Background()
	teams := must[[]Team](t)(s.Teams(ctx))
	models := must[[]Model](t)(s.Models(ctx, teams[0].ID))
	tm := must[ThreatModel](t)(s.ThreatModel(ctx, models[0].ID))
	want := []Threat{{Technique: "AML.T0010.003", Why: "a pickle", Mitigations: "scan it",
		Controls: []string{"PICKLE-CODE-EXEC", "scan"}, Residual: ResidualLow}}
	if tm.Assets != "weights" || tm.EntryPoints != "the hub" || tm.UpdatedBy != "seed" ||
		!tm.UpdatedAt.Equal(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)) || !reflect.DeepEqual(tm.Threats, want) {
		t.Fatalf("threat model %+v", tm)
	}
	risks := must[[]Risk](t)(s.Risks(ctx, teams[0].ID))
	if len(risks) != 1 || risks[0].Title != "seed risk" || risks[0].ModelID != models[0].ID || risks[0].Score() != 10 ||
		risks[0].OwnerRole != RoleLegalCompliance || !risks[0].ReviewBy.Equal(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("risks %+v", risks)
	}
}

// testRisk is a valid risk of the fixture's team and model.
func testRisk(s *Store, f fixture) Risk {
	return Risk{TeamID: f.team.ID, ModelID: f.model.ID, Category: RiskPrivacy, Title: "re-identification",
		Description: "the lakehouse joins the scores with addresses", OwnerRole: RoleLegalCompliance,
		Likelihood: 3, Impact: 4, Treatment: TreatMitigate, Plan: "aggregate by region",
		ReviewBy: s.now().AddDate(0, 1, 0), Status: RiskOpen}
}

// lastRecord returns the newest audit record.
func lastRecord(t *testing.T, s *Store) AuditRecord {
	t.Helper()
	recs := must[[]AuditRecord](t)(s.AuditLog(context.Background(), 0, 0, ""))
	return recs[len(recs)-1]
}

// TestRiskRegister: a risk is created, listed, read and updated in its
// team only; an update records each changed field, a no-op records nothing;
// every field is checked.
func TestRiskRegister(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		setClock(s, time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
		f, g := newFixture(t, s, "a"), newFixture(t, s, "b")
		r := must[Risk](t)(s.CreateRisk(ctx, tester, testRisk(s, f)))
		if r.ID == 0 || r.CreatedBy != tester.Name || !r.ReviewBy.Equal(time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("created %+v", r)
		}
		if got := must[Risk](t)(s.Risk(ctx, r.ID)); !reflect.DeepEqual(got, r) {
			t.Fatalf("read back %+v, want %+v", got, r)
		}
		if rec := lastRecord(t, s); rec.Action != "risk.create" || rec.Object != "risk/1" || !strings.Contains(rec.Detail, `"title":"re-identification"`) {
			t.Fatalf("record %+v", rec)
		}

		// An update records the fields it changed, before and after.
		r.Likelihood, r.Status, r.ModelID = 5, RiskInTreatment, 0
		setClock(s, time.Date(2026, 3, 11, 12, 0, 0, 0, time.UTC))
		u := must[Risk](t)(s.UpdateRisk(ctx, Actor{Name: "lena"}, r))
		if u.UpdatedBy != "lena" || u.CreatedBy != tester.Name || u.Score() != 20 || u.ModelID != 0 {
			t.Fatalf("updated %+v", u)
		}
		var detail struct{ Changes map[string][]any }
		rec := lastRecord(t, s)
		if err := json.Unmarshal([]byte(rec.Detail), &detail); err != nil || rec.Action != "risk.update" || rec.Actor != "lena" {
			t.Fatalf("record %+v: %v", rec, err)
		}
		want := map[string][]any{"likelihood": {3.0, 5.0}, "status": {"open", "in-treatment"}, "model": {float64(f.model.ID), 0.0}}
		if !reflect.DeepEqual(detail.Changes, want) {
			t.Fatalf("changes %v, want %v", detail.Changes, want)
		}
		if got := must[Risk](t)(s.Risk(ctx, r.ID)); !reflect.DeepEqual(got, u) {
			t.Fatalf("read back %+v, want %+v", got, u)
		}
		head := must[AuditHead](t)(s.AuditHead(ctx))
		must[Risk](t)(s.UpdateRisk(ctx, tester, r))
		if got := must[AuditHead](t)(s.AuditHead(ctx)); got != head {
			t.Fatal("an update that changes nothing was recorded")
		}

		// Team walls: another team's risk, or a risk linked to another
		// team's model, does not exist.
		other := r
		other.TeamID = g.team.ID
		_, err := s.UpdateRisk(ctx, tester, other)
		wantErr(t, err, ErrNotFound)
		bad := testRisk(s, f)
		bad.ModelID = g.model.ID
		_, err = s.CreateRisk(ctx, tester, bad)
		wantErr(t, err, ErrNotFound)
		_, err = s.UpdateRisk(ctx, tester, bad)
		wantErr(t, err, ErrNotFound)
		if rs := must[[]Risk](t)(s.Risks(ctx, g.team.ID)); len(rs) != 0 {
			t.Fatalf("team b's register %+v", rs)
		}

		for name, change := range map[string]func(*Risk){
			"category":          func(r *Risk) { r.Category = "finance" },
			"empty title":       func(r *Risk) { r.Title = "" },
			"title newline":     func(r *Risk) { r.Title = "a\nb" },
			"long description":  func(r *Risk) { r.Description = strings.Repeat("x", 8193) },
			"owner role":        func(r *Risk) { r.OwnerRole = "ceo" },
			"likelihood 0":      func(r *Risk) { r.Likelihood = 0 },
			"impact 6":          func(r *Risk) { r.Impact = 6 },
			"treatment":         func(r *Risk) { r.Treatment = "ignore" },
			"status":            func(r *Risk) { r.Status = "done" },
			"no review date":    func(r *Risk) { r.ReviewBy = time.Time{} },
			"review in 4 years": func(r *Risk) { r.ReviewBy = s.now().AddDate(4, 0, 0) },
			"control character": func(r *Risk) { r.Plan = "a\x00b" },
		} {
			bad := testRisk(s, f)
			change(&bad)
			if _, err := s.CreateRisk(ctx, tester, bad); err == nil {
				t.Errorf("%s: created", name)
			} else {
				wantErr(t, err, ErrInvalid)
			}
		}
		if got := must[AuditHead](t)(s.AuditHead(ctx)); got != head {
			t.Fatal("a refused change was recorded")
		}
		verifyOK(t, s)
	})
}

func TestRiskOverdue(t *testing.T) {
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		review string
		status string
		want   bool
	}{
		{"2026-03-09", RiskOpen, true},
		{"2026-03-09", RiskInTreatment, true},
		{"2026-03-09", RiskClosed, false},
		{"2026-03-10", RiskOpen, false}, // due today
		{"2026-04-01", RiskOpen, false},
	} {
		review, _ := time.Parse(time.DateOnly, c.review)
		if got := (Risk{ReviewBy: review, Status: c.status}).Overdue(now); got != c.want {
			t.Errorf("review %s, %s: overdue %v, want %v", c.review, c.status, got, c.want)
		}
	}
}

// TestThreatModel: a model's threat model is saved and read back whole;
// its audit record says what changed; saving it again records nothing;
// techniques must be ATLAS's, controls Violet's.
func TestThreatModel(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		f := newFixture(t, s, "a")
		empty := must[ThreatModel](t)(s.ThreatModel(ctx, f.model.ID))
		if !empty.UpdatedAt.IsZero() || len(empty.Threats) != 0 {
			t.Fatalf("before any save: %+v", empty)
		}
		tm := ThreatModel{ModelID: f.model.ID, Assets: "the weights\nthe training set", EntryPoints: "the chat API",
			Threats: []Threat{
				{Technique: "AML.T0051", Why: "users type prompts", Mitigations: "AML.M0020 guardrails", Controls: []string{"TEMPLATE-INJECTION", "scan"}, Residual: ResidualHigh},
				{Technique: "AML.T0057", Why: "it saw customer data", Mitigations: "", Controls: nil, Residual: ResidualMedium},
			}}
		saved := must[ThreatModel](t)(s.PutThreatModel(ctx, tester, tm))
		got := must[ThreatModel](t)(s.ThreatModel(ctx, f.model.ID))
		if !reflect.DeepEqual(got, saved) || got.UpdatedBy != tester.Name || got.Threats[1].Controls == nil {
			t.Fatalf("read back %+v, want %+v", got, saved)
		}
		rec := lastRecord(t, s)
		if rec.Action != "threat.put" || rec.Object != objectID("model", f.model.ID) ||
			!strings.Contains(rec.Detail, `"technique":"AML.T0051"`) || !strings.Contains(rec.Detail, `"assets":["","the weights\nthe training set"]`) {
			t.Fatalf("record %+v", rec)
		}

		// Change one, remove one, add one.
		tm.Threats = []Threat{
			{Technique: "AML.T0051", Why: "users type prompts", Mitigations: "AML.M0020 guardrails", Controls: []string{"scan"}, Residual: ResidualMedium},
			{Technique: "AML.T0024.000", Why: "fine-tuned on user data", Residual: ResidualLow},
		}
		must[ThreatModel](t)(s.PutThreatModel(ctx, Actor{Name: "sam"}, tm))
		var d struct {
			Added   []map[string]string
			Removed []string
			Changed map[string]map[string][]string
		}
		rec = lastRecord(t, s)
		if err := json.Unmarshal([]byte(rec.Detail), &d); err != nil {
			t.Fatal(err)
		}
		if len(d.Added) != 1 || d.Added[0]["technique"] != "AML.T0024.000" || !reflect.DeepEqual(d.Removed, []string{"AML.T0057"}) ||
			!reflect.DeepEqual(d.Changed["AML.T0051"], map[string][]string{"residual": {"high", "medium"}, "controls": {"TEMPLATE-INJECTION scan", "scan"}}) {
			t.Fatalf("detail %s", rec.Detail)
		}
		head := must[AuditHead](t)(s.AuditHead(ctx))
		must[ThreatModel](t)(s.PutThreatModel(ctx, tester, tm))
		if got := must[AuditHead](t)(s.AuditHead(ctx)); got != head {
			t.Fatal("saving the same threat model was recorded")
		}

		_, err := s.PutThreatModel(ctx, tester, ThreatModel{ModelID: 999999})
		wantErr(t, err, ErrNotFound)
		for name, th := range map[string]Threat{
			"not in ATLAS":      {Technique: "AML.T9999", Residual: ResidualLow},
			"a mitigation":      {Technique: "AML.M0014", Residual: ResidualLow},
			"a tactic":          {Technique: "AML.TA0002", Residual: ResidualLow},
			"lower case":        {Technique: "aml.t0051", Residual: ResidualLow},
			"unknown control":   {Technique: "AML.T0051", Controls: []string{"NO-SUCH-RULE"}, Residual: ResidualLow},
			"control with a sp": {Technique: "AML.T0051", Controls: []string{"scan deps"}, Residual: ResidualLow},
			"control twice":     {Technique: "AML.T0051", Controls: []string{"scan", "scan"}, Residual: ResidualLow},
			"residual":          {Technique: "AML.T0051", Residual: "none"},
			"why too long":      {Technique: "AML.T0051", Why: strings.Repeat("x", 8193), Residual: ResidualLow},
		} {
			_, err := s.PutThreatModel(ctx, tester, ThreatModel{ModelID: f.model.ID, Threats: []Threat{th}})
			if err == nil {
				t.Errorf("%s: saved", name)
				continue
			}
			wantErr(t, err, ErrInvalid)
		}
		twice := Threat{Technique: "AML.T0051", Residual: ResidualLow}
		_, err = s.PutThreatModel(ctx, tester, ThreatModel{ModelID: f.model.ID, Threats: []Threat{twice, twice}})
		wantErr(t, err, ErrInvalid)
		many := make([]Threat, MaxThreats+1)
		_, err = s.PutThreatModel(ctx, tester, ThreatModel{ModelID: f.model.ID, Threats: many})
		wantErr(t, err, ErrInvalid)
		if got := must[AuditHead](t)(s.AuditHead(ctx)); got != head {
			t.Fatal("a refused threat model was recorded")
		}
		verifyOK(t, s)
	})
}
