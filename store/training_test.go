package store

import (
	"context"
	"testing"
	"time"
)

// checkTrainingSeeds checks the rows of the 0008_training seed (from
// version 8).
func checkTrainingSeeds(t *testing.T, s *Store, k int) {
	t.Helper()
	if k < 8 {
		return
	}
	ctx := context.Background()
	teams := must[[]Team](t)(s.Teams(ctx))
	status := must[[]TrainingDue](t)(s.TrainingStatus(ctx, teams[0].ID))
	// The seed user is security: due, completed in 2025, expired since.
	if len(status) != 1 || status[0].Login != "seed" || status[0].Last == nil || !status[0].Overdue {
		t.Fatalf("training status %+v", status)
	}
	rs := must[[]ProcurementReview](t)(s.ProcurementReviews(ctx, teams[0].ID))
	if len(rs) != 1 || !rs[0].Approved() || rs[0].Answers["hosting_region"] != "eu" || len(rs[0].Models) != 1 {
		t.Fatalf("reviews %+v", rs)
	}
	if ok := must[bool](t)(s.ProcurementApproved(ctx, rs[0].Models[0])); !ok {
		t.Fatal("the seed model is not procurement-approved")
	}
}

func TestTraining(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		ctx := context.Background()
		f := newFixture(t, s, "a")
		g := newFixture(t, s, "b")
		now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		setClock(s, now)
		c := must[Course](t)(s.CreateCourse(ctx, tester, Course{TeamID: f.team.ID, Title: "AI threat landscape", Topic: "threat-landscape",
			Roles: []string{"ml-engineer", "security"}, ValidDays: 365}))
		_, err := s.CreateCourse(ctx, tester, Course{TeamID: f.team.ID, Title: "AI threat landscape", Topic: "threat-landscape", Roles: []string{"security"}, ValidDays: 1})
		wantErr(t, err, ErrExists)
		_, err = s.CreateCourse(ctx, tester, Course{TeamID: f.team.ID, Title: "x", Topic: "golf", Roles: []string{"security"}, ValidDays: 1})
		wantErr(t, err, ErrInvalid)
		// The fixture's user is ml-engineer: due, never completed.
		st := must[[]TrainingDue](t)(s.TrainingStatus(ctx, f.team.ID))
		if len(st) != 1 || st[0].UserID != f.user.ID || !st[0].Overdue || st[0].Last != nil {
			t.Fatalf("status %+v", st)
		}
		must[Completion](t)(s.RecordCompletion(ctx, tester, c.ID, f.user.ID, now.AddDate(0, -2, 0)))
		if st = must[[]TrainingDue](t)(s.TrainingStatus(ctx, f.team.ID)); st[0].Overdue {
			t.Fatalf("completed two months ago, overdue: %+v", st[0])
		}
		// A year later it has expired.
		setClock(s, now.AddDate(1, 0, 0))
		if st = must[[]TrainingDue](t)(s.TrainingStatus(ctx, f.team.ID)); !st[0].Overdue {
			t.Fatalf("expired, not overdue: %+v", st[0])
		}
		_, err = s.RecordCompletion(ctx, tester, c.ID, g.user.ID, now)
		wantErr(t, err, ErrInvalid) // not a member of the course's team
		_, err = s.RecordCompletion(ctx, tester, c.ID, f.user.ID, now.AddDate(2, 0, 0))
		wantErr(t, err, ErrInvalid) // in the future
		if _, err := s.db.Exec(`DELETE FROM training_completions`); err == nil {
			t.Fatal("a completion was deleted")
		}
		verifyOK(t, s)
	})
}

func TestProcurementReviews(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		ctx := context.Background()
		f := newFixture(t, s, "a")
		g := newFixture(t, s, "b")
		r := must[ProcurementReview](t)(s.CreateProcurementReview(ctx, tester, ProcurementReview{TeamID: f.team.ID, Vendor: "Acme AI",
			Product: "acme-llm-70b", Kind: "vendor-model", Answers: map[string]string{"hosting_region": "eu-west-1",
				"data_use": "no training on our data"}, Models: []int64{f.model.ID}}))
		if r.Decision != "pending" || must[bool](t)(s.ProcurementApproved(ctx, f.model.ID)) {
			t.Fatalf("a new review approves: %+v", r)
		}
		_, err := s.CreateProcurementReview(ctx, tester, ProcurementReview{TeamID: f.team.ID, Vendor: "x", Product: "y", Kind: "other",
			Models: []int64{g.model.ID}})
		wantErr(t, err, ErrInvalid)
		_, err = s.CreateProcurementReview(ctx, tester, ProcurementReview{TeamID: f.team.ID, Vendor: "x", Product: "y", Kind: "other",
			Answers: map[string]string{"favourite_color": "blue"}})
		wantErr(t, err, ErrInvalid)
		_, err = s.DecideProcurementReview(ctx, tester, r.ID, "approved-with-conditions", "")
		wantErr(t, err, ErrInvalid)
		_, err = s.DecideProcurementReview(ctx, tester, r.ID, "pending", "")
		wantErr(t, err, ErrInvalid)
		d := must[ProcurementReview](t)(s.DecideProcurementReview(ctx, tester, r.ID, "approved-with-conditions", "EU hosting only"))
		if d.DecidedBy != tester.Name || d.Conditions != "EU hosting only" || !must[bool](t)(s.ProcurementApproved(ctx, f.model.ID)) {
			t.Fatalf("decided %+v", d)
		}
		must[ProcurementReview](t)(s.DecideProcurementReview(ctx, tester, r.ID, "rejected", "breach reported"))
		if must[bool](t)(s.ProcurementApproved(ctx, f.model.ID)) {
			t.Fatal("a rejected review approves")
		}
		_, err = s.DecideProcurementReview(ctx, tester, r.ID+100, "rejected", "")
		wantErr(t, err, ErrNotFound)
		verifyOK(t, s)
	})
}
