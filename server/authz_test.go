package server

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// bomOf is a CycloneDX BOM listing files, as violet bom writes them.
func bomOf(name string, files []store.File) map[string]any {
	var comps []map[string]any
	for _, f := range files {
		comps = append(comps, map[string]any{"type": "file", "bom-ref": "file:" + f.Path, "name": f.Path,
			"hashes":     []map[string]string{{"alg": "SHA-256", "content": f.SHA256}},
			"properties": []map[string]string{{"name": "violet:file:size", "value": fmt.Sprint(f.Size)}}})
	}
	return map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
		"metadata":   map[string]any{"component": map[string]any{"type": "machine-learning-model", "name": name}},
		"components": comps}
}

// scope is how far an operation of the matrix reaches: it decides what a
// token of each team gets once its role holds the operation's permission.
type scope int

const (
	// scopeOwn: the token's own team (its model list, a new model, a BOM).
	scopeOwn scope = iota
	// scopeModel: a model of team alpha; to another team it does not exist.
	scopeModel
	// scopeTeam: team alpha's accounts (members, tokens).
	scopeTeam
	// scopeServer: the server's accounts (teams, users).
	scopeServer
)

// reach is the status each team's token gets, by scope, when its role is
// allowed (0: the operation's success status). "own" is team alpha,
// "other" team beta, "builtin" the built-in team AdminTeam.
var reach = map[scope]map[string]int{
	scopeOwn:    {"own": 0, "other": 0, "builtin": 0},
	scopeModel:  {"own": 0, "other": http.StatusNotFound, "builtin": http.StatusNotFound},
	scopeTeam:   {"own": 0, "other": http.StatusForbidden, "builtin": 0},
	scopeServer: {"own": http.StatusForbidden, "other": http.StatusForbidden, "builtin": 0},
}

// codeOf is the error code of each refusal.
var codeOf = map[int]string{
	http.StatusUnauthorized: "unauthorized",
	http.StatusForbidden:    "forbidden",
	http.StatusNotFound:     "not_found",
}

// TestAuthzMatrix: every operation × every role × a token of the
// model's team, of another team and of the built-in admin team, then no
// token and a bad token, on each backend. The roles each operation admits
// are written out here, not taken from RoleTable.
func TestAuthzMatrix(t *testing.T) {
	eachBackend(t, testAuthorizationMatrix)
}

func testAuthorizationMatrix(t *testing.T, dsn string) {
	// Scan requests are queued by a counter here (package jobs tests the
	// queue itself: it imports this package).
	var jobs atomic.Int64
	enqueue := func(*sql.Tx, store.ScanRequest) (int64, error) { return jobs.Add(1), nil }
	e := newEnv(t, dsn, Options{AuthFailures: RateLimit{Burst: 100000, Every: time.Millisecond},
		Uploads: RateLimit{Burst: 100000, Every: time.Millisecond}, Enqueue: enqueue, ScanRoots: []string{"/models"}})
	alpha, beta := e.team("alpha"), e.team("beta")
	tokens := map[string]map[store.Role]string{"own": {}, "other": {}, "builtin": {}}
	for _, r := range store.Roles() {
		tokens["own"][r] = e.token(alpha, "alpha-"+string(r), r)
		tokens["other"][r] = e.token(beta, "beta-"+string(r), r)
		tokens["builtin"][r] = e.token(e.adminTeam, "root-"+string(r), r)
	}
	dir, files := modelDir(t)
	own := tokens["own"][store.RoleAdmin]
	e.putModel(own, "m", files)
	e.putModel(tokens["other"][store.RoleAdmin], "beta-model", files)
	vp := versionPath("m", files)
	scanReport := scanJSON(t, dir)
	var scan evidenceJSON
	e.must(http.StatusCreated, e.do("POST", vp+"/evidence?kind=scan", own, scanReport)).decode(t, &scan)
	var findings pageJSON[findingJSON]
	e.must(http.StatusOK, e.do("GET", vp+"/findings", own, nil)).decode(t, &findings)
	// A release of m that requires every role that may sign off.
	versions, err := e.st.Versions(context.Background(), mustModel(t, e, alpha, "m").ID)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := e.st.CreateRelease(context.Background(), system, store.Release{VersionID: versions[0].ID, Title: "matrix",
		Tier: "high", Required: []string{"hr", "legal-compliance", "ml-engineer", "procurement", "security", "sme"}})
	if err != nil {
		t.Fatal(err)
	}
	rp := fmt.Sprintf("/api/v1/releases/%d", rel.ID)
	sreq, err := e.st.RequestScan(context.Background(), system, versions[0].ModelID, 0, store.ScanKindScan, "/models/m", enqueue)
	if err != nil {
		t.Fatal(err)
	}
	course, err := e.st.CreateCourse(context.Background(), system, store.Course{TeamID: alpha.ID, Title: "matrix", Topic: "regulatory",
		Roles: []string{"viewer"}, ValidDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	review, err := e.st.CreateProcurementReview(context.Background(), system, store.ProcurementReview{TeamID: alpha.ID, Vendor: "Acme",
		Product: "acme-llm", Kind: "llm-api"})
	if err != nil {
		t.Fatal(err)
	}
	if len(findings.Items) == 0 {
		t.Fatal("the malicious sample gave no finding")
	}
	fp := fmt.Sprintf("%s/findings/%d", vp, findings.Items[0].ID)
	// An incident and a drill of team alpha.
	inc, err := e.st.OpenIncident(context.Background(), system, "matrix",
		store.Incident{TeamID: alpha.ID, Type: "other", Severity: "low", Title: "matrix"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	drill, err := e.st.ScheduleDrill(context.Background(), system, store.Drill{TeamID: alpha.ID, Scenario: "leaked-signing-key",
		ScheduledAt: time.Now(), Participants: []store.DrillParticipant{{Role: store.RoleSecurity}}})
	if err != nil {
		t.Fatal(err)
	}
	ip, dp := fmt.Sprintf("/api/v1/incidents/%d", inc.ID), fmt.Sprintf("/api/v1/drills/%d", drill.ID)

	// A risk of team alpha's register.
	risk, err := e.st.CreateRisk(context.Background(), store.Actor{Name: "matrix"}, store.Risk{TeamID: alpha.ID,
		Category: store.RiskPrivacy, Title: "matrix", OwnerRole: store.RoleLegalCompliance, Likelihood: 1, Impact: 1,
		Treatment: store.TreatAccept, ReviewBy: time.Now().AddDate(0, 1, 0), Status: store.RiskOpen})
	if err != nil {
		t.Fatal(err)
	}
	riskPath := fmt.Sprintf("/api/v1/risks/%d", risk.ID)
	hook, err := e.st.CreateWebhook(context.Background(), system, store.Webhook{TeamID: alpha.ID, URL: "https://hooks.example/m",
		Format: "json", Events: store.WebhookEvents, Secret: "matrix shared secret"})
	if err != nil {
		t.Fatal(err)
	}
	hp := fmt.Sprintf("/api/v1/webhooks/%d", hook.ID)
	pub := publicKeyPEM(t)
	signer, err := e.st.AddTrustedSigner(context.Background(), system, store.TrustedSigner{TeamID: alpha.ID, Name: "matrix key",
		Kind: store.SignerKey, Material: pub})
	if err != nil {
		t.Fatal(err)
	}

	const (
		all    = "admin ml-engineer security sme legal-compliance hr procurement viewer"
		write  = "admin ml-engineer security"
		triage = "admin security"
		// signerRoles manage the team's trusted signers.
		signerRoles = "admin security"
		admin       = "admin"
		// riskRoles write the risk register, threatRoles threat models.
		riskRoles   = "admin security sme legal-compliance hr procurement"
		threatRoles = "admin ml-engineer security"
	)
	n := 0
	unique := func(prefix string) string { n++; return fmt.Sprintf("%s-%d", prefix, n) }
	cases := []struct {
		method, path string
		roles        string
		scope        scope
		ok           int
		body         func() any
	}{
		{"GET", "/api/v1/teams", admin, scopeServer, 200, nil},
		{"POST", "/api/v1/teams", admin, scopeServer, 201, func() any { return map[string]string{"name": unique("team")} }},
		{"POST", "/api/v1/teams/alpha/members", admin, scopeTeam, 201, func() any {
			login := unique("member")
			e.must(201, e.do("POST", "/api/v1/users", e.admin, map[string]string{"login": login, "team": "beta", "role": "viewer"}))
			return map[string]string{"login": login, "role": "sme"}
		}},
		{"POST", "/api/v1/users", admin, scopeServer, 201, func() any {
			return map[string]string{"login": unique("user"), "team": "alpha", "role": "viewer"}
		}},
		{"POST", "/api/v1/tokens", admin, scopeTeam, 201, func() any {
			return map[string]any{"login": "alpha-viewer", "team": "alpha", "role": "viewer", "name": unique("ci"), "expires_in_days": 30}
		}},
		{"GET", "/api/v1/audit", admin, scopeServer, 200, nil},
		{"GET", "/api/v1/webhooks", admin, scopeOwn, 200, nil},
		{"POST", "/api/v1/webhooks", admin, scopeOwn, 201, func() any {
			return map[string]any{"url": "https://hooks.example/" + unique("hook"), "format": "slack",
				"events": []string{"incident.opened"}, "secret": "a shared secret for the matrix"}
		}},
		{"DELETE", hp, admin, scopeModel, 200, nil},
		{"GET", hp + "/deliveries", admin, scopeModel, 200, nil},
		{"GET", "/api/v1/signers", all, scopeOwn, 200, nil},
		{"POST", "/api/v1/signers", signerRoles, scopeOwn, 201, func() any {
			return map[string]string{"name": unique("key"), "kind": "key", "material": pub}
		}},
		{"DELETE", fmt.Sprintf("/api/v1/signers/%d", signer.ID), signerRoles, scopeModel, 204, nil},
		{"GET", "/api/v1/models", all, scopeOwn, 200, nil},
		{"POST", "/api/v1/models", write, scopeOwn, 201, func() any {
			return map[string]string{"name": unique("model"), "source_kind": "huggingface", "source_ref": "org/name"}
		}},
		{"GET", "/api/v1/models/m", all, scopeModel, 200, nil},
		{"GET", "/api/v1/models/m/versions", all, scopeModel, 200, nil},
		{"POST", "/api/v1/models/m/scans", write, scopeModel, 202, func() any { return map[string]string{"location": "/models/m"} }},
		{"POST", "/api/v1/models/m/scans", write, scopeModel, 202, func() any {
			return map[string]string{"location": "/models/m", "kind": "verify"}
		}},
		{"GET", "/api/v1/models/m/scans", all, scopeModel, 200, nil},
		{"GET", fmt.Sprintf("/api/v1/models/m/scans/%d", sreq.ID), all, scopeModel, 200, nil},
		{"PUT", vp, write, scopeModel, 200, func() any { return map[string]any{"label": "v1", "files": files} }},
		{"GET", vp + "/evidence", all, scopeModel, 200, nil},
		{"POST", vp + "/evidence?kind=scan", write, scopeModel, 200, func() any { return scanReport }},
		{"GET", vp + "/findings", all, scopeModel, 200, nil},
		{"GET", fp + "/history", all, scopeModel, 200, nil},
		{"PUT", fp + "/state", triage, scopeModel, 201, func() any { return map[string]string{"state": "fixed"} }},
		{"PUT", "/api/v1/bom", write, scopeOwn, 201, func() any {
			return map[string]any{"projectName": unique("bom"), "projectVersion": "1.0", "bom": bomOf("x", files)}
		}},
		{"GET", "/api/v1/models/m/owners", all, scopeModel, 200, nil},
		{"GET", vp + "/scans", all, scopeModel, 200, nil},
		{"GET", fmt.Sprintf("%s/scans/%d/changes", vp, scan.ID), all, scopeModel, 200, nil},
		{"GET", vp + "/lineage", all, scopeModel, 200, nil},
		{"GET", vp + "/packages", all, scopeModel, 200, nil},
		{"GET", "/api/v1/where-used?package=torch", all, scopeOwn, 200, nil},
		{"GET", "/api/v1/discoveries", all, scopeOwn, 200, nil},
		{"POST", "/api/v1/discoveries?source=repo", write, scopeOwn, 201, func() any {
			return map[string]any{"schema_version": "1", "root": unique("root"), "assets": []any{}}
		}},
		{"GET", "/api/v1/risks?overdue=true", all, scopeOwn, 200, nil},
		{"POST", "/api/v1/risks", riskRoles, scopeOwn, 201, func() any { return riskBody(unique("risk"), "") }},
		{"GET", riskPath, all, scopeModel, 200, nil},
		{"PUT", riskPath, riskRoles, scopeModel, 200, func() any { return riskBody(unique("risk"), "open") }},
		{"GET", "/api/v1/models/m/threat-model", all, scopeModel, 200, nil},
		{"PUT", "/api/v1/models/m/threat-model", threatRoles, scopeModel, 200, func() any {
			return map[string]any{"assets": unique("weights"), "techniques": []map[string]any{{"id": "AML.T0051", "residual": "low"}}}
		}},
		{"POST", "/api/v1/models/m/threat-model/prefill", threatRoles, scopeModel, 200, nil},
		{"GET", "/api/v1/blast-radius?package=torch", all, scopeOwn, 200, nil},
		{"GET", "/api/v1/incidents", all, scopeOwn, 200, nil},
		{"POST", "/api/v1/incidents", write, scopeOwn, 201, func() any {
			return map[string]any{"type": "other", "severity": "low", "title": unique("incident"),
				"blast_radius": []map[string]string{{"package": "torch"}}}
		}},
		{"GET", ip, all, scopeModel, 200, nil},
		{"POST", ip + "/events", "admin ml-engineer security sme legal-compliance hr procurement", scopeModel, 201, func() any {
			return map[string]string{"text": unique("event")}
		}},
		{"PUT", ip + "/state", write, scopeModel, 200, func() any { return map[string]string{"state": "contained"} }},
		{"POST", ip + "/affected", write, scopeModel, 200, func() any {
			return map[string]any{"blast_radius": []map[string]string{{"package": "torch"}}}
		}},
		{"GET", "/api/v1/drill-scenarios", all, scopeOwn, 200, nil},
		{"GET", "/api/v1/drills", all, scopeOwn, 200, nil},
		{"POST", "/api/v1/drills", triage, scopeOwn, 201, func() any {
			return map[string]any{"scenario": "poisoned-checkpoint", "scheduled_at": "2026-03-01T09:00:00Z",
				"participants": []map[string]string{{"role": "security"}, {"role": "ml-engineer"}}}
		}},
		{"GET", dp, all, scopeModel, 200, nil},
		{"POST", dp + "/start", triage, scopeModel, 200, nil},
		{"POST", dp + "/close", triage, scopeModel, 200, func() any {
			return map[string]any{"findings": "the key hint was found in an hour", "follow_ups": []string{"rotate yearly"}}
		}},
		{"GET", "/api/v1/training/courses", all, scopeOwn, 200, nil},
		{"POST", "/api/v1/training/courses", "admin hr", scopeOwn, 201, func() any {
			return map[string]any{"title": unique("course"), "topic": "ethical-ai", "roles": []string{"sme"}, "valid_days": 365}
		}},
		{"POST", fmt.Sprintf("/api/v1/training/courses/%d/completions", course.ID), "admin hr", scopeModel, 201, func() any {
			return map[string]any{"login": "alpha-viewer", "completed_at": time.Now().Add(-time.Hour)}
		}},
		{"GET", "/api/v1/training/status", all, scopeOwn, 200, nil},
		{"GET", "/metrics", all, scopeOwn, 200, nil},
		{"GET", "/api/v1/metrics", all, scopeOwn, 200, nil},
		{"PUT", "/api/v1/metrics/targets", admin, scopeOwn, 200, func() any {
			return map[string]any{"metric": "findings_open", "series": "severity=critical", "target": 0}
		}},
		{"GET", "/api/v1/procurement/reviews", all, scopeOwn, 200, nil},
		{"POST", "/api/v1/procurement/reviews", "procurement", scopeOwn, 201, func() any {
			return map[string]any{"vendor": unique("vendor"), "product": "p", "kind": "llm-api", "answers": map[string]string{"hosting_region": "eu"}}
		}},
		{"PUT", fmt.Sprintf("/api/v1/procurement/reviews/%d/decision", review.ID), "procurement", scopeModel, 200, func() any {
			return map[string]any{"decision": "approved-with-conditions", "conditions": "EU only"}
		}},
		{"GET", "/api/v1/reports/weekly?format=html", all, scopeOwn, 200, nil},
		{"GET", "/api/v1/releases", all, scopeOwn, 200, nil},
		{"POST", "/api/v1/releases", write, scopeModel, 201, func() any {
			return map[string]any{"model": "m", "digest": rel.Digest, "title": unique("release"), "tier": "low"}
		}},
		{"GET", rp, all, scopeModel, 200, nil},
		{"GET", rp + "/record", all, scopeModel, 200, nil},
		{"POST", rp + "/decisions", "ml-engineer security sme legal-compliance hr procurement", scopeModel, 201, func() any {
			return map[string]any{"decision": "approve", "reason": "reviewed", "digest": rel.Digest}
		}},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		for _, rt := range Routes() {
			if rt.Method == c.method && matches(rt.Pattern, strings.Split(c.path, "?")[0]) {
				covered[rt.Method+" "+rt.Pattern] = true
			}
		}
		reaches, ok := reach[c.scope]
		if !ok {
			t.Fatalf("%s %s: scope %d has no row in reach", c.method, c.path, c.scope)
		}
		body := func() any {
			if c.body == nil {
				return nil
			}
			return c.body()
		}
		check := func(who string, role store.Role, token string, want int) {
			t.Helper()
			r := e.do(c.method, c.path, token, body())
			if r.status != want {
				t.Errorf("%s %s as %s of %s team: %d, want %d: %s", c.method, c.path, role, who, r.status, want, r.body)
			} else if code, refused := codeOf[want]; refused && r.code() != code {
				t.Errorf("%s %s as %s of %s team: code %q, want %q: %s", c.method, c.path, role, who, r.code(), code, r.body)
			}
		}
		for _, role := range store.Roles() {
			allowed := slices.Contains(strings.Fields(c.roles), string(role))
			for _, who := range []string{"own", "other", "builtin"} {
				want := reaches[who]
				switch {
				case !allowed:
					want = http.StatusForbidden
				case want == 0:
					want = c.ok
				}
				check(who, role, tokens[who][role], want)
			}
		}
		check("no", "", "", http.StatusUnauthorized)
		check("a bad token's", "", store.TokenPrefix+"not-a-token", http.StatusUnauthorized)
	}
	for _, rt := range Routes() {
		if rt.Perm != PermPublic && !covered[rt.Method+" "+rt.Pattern] {
			t.Errorf("the matrix does not cover %s %s", rt.Method, rt.Pattern)
		}
	}
	// A token of another team never sees the team's models in a list.
	r := e.must(200, e.do("GET", "/api/v1/models?limit=500", tokens["other"][store.RoleAdmin], nil))
	if r.contains(`"name":"m"`) {
		t.Errorf("team beta lists team alpha's model: %s", r.body)
	}
}

// mustModel returns the team's model named name.
func mustModel(t *testing.T, e *env, team store.Team, name string) store.Model {
	t.Helper()
	models, err := e.st.Models(context.Background(), team.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range models {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("model %q of team %s: not found", name, team.Name)
	return store.Model{}
}

// TestAuthzAdministers: the rule of account administration, as data.
func TestAuthzAdministers(t *testing.T) {
	for _, c := range []struct {
		role         store.Role
		team, target string
		want         bool
	}{
		{store.RoleAdmin, AdminTeam, "", true},
		{store.RoleAdmin, AdminTeam, "alpha", true},
		{store.RoleAdmin, AdminTeam, AdminTeam, true},
		{store.RoleAdmin, "alpha", "alpha", true},
		{store.RoleAdmin, "alpha", "", false},
		{store.RoleAdmin, "alpha", "beta", false},
		{store.RoleAdmin, "alpha", AdminTeam, false},
		{store.RoleAdmin, "Admin", "", false},
		{store.RoleSecurity, AdminTeam, "", false},
		{store.RoleSecurity, AdminTeam, "alpha", false},
		{store.RoleViewer, "alpha", "alpha", false},
	} {
		if got := administers(c.role, c.team, c.target); got != c.want {
			t.Errorf("administers(%s, %q, %q) = %v, want %v", c.role, c.team, c.target, got, c.want)
		}
	}
}

// TestAuthzAdminScope: a team's admin administers its team only. It is refused
// (403, whether the team exists or not) on the built-in team and on a team
// that does not exist, changes nothing when refused, and the admins and
// tokens it makes in its team are as confined as it is.
func TestAuthzAdminScope(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, Options{})
		ctx := context.Background()
		alpha := e.team("alpha")
		e.team("beta")
		lead := e.token(alpha, "lead", store.RoleAdmin)
		forbidden := func(r response) {
			t.Helper()
			if r.status != http.StatusForbidden || r.code() != "forbidden" {
				t.Errorf("status %d, want 403 forbidden: %s", r.status, r.body)
			}
		}
		forbidden(e.do("POST", "/api/v1/teams/nosuch/members", lead, map[string]string{"login": "lead", "role": "viewer"}))
		forbidden(e.do("POST", "/api/v1/teams/"+AdminTeam+"/members", lead, map[string]string{"login": "lead", "role": "admin"}))
		forbidden(e.do("POST", "/api/v1/tokens", lead, map[string]any{"login": "root", "team": AdminTeam, "role": "admin", "name": "steal"}))
		forbidden(e.do("POST", "/api/v1/tokens", lead, map[string]any{"login": "lead", "team": "nosuch", "role": "admin", "name": "x"}))
		u, err := e.st.UserByLogin(ctx, "lead")
		if err != nil {
			t.Fatal(err)
		}
		if ms, err := e.st.Memberships(ctx, u.ID); err != nil || len(ms) != 1 || ms[0].TeamID != alpha.ID {
			t.Errorf("lead's memberships after the refusals: %v, %v", ms, err)
		}

		// The built-in admin is told that a team does not exist.
		for _, r := range []response{
			e.do("POST", "/api/v1/teams/nosuch/members", e.admin, map[string]string{"login": "lead", "role": "viewer"}),
			e.do("POST", "/api/v1/tokens", e.admin, map[string]any{"login": "lead", "team": "nosuch", "role": "admin", "name": "x"}),
		} {
			if r.status != http.StatusNotFound || r.code() != "not_found" {
				t.Errorf("the built-in admin, a missing team: %d %s", r.status, r.body)
			}
		}

		// Alpha's admin makes bob an admin of alpha, with a token: bob is
		// alpha's admin, not the server's nor beta's.
		e.must(http.StatusCreated, e.do("POST", "/api/v1/users", e.admin, map[string]string{"login": "bob", "team": "beta", "role": "viewer"}))
		e.must(http.StatusCreated, e.do("POST", "/api/v1/teams/alpha/members", lead, map[string]string{"login": "bob", "role": "admin"}))
		var tok tokenJSON
		e.must(http.StatusCreated, e.do("POST", "/api/v1/tokens", lead,
			map[string]any{"login": "bob", "team": "alpha", "role": "admin", "name": "bob"})).decode(t, &tok)
		e.must(http.StatusCreated, e.do("POST", "/api/v1/teams/alpha/members", tok.Secret, map[string]string{"login": "root", "role": "viewer"}))
		forbidden(e.do("GET", "/api/v1/teams", tok.Secret, nil))
		forbidden(e.do("POST", "/api/v1/users", tok.Secret, map[string]string{"login": "carol", "team": "alpha", "role": "viewer"}))
		forbidden(e.do("POST", "/api/v1/teams/beta/members", tok.Secret, map[string]string{"login": "bob", "role": "admin"}))
		forbidden(e.do("POST", "/api/v1/tokens", tok.Secret, map[string]any{"login": "bob", "team": "beta", "role": "viewer", "name": "b"}))
	})
}

// matches reports whether path fits a mux pattern's segments.
func matches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if !strings.HasPrefix(ps[i], "{") && ps[i] != xs[i] {
			return false
		}
	}
	return true
}

// riskBody is a risk as POST and PUT /api/v1/risks take it.
func riskBody(title, status string) map[string]any {
	return map[string]any{"category": "ethics-bias", "title": title, "owner_role": "hr", "likelihood": 2, "impact": 5,
		"treatment": "mitigate", "plan": "audit the scores by group", "review_by": time.Now().AddDate(0, 2, 0).Format(time.DateOnly),
		"status": status}
}
