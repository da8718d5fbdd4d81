package store

import (
	"context"
	"testing"
)

// checkReleaseSeeds checks the rows of the 0005_releases seed (from
// version 5).
func checkReleaseSeeds(t *testing.T, s *Store, k int) {
	t.Helper()
	if k < 5 {
		return
	}
	ctx := context.Background()
	r := must[Release](t)(s.Release(ctx, 1))
	if r.Title != "seed release" || r.Tier != "high" || !r.ThirdParty || len(r.Required) != 2 || r.Model != "seed model" {
		t.Fatalf("release %+v", r)
	}
	ds := must[[]ReleaseDecision](t)(s.ReleaseDecisions(ctx, r.ID))
	if len(ds) != 1 || ds[0].Role != "security" || ds[0].DecidedBy != "seed" || string(ds[0].Signature) != `{"seed":1}` {
		t.Fatalf("decisions %+v", ds)
	}
}

func TestReleaseDecisions(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		ctx := context.Background()
		f := newFixture(t, s, "a")
		g := newFixture(t, s, "b")
		sec := must[User](t)(s.CreateUser(ctx, tester, "sec", "", ""))
		for _, m := range []Membership{{f.team.ID, sec.ID, RoleSecurity}, {f.team.ID, sec.ID, RoleLegalCompliance}, {g.team.ID, sec.ID, RoleMLEngineer}} {
			if err := s.AddMember(ctx, tester, m); err != nil {
				t.Fatal(err)
			}
		}
		r := must[Release](t)(s.CreateRelease(ctx, tester, Release{VersionID: f.version.ID, Title: "v1 to prod", Tier: "high",
			Required: []string{"security", "ml-engineer", "legal-compliance", "security"}}))
		if r.Digest != f.version.Digest || r.TeamID != f.team.ID || len(r.Required) != 3 || r.Required[0] != "legal-compliance" {
			t.Fatalf("release %+v", r)
		}
		approve := func(user int64, role string, digest string) error {
			_, err := s.DecideRelease(ctx, tester, user, ReleaseDecision{ReleaseID: r.ID, Role: role, Decision: DecisionApprove,
				Reason: "reviewed", Digest: digest})
			return err
		}
		if err := approve(sec.ID, "security", r.Digest); err != nil {
			t.Fatal(err)
		}
		// The same person, for a second required role: refused.
		wantErr(t, approve(sec.ID, "legal-compliance", r.Digest), ErrConflict)
		// A role the user does not hold in this team (ml-engineer: in team b
		// only), a role the release does not require, another digest, no
		// reason, an unknown decision.
		wantErr(t, approve(sec.ID, "ml-engineer", r.Digest), ErrInvalid)
		wantErr(t, approve(f.user.ID, "procurement", r.Digest), ErrInvalid)
		wantErr(t, approve(f.user.ID, "ml-engineer", g.version.Digest), ErrInvalid)
		_, err := s.DecideRelease(ctx, tester, f.user.ID, ReleaseDecision{ReleaseID: r.ID, Role: "ml-engineer", Decision: DecisionApprove, Digest: r.Digest})
		wantErr(t, err, ErrInvalid)
		_, err = s.DecideRelease(ctx, tester, f.user.ID, ReleaseDecision{ReleaseID: r.ID, Role: "ml-engineer", Decision: "maybe", Reason: "x", Digest: r.Digest})
		wantErr(t, err, ErrInvalid)
		// The ml-engineer of the team approves, signed.
		d := must[ReleaseDecision](t)(s.DecideRelease(ctx, tester, f.user.ID, ReleaseDecision{ReleaseID: r.ID, Role: "ml-engineer",
			Decision: DecisionReject, Reason: "eval pending", Digest: r.Digest, Signature: []byte(`{"bundle":1}`)}))
		if d.DecidedBy != f.user.Login {
			t.Fatalf("decided by %q", d.DecidedBy)
		}
		ds := must[[]ReleaseDecision](t)(s.ReleaseDecisions(ctx, r.ID))
		if len(ds) != 2 || ds[1].Decision != DecisionReject || string(ds[1].Signature) != `{"bundle":1}` || ds[0].Signature != nil {
			t.Fatalf("decisions %+v", ds)
		}
		if rs := must[[]Release](t)(s.Releases(ctx, f.team.ID, r.Digest)); len(rs) != 1 || rs[0].ID != r.ID {
			t.Fatalf("releases %+v", rs)
		}
		if rs := must[[]Release](t)(s.Releases(ctx, g.team.ID, "")); len(rs) != 0 {
			t.Fatalf("another team's releases %+v", rs)
		}
		// Decisions are append-only in the database too.
		if _, err := s.db.Exec(`UPDATE release_decisions SET decision = 'approve'`); err == nil {
			t.Fatal("a decision was updated")
		}
		// A third-party model: only with an approved procurement review.
		third := Release{VersionID: f.version.ID, Title: "vendor model", Tier: "low", ThirdParty: true, Required: []string{"procurement", "security"}}
		_, err = s.CreateRelease(ctx, tester, third)
		wantErr(t, err, ErrInvalid)
		pr := must[ProcurementReview](t)(s.CreateProcurementReview(ctx, tester, ProcurementReview{TeamID: f.team.ID, Vendor: "Acme",
			Product: "acme-7b", Kind: "vendor-model", Models: []int64{f.model.ID}}))
		must[ProcurementReview](t)(s.DecideProcurementReview(ctx, tester, pr.ID, "approved", ""))
		must[Release](t)(s.CreateRelease(ctx, tester, third))
		_, err = s.CreateRelease(ctx, tester, Release{VersionID: f.version.ID, Title: "x", Tier: "extreme", Required: []string{"security"}})
		wantErr(t, err, ErrInvalid)
		_, err = s.CreateRelease(ctx, tester, Release{VersionID: f.version.ID, Title: "x", Tier: "low", Required: []string{"cto"}})
		wantErr(t, err, ErrInvalid)
		verifyOK(t, s)
	})
}
