package store

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// checkIncidentSeeds checks the rows of the 0007_incidents seed (from
// version 7).
func checkIncidentSeeds(t *testing.T, s *Store, k int) {
	t.Helper()
	if k < 7 {
		return
	}
	ctx := context.Background()
	team := must[[]Team](t)(s.Teams(ctx))[0]
	incs := must[[]Incident](t)(s.Incidents(ctx, team.ID))
	if len(incs) != 1 || incs[0].State != IncidentContained || incs[0].DrillID == 0 {
		t.Fatalf("incidents %+v", incs)
	}
	if d, ok := incs[0].TimeToDetect(); !ok || d != 10*time.Minute {
		t.Errorf("time to detect %v %v", d, ok)
	}
	if d, ok := incs[0].TimeToContain(); !ok || d != 50*time.Minute {
		t.Errorf("time to contain %v %v", d, ok)
	}
	if ev := must[[]IncidentEvent](t)(s.IncidentEvents(ctx, incs[0].ID)); len(ev) != 1 || ev[0].Text != "seeded" {
		t.Errorf("events %+v", ev)
	}
	if a := must[[]Affected](t)(s.IncidentAffected(ctx, incs[0].ID)); len(a) != 1 || a[0].How != "model.bin" {
		t.Errorf("affected %+v", a)
	}
	d := must[Drill](t)(s.Drill(ctx, incs[0].DrillID))
	if d.Scenario != "leaked-signing-key" || d.IncidentID != incs[0].ID || len(d.Participants) != 1 {
		t.Errorf("drill %+v", d)
	}
	found := must[[]Affected](t)(s.BlastRadius(ctx, team.ID, BlastQuery{Signer: "seed-key"}))
	if len(found) != 1 || found[0].Why != AffectedSigner {
		t.Errorf("signed by the seed key: %+v", found)
	}
}

// testIncident is an incident of the fixture's team.
func testIncident(f fixture) Incident {
	return Incident{TeamID: f.team.ID, Type: IncidentMaliciousModel, Severity: "critical", Title: "pickle in prod",
		Summary: "a checkpoint runs code"}
}

// testDrill is a drill of the fixture's team, its user taking part.
func testDrill(f fixture) Drill {
	return Drill{TeamID: f.team.ID, Scenario: "dependency-compromise", ScheduledAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
		Participants: []DrillParticipant{{Role: RoleSecurity}, {Role: RoleMLEngineer, Login: f.user.Login}}}
}

// inventoryFor gives the fixture's version a deps report, an ML-BOM and a
// verified signature.
func inventoryFor(t *testing.T, s *Store, f fixture, pkgs []Package) {
	t.Helper()
	ctx := context.Background()
	must[Evidence](t)(first(s.AddDepsEvidence(ctx, tester, f.version.ID, []byte(`{"deps":"`+f.team.Name+`"}`), pkgs)))
	must[Evidence](t)(first(s.AddBOMEvidence(ctx, tester, f.version.ID, []byte(`{"bom":"`+f.team.Name+`"}`), []LineageLink{
		{Kind: LineageModel, Relation: "finetune", Name: "org/base"},
		{Kind: LineageDataset, Relation: "training", Name: "org/data"}})))
	must[Evidence](t)(first(s.AddVerifyEvidence(ctx, tester, f.version.ID, []byte(`{"verify":"`+f.team.Name+`"}`), []string{ciKey})))
}

// ciKey is a key hint, as sign.KeyHint writes it.
var ciKey = sha("ci key")

func first[A, B any](a A, _ B, err error) (A, error) { return a, err }

func TestBlastRadius(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		a, b := newFixture(t, s, "a"), newFixture(t, s, "b")
		inventoryFor(t, s, a, []Package{
			{Ecosystem: "PyPI", Name: "torchtriton", Version: "3.0.0", Manifest: "requirements.txt", Line: 1},
			{Ecosystem: "PyPI", Name: "numpy", Specifier: ">=1.0", Manifest: "requirements.txt", Line: 2}})
		inventoryFor(t, s, b, []Package{{Ecosystem: "PyPI", Name: "torchtriton", Version: "3.0.0", Manifest: "requirements.txt", Line: 1}})
		for _, c := range []struct {
			q        BlastQuery
			why, how string
		}{
			{BlastQuery{File: sha("weightsa")}, AffectedFile, "model.safetensors"},
			{BlastQuery{Package: "torchtriton"}, AffectedPackage, "3.0.0"},
			{BlastQuery{Package: "torchtriton", Version: "3.0.0"}, AffectedPackage, "3.0.0"},
			// An unpinned requirement may resolve to the bad version.
			{BlastQuery{Package: "numpy", Version: "1.9.9"}, AffectedPackage, "unpinned >=1.0"},
			{BlastQuery{Signer: ciKey}, AffectedSigner, "verified signature"},
			{BlastQuery{Base: "org/base"}, AffectedBase, "finetune"},
			{BlastQuery{Dataset: "org/data"}, AffectedDataset, "training"},
			// Spelled otherwise, the same subjects: never a silent "none".
			{BlastQuery{File: strings.ToUpper(sha("weightsa"))}, AffectedFile, "model.safetensors"},
			{BlastQuery{Signer: strings.ToUpper(ciKey)}, AffectedSigner, "verified signature"},
			{BlastQuery{Base: "Org/Base"}, AffectedBase, "finetune"},
			{BlastQuery{Dataset: "ORG/data"}, AffectedDataset, "training"},
		} {
			got := must[[]Affected](t)(s.BlastRadius(ctx, a.team.ID, c.q))
			// Team b holds the same package, key and base: never listed.
			if len(got) != 1 || got[0].VersionID != a.version.ID || got[0].Why != c.why || got[0].How != c.how {
				t.Errorf("%+v: %+v", c.q, got)
			}
		}
		for _, q := range []BlastQuery{
			{Package: "torchtriton", Version: "2.0.0"}, {File: sha("nothing")}, {Signer: "other-key"}, {Base: "org/other"},
		} {
			if got := must[[]Affected](t)(s.BlastRadius(ctx, a.team.ID, q)); len(got) != 0 {
				t.Errorf("%+v: %+v, want none", q, got)
			}
		}
		for _, q := range []BlastQuery{
			{}, {File: "abc"}, {File: sha("x"), Package: "torch"}, {Version: "1"}, {Signer: "a\nb"},
		} {
			_, err := s.BlastRadius(ctx, a.team.ID, q)
			wantErr(t, err, ErrInvalid)
		}
	})
}

func TestIncidentLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		a, b := newFixture(t, s, "a"), newFixture(t, s, "b")
		inventoryFor(t, s, a, []Package{{Ecosystem: "PyPI", Name: "torchtriton", Version: "3.0.0", Manifest: "requirements.txt", Line: 1}})
		inventoryFor(t, s, b, []Package{{Ecosystem: "PyPI", Name: "torchtriton", Version: "3.0.0", Manifest: "requirements.txt", Line: 1}})
		t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
		setClock(s, t0)
		in := testIncident(a)
		in.Type, in.BeganAt = IncidentCompromisedDependency, t0.Add(-2*time.Hour)
		inc := must[Incident](t)(s.OpenIncident(ctx, tester, "alice", in, []BlastQuery{{Package: "torchtriton", Version: "3.0.0"}}))
		if inc.State != IncidentOpen || !inc.DetectedAt.Equal(t0) || inc.OpenedBy != "alice" || inc.DrillID != 0 {
			t.Fatalf("opened %+v", inc)
		}
		if d, ok := inc.TimeToDetect(); !ok || d != 2*time.Hour {
			t.Errorf("time to detect %v", d)
		}
		if _, ok := inc.TimeToContain(); ok {
			t.Error("time to contain before containment")
		}
		aff := must[[]Affected](t)(s.IncidentAffected(ctx, inc.ID))
		if len(aff) != 1 || aff[0].VersionID != a.version.ID {
			t.Fatalf("affected %+v: want team a's version only", aff)
		}
		setClock(s, t0.Add(10*time.Minute))
		must[IncidentEvent](t)(s.AddIncidentEvent(ctx, tester, inc.ID, "bob", "pinned torchtriton to the internal index"))
		// Attaching the same query again adds nothing.
		if n := must[int](t)(s.AttachAffected(ctx, tester, inc.ID, "alice", []BlastQuery{{Package: "torchtriton"}})); n != 0 {
			t.Errorf("attached %d again", n)
		}
		setClock(s, t0.Add(time.Hour))
		got, changed, err := s.SetIncidentState(ctx, tester, inc.ID, "alice", IncidentContained, time.Time{})
		if err != nil || !changed || got.State != IncidentContained {
			t.Fatalf("contain: %+v %v %v", got, changed, err)
		}
		if d, ok := got.TimeToContain(); !ok || d != time.Hour {
			t.Errorf("time to contain %v", d)
		}
		// Again: no change, no record.
		head := must[AuditHead](t)(s.AuditHead(ctx))
		if _, changed, err := s.SetIncidentState(ctx, tester, inc.ID, "alice", IncidentContained, time.Time{}); err != nil || changed {
			t.Fatalf("contain again: %v %v", changed, err)
		}
		if must[AuditHead](t)(s.AuditHead(ctx)) != head {
			t.Error("a no-op was audited")
		}
		// Never in the future, never before the mark it follows.
		_, _, err = s.SetIncidentState(ctx, tester, inc.ID, "alice", IncidentResolved, t0.Add(2*time.Hour))
		wantErr(t, err, ErrInvalid)
		_, _, err = s.SetIncidentState(ctx, tester, inc.ID, "alice", IncidentResolved, t0.Add(30*time.Minute))
		wantErr(t, err, ErrInvalid)
		_, _, err = s.SetIncidentState(ctx, tester, inc.ID, "alice", "reopened", time.Time{})
		wantErr(t, err, ErrInvalid)
		got = must[Incident](t)(first(s.SetIncidentState(ctx, tester, inc.ID, "alice", IncidentResolved, time.Time{})))
		if got.State != IncidentResolved || !got.ResolvedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("resolved %+v", got)
		}
		// Forward only.
		_, _, err = s.SetIncidentState(ctx, tester, inc.ID, "alice", IncidentContained, time.Time{})
		wantErr(t, err, ErrConflict)
		events := must[[]IncidentEvent](t)(s.IncidentEvents(ctx, inc.ID))
		var texts []string
		for _, e := range events {
			texts = append(texts, e.Who+": "+e.Text)
		}
		want := []string{"alice: incident opened", "alice: blast radius attached: 1 affected versions",
			"bob: pinned torchtriton to the internal index", "alice: marked contained", "alice: marked resolved"}
		if !slices.Equal(texts, want) {
			t.Errorf("timeline %q, want %q", texts, want)
		}
		// The timeline is append-only.
		for _, q := range []string{`UPDATE incident_events SET text = 'x'`, `DELETE FROM incident_events`} {
			if _, err := s.db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v", q, err)
			}
		}
		// Refused input changes nothing.
		bad := []Incident{
			{TeamID: a.team.ID, Type: "ransomware", Severity: "high", Title: "t"},
			{TeamID: a.team.ID, Type: IncidentOther, Severity: "urgent", Title: "t"},
			{TeamID: a.team.ID, Type: IncidentOther, Severity: "high", Title: ""},
			{TeamID: a.team.ID, Type: IncidentOther, Severity: "high", Title: "t", BeganAt: t0.Add(24 * time.Hour)},
		}
		head = must[AuditHead](t)(s.AuditHead(ctx))
		for _, i := range bad {
			_, err := s.OpenIncident(ctx, tester, "alice", i, nil)
			wantErr(t, err, ErrInvalid)
		}
		_, err = s.OpenIncident(ctx, tester, "alice", testIncident(a), []BlastQuery{{File: "not-a-digest"}})
		wantErr(t, err, ErrInvalid)
		_, err = s.AddIncidentEvent(ctx, tester, inc.ID, "alice", "")
		wantErr(t, err, ErrInvalid)
		_, err = s.AddIncidentEvent(ctx, tester, 99999, "alice", "x")
		wantErr(t, err, ErrNotFound)
		if must[AuditHead](t)(s.AuditHead(ctx)) != head {
			t.Error("a refused call was audited")
		}
		if l := must[[]Incident](t)(s.Incidents(ctx, b.team.ID)); len(l) != 0 {
			t.Errorf("team b lists %+v", l)
		}
		verifyOK(t, s)
	})
}

func TestDrillLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		f := newFixture(t, s, "d")
		t0 := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
		setClock(s, t0)
		d := must[Drill](t)(s.ScheduleDrill(ctx, tester, testDrill(f)))
		if d.StartedAt != (time.Time{}) || d.IncidentID != 0 || len(d.Participants) != 2 || d.ScheduledBy != tester.Name {
			t.Fatalf("scheduled %+v", d)
		}
		for _, bad := range []Drill{
			{TeamID: f.team.ID, Scenario: "alien-invasion", ScheduledAt: t0, Participants: []DrillParticipant{{Role: RoleSecurity}}},
			{TeamID: f.team.ID, Scenario: "leaked-signing-key", ScheduledAt: t0},
			{TeamID: f.team.ID, Scenario: "leaked-signing-key", Participants: []DrillParticipant{{Role: RoleSecurity}}},
			{TeamID: f.team.ID, Scenario: "leaked-signing-key", ScheduledAt: t0, Participants: []DrillParticipant{{Role: "chief"}}},
			// The user is an ml-engineer of the team, not security.
			{TeamID: f.team.ID, Scenario: "leaked-signing-key", ScheduledAt: t0,
				Participants: []DrillParticipant{{Role: RoleSecurity, Login: f.user.Login}}},
		} {
			_, err := s.ScheduleDrill(ctx, tester, bad)
			wantErr(t, err, ErrInvalid)
		}
		_, _, err := s.CloseDrill(ctx, tester, d.ID, "alice", "too early", nil)
		wantErr(t, err, ErrConflict)

		setClock(s, t0.Add(time.Hour))
		inc, started, err := s.StartDrill(ctx, tester, d.ID, "alice")
		if err != nil || !started || inc.DrillID != d.ID || inc.Type != IncidentCompromisedDependency ||
			!inc.DetectedAt.IsZero() || !inc.BeganAt.Equal(t0.Add(time.Hour)) || inc.State != IncidentOpen {
			t.Fatalf("start: %+v %v %v", inc, started, err)
		}
		again, started, err := s.StartDrill(ctx, tester, d.ID, "alice")
		if err != nil || started || again.ID != inc.ID {
			t.Fatalf("start again: %+v %v %v", again, started, err)
		}
		setClock(s, t0.Add(time.Hour+12*time.Minute))
		must[Incident](t)(first(s.SetIncidentState(ctx, tester, inc.ID, "bob", IncidentDetected, time.Time{})))
		setClock(s, t0.Add(2*time.Hour))
		got := must[Incident](t)(first(s.SetIncidentState(ctx, tester, inc.ID, "bob", IncidentContained, time.Time{})))
		if d, ok := got.TimeToDetect(); !ok || d != 12*time.Minute {
			t.Errorf("time to detect %v %v", d, ok)
		}
		if d, ok := got.TimeToContain(); !ok || d != 48*time.Minute {
			t.Errorf("time to contain %v %v", d, ok)
		}
		closed, changed, err := s.CloseDrill(ctx, tester, d.ID, "alice", "the alert went to an empty channel",
			[]string{"route deps alerts to security on call", "pin to the internal index"})
		if err != nil || !changed || closed.ClosedAt.IsZero() || len(closed.FollowUps) != 2 || closed.FollowUps[0] != "route deps alerts to security on call" {
			t.Fatalf("close: %+v %v %v", closed, changed, err)
		}
		if got := must[Incident](t)(s.Incident(ctx, inc.ID)); got.State != IncidentResolved {
			t.Errorf("the drill's incident is %s after the close", got.State)
		}
		if _, changed, err := s.CloseDrill(ctx, tester, d.ID, "alice", "the alert went to an empty channel",
			[]string{"route deps alerts to security on call", "pin to the internal index"}); err != nil || changed {
			t.Errorf("close again: %v %v", changed, err)
		}
		_, _, err = s.CloseDrill(ctx, tester, d.ID, "alice", "other findings", nil)
		wantErr(t, err, ErrConflict)
		if l := must[[]Drill](t)(s.Drills(ctx, f.team.ID)); len(l) != 1 || l[0].IncidentID != inc.ID {
			t.Errorf("drills %+v", l)
		}
		verifyOK(t, s)
	})
}

// TestDrillScenarios: the library holds the four scenarios of the issue,
// each complete and opening an incident of a known type.
func TestDrillScenarios(t *testing.T) {
	want := map[string]string{
		"poisoned-checkpoint":   IncidentMaliciousModel,
		"dependency-compromise": IncidentCompromisedDependency,
		"leaked-signing-key":    IncidentLeakedSigningKey,
		"prompt-injection-leak": IncidentPromptInjectionLeakage,
	}
	seen := map[string]bool{}
	for _, sc := range DrillScenarios() {
		if seen[sc.ID] {
			t.Errorf("scenario %s twice", sc.ID)
		}
		seen[sc.ID] = true
		if sc.Title == "" || sc.Inject == "" || len(sc.Steps) == 0 || sc.Detected == "" || sc.Contained == "" || len(sc.Roles) == 0 {
			t.Errorf("scenario %s is incomplete: %+v", sc.ID, sc)
		}
		if oneOf("type", sc.Type, IncidentTypes()) != nil || oneOf("severity", sc.Severity, IncidentSeverities()) != nil {
			t.Errorf("scenario %s: type %q severity %q", sc.ID, sc.Type, sc.Severity)
		}
		if typ, ok := want[sc.ID]; ok && typ != sc.Type {
			t.Errorf("scenario %s: type %s, want %s", sc.ID, sc.Type, typ)
		}
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("the library lacks %s", id)
		}
	}
}
