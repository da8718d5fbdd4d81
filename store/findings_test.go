package store

import (
	"context"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/finding"
)

func TestFindingsAcrossVersions(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		setClock(s, now)
		f := newFixture(t, s, "x")
		weights, config := sha("weightsx"), sha("config")
		in := []FindingInput{
			{Rule: "PICKLE-GLOBAL", FileSHA256: weights, Location: "data.pkl@120", Severity: finding.Critical, Message: "os.system"},
			{Rule: "CONFIG-REMOTE-CODE", FileSHA256: config, Location: "auto_map", Severity: finding.Medium, Message: "trust_remote_code"},
		}
		ids := must[[]int64](t)(s.RecordFindings(ctx, tester, f.version.ID, f.scan.ID, in))
		// Recording the same report again changes nothing.
		head := must[AuditHead](t)(s.AuditHead(ctx))
		if again := must[[]int64](t)(s.RecordFindings(ctx, tester, f.version.ID, f.scan.ID, in)); again[0] != ids[0] || again[1] != ids[1] {
			t.Fatalf("ids %v, then %v", ids, again)
		}
		if h := must[AuditHead](t)(s.AuditHead(ctx)); h != head {
			t.Fatal("a repeated record was audited")
		}

		// Triage: accept the pickle risk for 30 days, mark the config a
		// false positive.
		must[FindingState](t)(s.SetFindingState(ctx, tester, ids[0], FindingState{State: StateAcceptedRisk,
			Reason: "sandboxed loader", ExpiresAt: now.Add(30 * 24 * time.Hour)}))
		must[FindingState](t)(s.SetFindingState(ctx, tester, ids[1], FindingState{State: StateFalsePositive, Reason: "local code"}))

		// Version 2 changes the weights but not the config: the config
		// finding is the same finding, with its triage; the pickle one in
		// the new weights is new, and open.
		v2, _, err := s.PutVersion(ctx, tester, f.model.ID, "sha256:"+sha("v2"), "v2", []File{
			{Path: "model.safetensors", SHA256: sha("weights2"), Size: 100},
			{Path: "config.json", SHA256: config, Size: 10}})
		if err != nil {
			t.Fatal(err)
		}
		scan2, _, err := s.AddEvidence(ctx, tester, v2.ID, EvidenceScan, []byte(`{"v":2}`))
		if err != nil {
			t.Fatal(err)
		}
		in2 := []FindingInput{in[1], {Rule: "PICKLE-GLOBAL", FileSHA256: sha("weights2"), Location: "data.pkl@120",
			Severity: finding.Critical, Message: "os.system"}}
		ids2 := must[[]int64](t)(s.RecordFindings(ctx, tester, v2.ID, scan2.ID, in2))
		if ids2[0] != ids[1] || ids2[1] == ids[0] {
			t.Fatalf("identities: v1 %v, v2 %v", ids, ids2)
		}
		got := must[[]Finding](t)(s.VersionFindings(ctx, v2.ID))
		if len(got) != 2 || got[0].ID != ids[1] || got[0].State != StateFalsePositive || got[1].State != StateOpen || got[1].Last != nil {
			t.Fatalf("v2 findings %+v", got)
		}
		v1 := must[[]Finding](t)(s.VersionFindings(ctx, f.version.ID))
		if len(v1) != 2 || v1[0].State != StateAcceptedRisk || v1[0].Expired || v1[0].Severity != finding.Critical {
			t.Fatalf("v1 findings %+v", v1)
		}

		// The acceptance expires: the finding is open again, and says why.
		setClock(s, now.Add(31*24*time.Hour))
		v1 = must[[]Finding](t)(s.VersionFindings(ctx, f.version.ID))
		if v1[0].State != StateOpen || !v1[0].Expired || v1[0].Last.State != StateAcceptedRisk {
			t.Fatalf("expired acceptance %+v", v1[0])
		}

		// History keeps every change.
		must[FindingState](t)(s.SetFindingState(ctx, Actor{Name: "carol"}, ids[0], FindingState{State: StateFixed}))
		hist := must[[]FindingState](t)(s.FindingHistory(ctx, ids[0]))
		if len(hist) != 2 || hist[0].State != StateAcceptedRisk || hist[0].Reason != "sandboxed loader" ||
			!hist[0].ExpiresAt.Equal(now.Add(30*24*time.Hour)) || hist[1].State != StateFixed || hist[1].SetBy != "carol" {
			t.Fatalf("history %+v", hist)
		}
		verifyOK(t, s)
	})
}

func TestFindingInputAndStateRules(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	setClock(s, now)
	f := newFixture(t, s, "x")
	good := FindingInput{Rule: "R", FileSHA256: sha("a"), Location: "l", Severity: finding.Low, Message: "m"}
	bad := []FindingInput{
		{Rule: "", FileSHA256: sha("a"), Severity: finding.Low},
		{Rule: "R R", FileSHA256: sha("a"), Severity: finding.Low},
		{Rule: "R", FileSHA256: "abc", Severity: finding.Low},
		{Rule: "R", FileSHA256: sha("a"), Severity: 0},
		{Rule: "R", FileSHA256: sha("a"), Severity: finding.Low, Location: "a\x00b"},
	}
	for _, in := range bad {
		_, err := s.RecordFindings(ctx, tester, f.version.ID, f.scan.ID, []FindingInput{good, in})
		wantErr(t, err, ErrInvalid)
	}
	// The evidence must be the version's.
	other := must[Version](t)(func() (Version, error) {
		v, _, err := s.PutVersion(ctx, tester, f.model.ID, "sha256:"+sha("v2"), "", nil)
		return v, err
	}())
	_, err := s.RecordFindings(ctx, tester, other.ID, f.scan.ID, []FindingInput{good})
	wantErr(t, err, ErrInvalid)
	_, err = s.RecordFindings(ctx, tester, f.version.ID, f.scan.ID+100, []FindingInput{good})
	wantErr(t, err, ErrNotFound)
	if n := count(t, s, "findings"); n != 0 {
		t.Fatalf("%d findings stored", n)
	}

	id := must[[]int64](t)(s.RecordFindings(ctx, tester, f.version.ID, f.scan.ID, []FindingInput{good}))[0]
	for _, st := range []FindingState{
		{State: "ignored", Reason: "r"},
		{State: StateAcceptedRisk, ExpiresAt: now.Add(time.Hour)},                              // no reason
		{State: StateAcceptedRisk, Reason: "r"},                                                // no expiry
		{State: StateAcceptedRisk, Reason: "r", ExpiresAt: now.Add(-time.Hour)},                // past
		{State: StateAcceptedRisk, Reason: "r", ExpiresAt: now.Add(MaxAcceptance + time.Hour)}, // too long
		{State: StateFalsePositive},                                                            // no reason
		{State: StateFixed, ExpiresAt: now.Add(time.Hour)},                                     // expiry on another state
	} {
		_, err := s.SetFindingState(ctx, tester, id, st)
		wantErr(t, err, ErrInvalid)
	}
	_, err = s.SetFindingState(ctx, tester, id+100, FindingState{State: StateFixed})
	wantErr(t, err, ErrNotFound)
	if n := count(t, s, "finding_states"); n != 0 {
		t.Fatalf("%d states stored", n)
	}
}
