package store

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/finding"
)

// TestAuditHashVector pins the canonical encoding: the hash below was
// computed by an independent implementation (Python's hashlib and
// struct.pack(">Q")) of the encoding documented in audit.go. A change of
// the encoding breaks every stored chain, so it must fail here.
func TestAuditHashVector(t *testing.T) {
	r := AuditRecord{Seq: 1, At: time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC), Actor: "alice",
		Action: "team.create", Object: "team/1", Detail: `{"name":"a"}`, Remote: "10.0.0.1:5", PrevHash: GenesisHash}
	const want = "4adb4a2808ad8cc3e7b8d89ae88b968c31f82a9419a28961944d9f7b4ce1af52"
	if got := r.ComputeHash(); got != want {
		t.Fatalf("hash %s, want %s", got, want)
	}
}

// mutation is one mutating method of the store, run on a fixture.
type mutation struct {
	action string
	do     func(ctx context.Context, s *Store, f fixture) error
}

// mutations lists every mutating method with the audit action it records.
// TestEveryMethodIsClassified keeps it complete.
var mutations = map[string]mutation{
	"CreateTeam": {"team.create", func(ctx context.Context, s *Store, f fixture) error {
		_, err := s.CreateTeam(ctx, tester, "another team")
		return err
	}},
	"CreateUser": {"user.create", func(ctx context.Context, s *Store, f fixture) error {
		_, err := s.CreateUser(ctx, tester, "bob", "Bob", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g")
		return err
	}},
	"AddMember": {"member.add", func(ctx context.Context, s *Store, f fixture) error {
		return s.AddMember(ctx, tester, Membership{TeamID: f.team.ID, UserID: f.user.ID, Role: RoleViewer})
	}},
	"RemoveMember": {"member.remove", func(ctx context.Context, s *Store, f fixture) error {
		return s.RemoveMember(ctx, tester, Membership{TeamID: f.team.ID, UserID: f.user.ID, Role: RoleMLEngineer})
	}},
	"CreateToken": {"token.create", func(ctx context.Context, s *Store, f fixture) error {
		_, _, err := s.CreateToken(ctx, tester, TokenSpec{Name: "ci", UserID: f.user.ID, TeamID: f.team.ID,
			Role: RoleMLEngineer, ExpiresAt: s.now().Add(time.Hour)})
		return err
	}},
	"AuthenticateToken": {"token.use", func(ctx context.Context, s *Store, f fixture) error {
		secret, _, err := s.CreateToken(ctx, tester, TokenSpec{Name: "ci", UserID: f.user.ID, TeamID: f.team.ID,
			Role: RoleMLEngineer, ExpiresAt: s.now().Add(time.Hour)})
		if err != nil {
			return err
		}
		_, err = s.AuthenticateToken(ctx, secret, "10.1.2.3:4")
		return err
	}},
	"RevokeToken": {"token.revoke", func(ctx context.Context, s *Store, f fixture) error {
		_, tok, err := s.CreateToken(ctx, tester, TokenSpec{Name: "ci", UserID: f.user.ID, TeamID: f.team.ID,
			Role: RoleMLEngineer, ExpiresAt: s.now().Add(time.Hour)})
		if err != nil {
			return err
		}
		return s.RevokeToken(ctx, tester, tok.ID)
	}},
	"CreateModel": {"model.create", func(ctx context.Context, s *Store, f fixture) error {
		_, err := s.CreateModel(ctx, tester, Model{TeamID: f.team.ID, Name: "other", SourceKind: SourcePath, SourceRef: "/m"})
		return err
	}},
	"PutVersion": {"version.create", func(ctx context.Context, s *Store, f fixture) error {
		_, _, err := s.PutVersion(ctx, tester, f.model.ID, "sha256:"+sha("v2"), "v2",
			[]File{{Path: "model.safetensors", SHA256: sha("w2"), Size: 1}})
		return err
	}},
	"AddEvidence": {"evidence.add", func(ctx context.Context, s *Store, f fixture) error {
		_, _, err := s.AddEvidence(ctx, tester, f.version.ID, EvidenceBOM, []byte(`{"bomFormat":"CycloneDX"}`))
		return err
	}},
	"AddScanEvidence": {"findings.record", func(ctx context.Context, s *Store, f fixture) error {
		_, _, err := s.AddScanEvidence(ctx, tester, f.version.ID, []byte(`{"files":[]}`), "v1.2.3", []FindingInput{
			{Rule: "PICKLE-GLOBAL", FileSHA256: sha("weights"), Location: "data.pkl", Severity: finding.High, Message: "m"}})
		return err
	}},
	"AddBOMEvidence": {"inventory.derive", func(ctx context.Context, s *Store, f fixture) error {
		_, _, err := s.AddBOMEvidence(ctx, tester, f.version.ID, []byte(`{"bomFormat":"CycloneDX"}`), []LineageLink{
			{Kind: LineageModel, Relation: "adapter", Name: "org/base", Ref: "pkg:huggingface/org/base"}})
		return err
	}},
	"AddDepsEvidence": {"inventory.derive", func(ctx context.Context, s *Store, f fixture) error {
		_, _, err := s.AddDepsEvidence(ctx, tester, f.version.ID, []byte(`{"files":[]}`), []Package{
			{Ecosystem: "PyPI", Name: "torch", Version: "2.11.0", Manifest: "requirements.txt", Line: 1}})
		return err
	}},
	"AddDiscovery": {"discovery.add", func(ctx context.Context, s *Store, f fixture) error {
		_, _, err := s.AddDiscovery(ctx, tester, f.team.ID, "git.example/platform", []byte(`{"assets":[]}`), []ModelOwner{
			{ModelID: f.model.ID, Owner: "@org/ml", Via: OwnerViaCodeowners, Asset: "models/m"}})
		return err
	}},
	"CreateRelease": {"release.create", func(ctx context.Context, s *Store, f fixture) error {
		_, err := s.CreateRelease(ctx, tester, Release{VersionID: f.version.ID, Title: "to prod", Tier: "low", Required: []string{"ml-engineer"}})
		return err
	}},
	"DecideRelease": {"release.approve", func(ctx context.Context, s *Store, f fixture) error {
		r, err := s.CreateRelease(ctx, tester, Release{VersionID: f.version.ID, Title: "to prod", Tier: "low", Required: []string{"ml-engineer"}})
		if err != nil {
			return err
		}
		_, err = s.DecideRelease(ctx, tester, f.user.ID, ReleaseDecision{ReleaseID: r.ID, Role: "ml-engineer", Decision: DecisionApprove,
			Reason: "ok", Digest: r.Digest})
		return err
	}},
	"CreateRisk": {"risk.create", func(ctx context.Context, s *Store, f fixture) error {
		_, err := s.CreateRisk(ctx, tester, testRisk(s, f))
		return err
	}},
	"UpdateRisk": {"risk.update", func(ctx context.Context, s *Store, f fixture) error {
		r, err := s.CreateRisk(ctx, tester, testRisk(s, f))
		if err != nil {
			return err
		}
		r.Status = RiskClosed
		_, err = s.UpdateRisk(ctx, tester, r)
		return err
	}},
	"PutThreatModel": {"threat.put", func(ctx context.Context, s *Store, f fixture) error {
		_, err := s.PutThreatModel(ctx, tester, ThreatModel{ModelID: f.model.ID, Assets: "weights", Threats: []Threat{
			{Technique: "AML.T0051", Controls: []string{"scan"}, Residual: ResidualMedium}}})
		return err
	}},
	"OpenIncident": {"incident.assets", func(ctx context.Context, s *Store, f fixture) error {
		_, err := s.OpenIncident(ctx, tester, "alice", testIncident(f), []BlastQuery{{File: sha("config")}})
		return err
	}},
	"AttachAffected": {"incident.assets", func(ctx context.Context, s *Store, f fixture) error {
		i, err := s.OpenIncident(ctx, tester, "alice", testIncident(f), nil)
		if err == nil {
			_, err = s.AttachAffected(ctx, tester, i.ID, "alice", []BlastQuery{{File: sha("config")}})
		}
		return err
	}},
	"AddIncidentEvent": {"incident.event", func(ctx context.Context, s *Store, f fixture) error {
		i, err := s.OpenIncident(ctx, tester, "alice", testIncident(f), nil)
		if err == nil {
			_, err = s.AddIncidentEvent(ctx, tester, i.ID, "alice", "rotated the key")
		}
		return err
	}},
	"SetIncidentState": {"incident.state", func(ctx context.Context, s *Store, f fixture) error {
		i, err := s.OpenIncident(ctx, tester, "alice", testIncident(f), nil)
		if err == nil {
			_, _, err = s.SetIncidentState(ctx, tester, i.ID, "alice", IncidentContained, time.Time{})
		}
		return err
	}},
	"AddVerifyEvidence": {"inventory.derive", func(ctx context.Context, s *Store, f fixture) error {
		_, _, err := s.AddVerifyEvidence(ctx, tester, f.version.ID, []byte(`{"verified":true}`), []string{"key-hint"})
		return err
	}},
	"ScheduleDrill": {"drill.schedule", func(ctx context.Context, s *Store, f fixture) error {
		_, err := s.ScheduleDrill(ctx, tester, testDrill(f))
		return err
	}},
	"StartDrill": {"drill.start", func(ctx context.Context, s *Store, f fixture) error {
		d, err := s.ScheduleDrill(ctx, tester, testDrill(f))
		if err == nil {
			_, _, err = s.StartDrill(ctx, tester, d.ID, "alice")
		}
		return err
	}},
	"CloseDrill": {"drill.close", func(ctx context.Context, s *Store, f fixture) error {
		d, err := s.ScheduleDrill(ctx, tester, testDrill(f))
		if err == nil {
			_, _, err = s.StartDrill(ctx, tester, d.ID, "alice")
		}
		if err == nil {
			_, _, err = s.CloseDrill(ctx, tester, d.ID, "alice", "found late", []string{"page security"})
		}
		return err
	}},
	"CreateCourse": {"course.create", func(ctx context.Context, s *Store, f fixture) error {
		_, err := s.CreateCourse(ctx, tester, Course{TeamID: f.team.ID, Title: "t", Topic: "regulatory", Roles: []string{"hr"}, ValidDays: 30})
		return err
	}},
	"RecordCompletion": {"training.complete", func(ctx context.Context, s *Store, f fixture) error {
		c, err := s.CreateCourse(ctx, tester, Course{TeamID: f.team.ID, Title: "t", Topic: "regulatory", Roles: []string{"hr"}, ValidDays: 30})
		if err != nil {
			return err
		}
		_, err = s.RecordCompletion(ctx, tester, c.ID, f.user.ID, s.now().Add(-time.Hour))
		return err
	}},
	"CreateProcurementReview": {"procurement.create", func(ctx context.Context, s *Store, f fixture) error {
		_, err := s.CreateProcurementReview(ctx, tester, ProcurementReview{TeamID: f.team.ID, Vendor: "v", Product: "p", Kind: "llm-api"})
		return err
	}},
	"DecideProcurementReview": {"procurement.decide", func(ctx context.Context, s *Store, f fixture) error {
		r, err := s.CreateProcurementReview(ctx, tester, ProcurementReview{TeamID: f.team.ID, Vendor: "v", Product: "p", Kind: "llm-api"})
		if err != nil {
			return err
		}
		_, err = s.DecideProcurementReview(ctx, tester, r.ID, "approved", "")
		return err
	}},
	"RecordFindings": {"findings.record", func(ctx context.Context, s *Store, f fixture) error {
		_, err := s.RecordFindings(ctx, tester, f.version.ID, f.scan.ID, []FindingInput{
			{Rule: "PICKLE-GLOBAL", FileSHA256: sha("weights"), Location: "data.pkl", Severity: finding.High, Message: "m"}})
		return err
	}},
	"SetFindingState": {"finding.state", func(ctx context.Context, s *Store, f fixture) error {
		ids, err := s.RecordFindings(ctx, tester, f.version.ID, f.scan.ID, []FindingInput{
			{Rule: "PICKLE-GLOBAL", FileSHA256: sha("weights"), Location: "data.pkl", Severity: finding.High, Message: "m"}})
		if err != nil {
			return err
		}
		_, err = s.SetFindingState(ctx, tester, ids[0], FindingState{State: StateFixed})
		return err
	}},
	"SetMetricTarget": {"metric.target", func(ctx context.Context, s *Store, f fixture) error {
		return s.SetMetricTarget(ctx, tester, f.team.ID, "coverage_ratio", "control=scanned", 0.9)
	}},
	"TakeSnapshot": {"metrics.snapshot", func(ctx context.Context, s *Store, f fixture) error {
		_, err := s.TakeSnapshot(ctx, tester, s.now())
		return err
	}},
	"QueueDueNotices": {"notices.queue", func(ctx context.Context, s *Store, f fixture) error {
		if _, err := s.CreateCourse(ctx, tester, Course{TeamID: f.team.ID, Title: "t", Topic: "regulatory", Roles: []string{"ml-engineer"}, ValidDays: 30}); err != nil {
			return err
		}
		_, err := s.QueueDueNotices(ctx, tester)
		return err
	}},
	"QueueWeeklyReport": {"report.weekly", func(ctx context.Context, s *Store, f fixture) error {
		_, err := s.QueueWeeklyReport(ctx, tester, f.team.ID, func() (string, error) { return "# report", nil })
		return err
	}},
	"CreateWebhook": {"webhook.create", func(ctx context.Context, s *Store, f fixture) error {
		_, err := s.CreateWebhook(ctx, tester, Webhook{TeamID: f.team.ID, URL: "https://hooks.example/x", Format: "json",
			Events: []string{EventIncidentOpened}, Secret: "0123456789abcdef"})
		return err
	}},
	"DisableWebhook": {"webhook.disable", func(ctx context.Context, s *Store, f fixture) error {
		w, err := s.CreateWebhook(ctx, tester, Webhook{TeamID: f.team.ID, URL: "https://hooks.example/x", Format: "json",
			Events: []string{EventIncidentOpened}, Secret: "0123456789abcdef"})
		if err != nil {
			return err
		}
		return s.DisableWebhook(ctx, tester, f.team.ID, w.ID)
	}},
	"AddTrustedSigner": {"signer.trust", func(ctx context.Context, s *Store, f fixture) error {
		_, err := s.AddTrustedSigner(ctx, tester, TrustedSigner{TeamID: f.team.ID, Name: "k", Kind: SignerKey, Material: "PEM"})
		return err
	}},
	"RemoveTrustedSigner": {"signer.remove", func(ctx context.Context, s *Store, f fixture) error {
		t, err := s.AddTrustedSigner(ctx, tester, TrustedSigner{TeamID: f.team.ID, Name: "k", Kind: SignerKey, Material: "PEM"})
		if err != nil {
			return err
		}
		return s.RemoveTrustedSigner(ctx, tester, f.team.ID, t.ID)
	}},
	"RequestScan": {"scan.request", func(ctx context.Context, s *Store, f fixture) error {
		_, err := s.RequestScan(ctx, tester, f.model.ID, 0, ScanKindScan, "/models/x", func(*sql.Tx, ScanRequest) (int64, error) { return 1, nil })
		return err
	}},
	"CompleteScan": {"scan.complete", func(ctx context.Context, s *Store, f fixture) error {
		r, err := s.RequestScan(ctx, tester, f.model.ID, f.version.ID, ScanKindRescan, "/models/x", func(*sql.Tx, ScanRequest) (int64, error) { return 1, nil })
		if err != nil {
			return err
		}
		_, err = s.CompleteScan(ctx, tester, r.ID, ScanResult{VersionID: f.version.ID, Report: []byte(`{"rescan":1}`), Scanner: "v1"}, nil)
		return err
	}},
	"RecordSignIn": {SignInPassword, func(ctx context.Context, s *Store, f fixture) error {
		return s.RecordSignIn(ctx, tester, SignIn{Event: SignInPassword, UserID: f.user.ID, Login: f.user.Login})
	}},
}

// readOnly lists the exported methods that change nothing.
var readOnly = []string{"AuditHead", "AuditLog", "Backup", "Close", "Dialect", "Discoveries", "DiscoveryReport",
	"EvidenceReport", "FindingHistory", "Lineage", "LineageUsers", "ModelOwners", "Packages", "PackageUsers",
	"Course", "Courses", "ProcurementApproved", "ProcurementReview", "ProcurementReviews", "TrainingStatus",
	"Release", "ReleaseDecisions", "Releases", "Risk", "Risks", "ScanChanges", "ScanRuns",
	"BlastRadius", "Drill", "Drills", "Incident", "IncidentAffected", "IncidentEvents", "Incidents",
	"UserLogin", "VersionSigners", "ThreatModel", "Metrics", "MetricHistory", "SetMetricsMaxAge",
	"ListEvidence", "Memberships", "Model", "Models", "Teams", "Tokens", "UserByLogin", "VerifyAudit",
	"VersionFiles", "VersionFindings", "Versions", "Webhooks", "WebhookDeliveries", "TrustedSigners",
	"JobDatabase", "ScanRequest", "ScanRequests", "RescanTargets", "ScanRunFindings", "QueuedScanRequests",
	"ScanCache", // ScanCache: derived results (scancache_test.go), not audited by design
	"Outbox"}    // Outbox: the dispatcher's bookkeeping (webhooks_test.go), not audited by design

// TestEveryMethodIsClassified fails when an exported method is added
// without saying whether it mutates (then it must be in mutations, with its
// audit record tested) or only reads.
func TestEveryMethodIsClassified(t *testing.T) {
	typ := reflect.TypeFor[*Store]()
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		_, mut := mutations[name]
		ro := false
		for _, r := range readOnly {
			ro = ro || r == name
		}
		if mut == ro {
			t.Errorf("method %s: list it in exactly one of mutations (audited) and readOnly", name)
		}
	}
}

// TestEveryMutationIsAudited runs every mutating method and checks that its
// audit record was appended, by the actor, with the last record being the
// method's own action, and that the chain verifies.
func TestEveryMutationIsAudited(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		for name, m := range mutations {
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, s, name)
				before := must[AuditHead](t)(s.AuditHead(ctx))
				if err := m.do(ctx, s, f); err != nil {
					t.Fatal(err)
				}
				recs := must[[]AuditRecord](t)(s.AuditLog(ctx, before.Seq, 0, ""))
				if len(recs) == 0 {
					t.Fatal("no audit record")
				}
				last := recs[len(recs)-1]
				if last.Action != m.action {
					t.Fatalf("last action %q, want %q (records %+v)", last.Action, m.action, recs)
				}
				if last.Actor != tester.Name && !strings.HasPrefix(last.Actor, "token/") {
					t.Fatalf("actor %q", last.Actor)
				}
				verifyOK(t, s)
			})
		}
	})
}

// TestNoOpsAndFailuresAreNotAudited: a repeated idempotent call changes
// nothing and records nothing; a failed call rolls back its change and
// its record together.
func TestNoOpsAndFailuresAreNotAudited(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		f := newFixture(t, s, "x")
		head := must[AuditHead](t)(s.AuditHead(ctx))
		if _, created, err := s.PutVersion(ctx, tester, f.model.ID, f.version.Digest, "other label",
			must[[]File](t)(s.VersionFiles(ctx, f.version.ID))); err != nil || created {
			t.Fatalf("repeated PutVersion: created %v, %v", created, err)
		}
		if _, created, err := s.AddEvidence(ctx, tester, f.version.ID, EvidenceScan, []byte(`{"findings":[]}`)); err != nil || created {
			t.Fatalf("repeated AddEvidence: created %v, %v", created, err)
		}
		_, err := s.CreateTeam(ctx, tester, f.team.Name)
		wantErr(t, err, ErrExists)
		_, err = s.CreateModel(ctx, tester, Model{TeamID: 999999, Name: "m", SourceKind: SourcePath, SourceRef: "/m"})
		wantErr(t, err, ErrNotFound)
		if got := must[AuditHead](t)(s.AuditHead(ctx)); got != head {
			t.Fatalf("audit head moved from %+v to %+v", head, got)
		}
		if n := count(t, s, "teams"); n != 1 {
			t.Fatalf("%d teams", n)
		}
		// An actor is required.
		_, err = s.CreateTeam(ctx, Actor{}, "anonymous")
		wantErr(t, err, ErrInvalid)
	})
}

// disableAuditTriggers lets a test tamper with the log as someone with
// full access to the database would.
func disableAuditTriggers(t *testing.T, s *Store) {
	t.Helper()
	var stmts []string
	if s.dialect == sqliteDialect {
		stmts = []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
	} else {
		stmts = []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`}
	}
	for _, q := range stmts {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerifyAuditNamesTheBrokenLink(t *testing.T) {
	tampers := []struct {
		name    string
		sql     []string
		seq     int64
		because string
	}{
		{"detail changed", []string{`UPDATE audit_log SET detail = '{"name":"evil"}' WHERE seq = 2`}, 2, "changed"},
		{"actor changed", []string{`UPDATE audit_log SET actor = 'mallory' WHERE seq = 4`}, 4, "changed"},
		{"time changed", []string{`UPDATE audit_log SET at = '2020-01-01T00:00:00.000000Z' WHERE seq = 3`}, 3, "changed"},
		{"row deleted", []string{`DELETE FROM audit_log WHERE seq = 3`}, 3, "missing"},
		{"first row deleted", []string{`DELETE FROM audit_log WHERE seq = 1`}, 1, "missing"},
		{"rows swapped", []string{
			`UPDATE audit_log SET seq = 1000 WHERE seq = 2`,
			`UPDATE audit_log SET seq = 2 WHERE seq = 3`,
			`UPDATE audit_log SET seq = 3 WHERE seq = 1000`}, 2, "prev_hash"},
		{"row replaced with a fresh hash", []string{
			`UPDATE audit_log SET detail = '{}', hash = '` + sha("forged") + `' WHERE seq = 2`}, 2, "changed"},
		{"forged row appended", []string{`INSERT INTO audit_log (seq, at, actor, action, object, detail, remote, prev_hash, hash)
			SELECT seq + 1, at, 'mallory', 'team.create', 'team/9', '{}', '', hash, '` + sha("x") + `'
			FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)`}, 6, "changed"},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range tampers {
				t.Run(tc.name, func(t *testing.T) {
					s := openT(t, b.target(t))
					ctx := context.Background()
					for _, name := range []string{"a", "b", "c", "d", "e"} {
						must[Team](t)(s.CreateTeam(ctx, tester, name))
					}
					if head := verifyOK(t, s); head.Seq != 5 {
						t.Fatalf("head %+v", head)
					}
					disableAuditTriggers(t, s)
					for _, q := range tc.sql {
						if _, err := s.db.Exec(q); err != nil {
							t.Fatal(err)
						}
					}
					_, err := s.VerifyAudit(ctx)
					var brk *AuditBreak
					if !errors.As(err, &brk) {
						t.Fatalf("tampering not detected: %v", err)
					}
					if brk.Seq != tc.seq || !strings.Contains(brk.Reason, tc.because) {
						t.Fatalf("break %+v, want seq %d, %q", brk, tc.seq, tc.because)
					}
				})
			}
		})
	}
}

// TestAuditTruncationNeedsAnAnchor documents the limit of a chain: removing
// the last records leaves a valid chain, and a head kept elsewhere shows it.
func TestAuditTruncationNeedsAnAnchor(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := context.Background()
	for _, name := range []string{"a", "b", "c"} {
		must[Team](t)(s.CreateTeam(ctx, tester, name))
	}
	anchor := verifyOK(t, s)
	disableAuditTriggers(t, s)
	if _, err := s.db.Exec(`DELETE FROM audit_log WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	if head := verifyOK(t, s); head == anchor || head.Seq != 2 {
		t.Fatalf("head %+v after truncation, anchor %+v", head, anchor)
	}
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		ctx := context.Background()
		f := newFixture(t, s, "x")
		ids := must[[]int64](t)(s.RecordFindings(ctx, tester, f.version.ID, f.scan.ID, []FindingInput{
			{Rule: "R1", FileSHA256: sha("weightsx"), Location: "a", Severity: finding.Low, Message: "m"}}))
		must[FindingState](t)(s.SetFindingState(ctx, tester, ids[0], FindingState{State: StateFixed}))
		head := verifyOK(t, s)
		refused := []string{
			`UPDATE audit_log SET detail = '{}' WHERE seq = 1`,
			`DELETE FROM audit_log WHERE seq = 1`,
			`DELETE FROM audit_log`,
			`UPDATE finding_states SET state = 'open'`,
			`DELETE FROM finding_states`,
		}
		if s.dialect == postgresDialect {
			refused = append(refused, `TRUNCATE audit_log`, `TRUNCATE finding_states`)
		}
		for _, q := range refused {
			_, err := s.db.Exec(q)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v, want refused as append-only", q, err)
			}
		}
		if got := verifyOK(t, s); got != head {
			t.Fatalf("head %+v, want %+v", got, head)
		}
		if n := count(t, s, "finding_states"); n != 1 {
			t.Fatalf("%d finding states", n)
		}
	})
}

// TestRecordSignIn: each sign-in event is one record with the user as
// object and the login in the detail; the login of a failed sign-in is
// clipped (it may be anything a browser sent), never more than 64 bytes,
// valid UTF-8; an unknown event records nothing.
func TestRecordSignIn(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := context.Background()
	u := must[User](t)(s.CreateUser(ctx, tester, "alice", "Alice", ""))
	web := Actor{Name: "web sign-in", Remote: "192.0.2.7:5555"}
	long := strings.Repeat("é", 40) + "\xff"
	events := []struct {
		a      Actor
		e      SignIn
		object string
		detail string
	}{
		{Actor{Name: "alice", Remote: "192.0.2.7:5555"}, SignIn{Event: SignInPassword, UserID: u.ID, Login: "alice"}, "user/1", `{"login":"alice"}`},
		{Actor{Name: "alice", Remote: "192.0.2.7:5555"}, SignIn{Event: SignInOIDC, UserID: u.ID, Login: "alice"}, "user/1", `{"login":"alice"}`},
		{Actor{Name: "alice", Remote: "192.0.2.7:5555"}, SignIn{Event: SignOut, UserID: u.ID, Login: "alice"}, "user/1", `{"login":"alice"}`},
		{web, SignIn{Event: SignInFailed, UserID: u.ID, Login: "alice", Reason: "wrong password"}, "user/1",
			`{"login":"alice","reason":"wrong password"}`},
		{web, SignIn{Event: SignInFailed, Login: long, Reason: "unknown login"}, "",
			`{"login":"` + strings.Repeat("é", 32) + `","reason":"unknown login"}`},
	}
	for _, ev := range events {
		before := must[AuditHead](t)(s.AuditHead(ctx))
		if err := s.RecordSignIn(ctx, ev.a, ev.e); err != nil {
			t.Fatal(err)
		}
		recs := must[[]AuditRecord](t)(s.AuditLog(ctx, before.Seq, 0, ""))
		if len(recs) != 1 {
			t.Fatalf("%+v: %d records", ev.e, len(recs))
		}
		r := recs[0]
		if r.Action != ev.e.Event || r.Actor != ev.a.Name || r.Remote != ev.a.Remote || r.Object != ev.object || r.Detail != ev.detail {
			t.Errorf("%+v: recorded %+v", ev.e, r)
		}
	}
	head := must[AuditHead](t)(s.AuditHead(ctx))
	wantErr(t, s.RecordSignIn(ctx, web, SignIn{Event: "user.create", Login: "x"}), ErrInvalid)
	wantErr(t, s.RecordSignIn(ctx, Actor{}, SignIn{Event: SignInFailed, Login: "x"}), ErrInvalid)
	if got := must[AuditHead](t)(s.AuditHead(ctx)); got != head {
		t.Fatalf("a refused call appended: %+v -> %+v", head, got)
	}
	verifyOK(t, s)
}
