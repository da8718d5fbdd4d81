package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/violet-mlsecops/violet/finding"
)

func TestEmbeddedMigrations(t *testing.T) {
	lite, pg := migrations(sqliteDialect), migrations(postgresDialect)
	if len(lite) == 0 || len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d: both dialects need the same versions", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].name != pg[i].name {
			t.Errorf("version %d: sqlite %s, postgres %s", i+1, lite[i].name, pg[i].name)
		}
	}
	if SchemaVersion() != len(lite) {
		t.Errorf("SchemaVersion %d, want %d", SchemaVersion(), len(lite))
	}
	if len(migrationSeeds) != len(lite) {
		t.Errorf("%d migration seeds for %d versions: add a seed for each new version", len(migrationSeeds), len(lite))
	}
}

func TestParseMigrationsRefusesBadSets(t *testing.T) {
	sqlFile := &fstest.MapFile{Data: []byte("SELECT 1;")}
	for name, files := range map[string]fstest.MapFS{
		"gap":       {"m/0001_a.sql": sqlFile, "m/0003_c.sql": sqlFile},
		"duplicate": {"m/0001_a.sql": sqlFile, "m/0001_b.sql": sqlFile},
		"from two":  {"m/0002_a.sql": sqlFile},
		"bad name":  {"m/0001_a.sql": sqlFile, "m/2_b.sql": sqlFile},
		"not sql":   {"m/0001_a.sql": sqlFile, "m/README": sqlFile},
		"empty":     {"m/x/0001_a.sql": sqlFile},
	} {
		if _, err := parseMigrations(files, "m"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ms, err := parseMigrations(fstest.MapFS{"m/0002_b.sql": sqlFile, "m/0001_a.sql": sqlFile}, "m")
	if err != nil || len(ms) != 2 || ms[0].name != "0001_a.sql" {
		t.Fatalf("good set: %v %v", ms, err)
	}
}

// tables lists the tables the schema must have after the last migration.
var tables = []string{"schema_migrations", "teams", "users", "memberships", "api_tokens", "audit_log",
	"models", "model_versions", "version_files", "evidence", "findings", "finding_sightings", "finding_states",
	"scan_runs", "scan_run_findings", "version_lineage", "version_packages", "discoveries", "model_owners",
	"releases", "release_decisions", "threat_models", "threat_techniques", "risks", "drills", "drill_participants",
	"drill_follow_ups", "incidents", "incident_events", "incident_assets", "version_signers", "courses",
	"training_completions", "procurement_reviews", "procurement_models", "metric_targets", "metric_snapshots"}

func TestMigrateUpFromEmpty(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		for _, tb := range tables {
			count(t, s, tb)
		}
		if n := count(t, s, "schema_migrations"); n != SchemaVersion() {
			t.Fatalf("%d versions recorded, want %d", n, SchemaVersion())
		}
		s.Close()
		// Opening again applies nothing and changes nothing.
		s = openT(t, target)
		if n := count(t, s, "schema_migrations"); n != SchemaVersion() {
			t.Fatalf("reopen: %d versions recorded, want %d", n, SchemaVersion())
		}
	})
}

// migrationSeeds[v-1] writes rows into the tables of version v, with the
// schema at version v (or later), as a database of that version would hold
// them. TestMigrateFromEveryVersion applies versions 1..k, seeds them,
// applies the rest and checks the rows. Every new migration adds its seed.
var migrationSeeds = []func(ctx context.Context, s *Store, tx *sql.Tx) error{
	// 0001_accounts
	func(ctx context.Context, s *Store, tx *sql.Tx) error {
		for _, q := range []string{
			`INSERT INTO teams (name, created_at) VALUES ('seed team', '2025-01-02T03:04:05.000000Z')`,
			`INSERT INTO users (login, display_name, password_hash, created_at)
			 VALUES ('seed', 'Seed', NULL, '2025-01-02T03:04:05.000000Z')`,
			`INSERT INTO memberships (team_id, user_id, role, created_at)
			 SELECT t.id, u.id, 'security', '2025-01-02T03:04:05.000000Z' FROM teams t, users u
			 WHERE t.name = 'seed team' AND u.login = 'seed'`,
			`INSERT INTO api_tokens (token_sha256, name, user_id, team_id, role, created_at, expires_at)
			 SELECT '` + sha("vlt_seed") + `', 'ci', u.id, t.id, 'security', '2025-01-02T03:04:05.000000Z',
			        '2999-01-01T00:00:00.000000Z'
			 FROM teams t, users u WHERE t.name = 'seed team' AND u.login = 'seed'`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		q := &auditQueue{actor: Actor{Name: "seed"}}
		q.add("team.create", "team/1", map[string]any{"name": "seed team"})
		q.add("user.create", "user/1", nil)
		return s.appendAudit(ctx, tx, q)
	},
	// 0002_inventory
	func(ctx context.Context, s *Store, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO models (team_id, name, source_kind, source_ref, created_at)
			SELECT id, 'seed model', 'path', '/models/seed', '2025-01-02T03:04:05.000000Z' FROM teams WHERE name = 'seed team'`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO model_versions (model_id, digest, label, created_at)
			SELECT id, $1, 'seed', '2025-01-02T03:04:05.000000Z' FROM models WHERE name = 'seed model'`,
			"sha256:"+sha("seed version")); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO version_files (version_id, path, sha256, size)
			SELECT id, 'model.bin', $1, 42 FROM model_versions WHERE label = 'seed'`, sha("seed file")); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO evidence (version_id, kind, sha256, size, report, uploaded_by, uploaded_at)
			SELECT id, 'scan', $1, $2, $3, 'seed', '2025-01-02T03:04:05.000000Z' FROM model_versions WHERE label = 'seed'`,
			sha(`{"seed":true}`), len(`{"seed":true}`), []byte(`{"seed":true}`)); err != nil {
			return err
		}
		q := &auditQueue{actor: Actor{Name: "seed"}}
		q.add("model.create", "model/1", nil)
		return s.appendAudit(ctx, tx, q)
	},
	// 0003_findings
	func(ctx context.Context, s *Store, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO findings (model_id, rule, file_sha256, location, severity, message, first_seen_at)
			SELECT id, 'PICKLE-GLOBAL', $1, 'data.pkl@12', 'critical', 'os.system', '2025-01-02T03:04:05.000000Z'
			FROM models WHERE name = 'seed model'`, sha("seed file")); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO finding_sightings (finding_id, version_id, evidence_id, seen_at)
			SELECT f.id, v.id, e.id, '2025-01-02T03:04:05.000000Z' FROM findings f, model_versions v, evidence e
			WHERE f.rule = 'PICKLE-GLOBAL' AND v.label = 'seed' AND e.version_id = v.id`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO finding_states (finding_id, state, reason, expires_at, set_by, set_at)
			SELECT id, 'false-positive', 'test fixture', NULL, 'seed', '2025-01-02T03:04:05.000000Z'
			FROM findings WHERE rule = 'PICKLE-GLOBAL'`); err != nil {
			return err
		}
		q := &auditQueue{actor: Actor{Name: "seed"}}
		q.add("finding.state", "finding/1", map[string]any{"state": "false-positive"})
		return s.appendAudit(ctx, tx, q)
	},
	// 0004_lineage
	func(ctx context.Context, s *Store, tx *sql.Tx) error {
		for _, q := range []string{
			`INSERT INTO scan_runs (evidence_id, version_id, scanner_version)
			 SELECT id, version_id, 'v0.9.0' FROM evidence WHERE kind = 'scan'`,
			`INSERT INTO scan_run_findings (evidence_id, finding_id) SELECT evidence_id, finding_id FROM finding_sightings`,
			`INSERT INTO evidence (version_id, kind, sha256, size, report, uploaded_by, uploaded_at)
			 SELECT id, 'bom', '` + sha(`{"bom":1}`) + `', 9, $1, 'seed', '2025-01-02T03:04:05.000000Z'
			 FROM model_versions WHERE label = 'seed'`,
			`INSERT INTO version_lineage (version_id, kind, relation, name, ref, evidence_id)
			 SELECT version_id, 'model', 'adapter', 'org/base', 'pkg:huggingface/org/base', id FROM evidence WHERE kind = 'bom'`,
			`INSERT INTO evidence (version_id, kind, sha256, size, report, uploaded_by, uploaded_at)
			 SELECT id, 'deps', '` + sha(`{"deps":1}`) + `', 10, $1, 'seed', '2025-01-02T03:04:05.000000Z'
			 FROM model_versions WHERE label = 'seed'`,
			`INSERT INTO version_packages (version_id, ecosystem, name, version, specifier, manifest, line, severity, evidence_id)
			 SELECT version_id, 'PyPI', 'torch', '2.5.0', '', 'requirements.txt', 3, 'critical', id FROM evidence WHERE kind = 'deps'`,
			`INSERT INTO discoveries (team_id, source, sha256, size, report, uploaded_by, uploaded_at)
			 SELECT id, 'git.example/seed', '` + sha(`{"assets":[]}`) + `', 13, $1, 'seed', '2025-01-02T03:04:05.000000Z'
			 FROM teams WHERE name = 'seed team'`,
			`INSERT INTO model_owners (model_id, owner, via, asset, discovery_id)
			 SELECT m.id, '@org/ml', 'codeowners', 'models/seed', d.id FROM models m, discoveries d WHERE m.name = 'seed model'`,
		} {
			// The reports are BLOB/bytea: given as bytes.
			var args []any
			for _, r := range []string{`{"bom":1}`, `{"deps":1}`, `{"assets":[]}`} {
				if strings.Contains(q, sha(r)) {
					args = append(args, []byte(r))
				}
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		q := &auditQueue{actor: Actor{Name: "seed"}}
		q.add("discovery.add", "discovery/1", nil)
		return s.appendAudit(ctx, tx, q)
	},
	// 0005_releases
	func(ctx context.Context, s *Store, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO releases (version_id, title, tier, third_party, required_roles, requested_by, requested_at)
			SELECT id, 'seed release', 'high', 1, 'procurement security', 'seed', '2025-01-02T03:04:05.000000Z'
			FROM model_versions WHERE label = 'seed'`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO release_decisions
			(release_id, role, decision, reason, digest, decided_by, actor, decided_at, signature)
			SELECT r.id, 'security', 'approve', 'seeded', v.digest, 'seed', 'seed', '2025-01-02T03:04:05.000000Z', $1
			FROM releases r JOIN model_versions v ON v.id = r.version_id`, []byte(`{"seed":1}`)); err != nil {
			return err
		}
		q := &auditQueue{actor: Actor{Name: "seed"}}
		q.add("release.create", "release/1", nil)
		return s.appendAudit(ctx, tx, q)
	},
	// 0006_risks
	func(ctx context.Context, s *Store, tx *sql.Tx) error {
		for _, q := range []string{
			`INSERT INTO threat_models (model_id, assets, entry_points, updated_by, updated_at)
			 SELECT id, 'weights', 'the hub', 'seed', '2025-01-02T03:04:05.000000Z' FROM models WHERE name = 'seed model'`,
			`INSERT INTO threat_techniques (model_id, atlas_id, position, why, mitigations, controls, residual)
			 SELECT model_id, 'AML.T0010.003', 0, 'a pickle', 'scan it', 'PICKLE-CODE-EXEC scan', 'low' FROM threat_models`,
			`INSERT INTO risks (team_id, model_id, category, title, description, owner_role, likelihood, impact,
			   treatment, plan, review_by, status, created_by, created_at, updated_by, updated_at)
			 SELECT team_id, id, 'privacy', 'seed risk', 're-identification', 'legal-compliance', 2, 5, 'mitigate',
			   'aggregate', '2025-06-01T00:00:00.000000Z', 'open', 'seed', '2025-01-02T03:04:05.000000Z',
			   'seed', '2025-01-02T03:04:05.000000Z' FROM models WHERE name = 'seed model'`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		q := &auditQueue{actor: Actor{Name: "seed"}}
		q.add("risk.create", "risk/1", map[string]any{"title": "seed risk"})
		return s.appendAudit(ctx, tx, q)
	},
	// 0007_incidents
	func(ctx context.Context, s *Store, tx *sql.Tx) error {
		const at = `'2025-01-02T03:04:05.000000Z'`
		for _, q := range []string{
			`INSERT INTO drills (team_id, scenario, scheduled_at, scheduled_by, started_at, findings)
			 SELECT id, 'leaked-signing-key', ` + at + `, 'seed', ` + at + `, '' FROM teams WHERE name = 'seed team'`,
			`INSERT INTO drill_participants (drill_id, role, login) SELECT id, 'security', 'seed' FROM drills`,
			`INSERT INTO incidents (team_id, type, severity, title, summary, state, began_at, detected_at, contained_at,
			   drill_id, opened_by, opened_at)
			 SELECT team_id, 'leaked-signing-key', 'high', 'seed drill', '', 'contained', ` + at + `,
			   '2025-01-02T03:14:05.000000Z', '2025-01-02T04:04:05.000000Z', id, 'seed', ` + at + ` FROM drills`,
			`INSERT INTO incident_events (incident_id, at, who, text) SELECT id, ` + at + `, 'seed', 'seeded' FROM incidents`,
			`INSERT INTO incident_assets (incident_id, version_id, why, subject, how, added_by, added_at)
			 SELECT i.id, v.id, 'file', '` + sha("seed file") + `', 'model.bin', 'seed', ` + at + `
			 FROM incidents i, model_versions v WHERE v.label = 'seed'`,
			`INSERT INTO evidence (version_id, kind, sha256, size, report, uploaded_by, uploaded_at)
			 SELECT id, 'verify', '` + sha(`{"verify":1}`) + `', 12, $1, 'seed', ` + at + ` FROM model_versions WHERE label = 'seed'`,
			`INSERT INTO version_signers (version_id, signer, evidence_id) SELECT version_id, 'seed-key', id FROM evidence WHERE kind = 'verify'`,
		} {
			var args []any
			if strings.Contains(q, "$1") {
				args = append(args, []byte(`{"verify":1}`))
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		q := &auditQueue{actor: Actor{Name: "seed"}}
		q.add("incident.open", "incident/1", nil)
		return s.appendAudit(ctx, tx, q)
	},
	// 0008_training
	func(ctx context.Context, s *Store, tx *sql.Tx) error {
		for _, q := range []string{
			`INSERT INTO courses (team_id, title, topic, roles, valid_days, created_by, created_at)
			 SELECT id, 'AI threat landscape', 'threat-landscape', 'ml-engineer security', 365, 'seed', '2025-01-02T03:04:05.000000Z'
			 FROM teams WHERE name = 'seed team'`,
			`INSERT INTO training_completions (course_id, user_id, completed_at, expires_at, recorded_by)
			 SELECT c.id, u.id, '2025-01-02T03:04:05.000000Z', '2026-01-02T03:04:05.000000Z', 'seed'
			 FROM courses c, users u WHERE u.login = 'seed'`,
			`INSERT INTO procurement_reviews (team_id, vendor, product, kind, answers, decision, conditions, decided_by, decided_at, created_by, created_at)
			 SELECT id, 'Acme AI', 'acme-llm', 'vendor-model', '{"hosting_region":"eu"}', 'approved', '', 'seed',
			        '2025-01-02T03:04:05.000000Z', 'seed', '2025-01-02T03:04:05.000000Z'
			 FROM teams WHERE name = 'seed team'`,
			`INSERT INTO procurement_models (review_id, model_id) SELECT r.id, m.id FROM procurement_reviews r, models m WHERE m.name = 'seed model'`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		q := &auditQueue{actor: Actor{Name: "seed"}}
		q.add("course.create", "course/1", nil)
		return s.appendAudit(ctx, tx, q)
	},
	// 0009_metrics
	func(ctx context.Context, s *Store, tx *sql.Tx) error {
		for _, q := range []string{
			`INSERT INTO metric_targets (team_id, metric, labels, target, set_by, set_at)
			 SELECT id, 'coverage_ratio', 'control=scanned', 0.75, 'seed', '2025-01-02T03:04:05.000000Z'
			 FROM teams WHERE name = 'seed team'`,
			`INSERT INTO metric_snapshots (team_id, day, metric, labels, value)
			 SELECT id, '2025-01-02', 'model_versions', '', 1 FROM teams WHERE name = 'seed team'`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		q := &auditQueue{actor: Actor{Name: "seed"}}
		q.add("metric.target", "team/1", nil)
		return s.appendAudit(ctx, tx, q)
	},
	// 0010_webhooks
	func(ctx context.Context, s *Store, tx *sql.Tx) error {
		for _, q := range []string{
			`INSERT INTO webhooks (team_id, url, format, events, secret, created_by, created_at)
			 SELECT id, 'https://hooks.example/seed', 'slack', 'incident.opened finding.critical', 'seed-secret-0123456789',
			   'seed', '2025-01-02T03:04:05.000000Z' FROM teams WHERE name = 'seed team'`,
			`INSERT INTO webhook_outbox (event_id, team_id, event_type, payload, created_at)
			 SELECT 'seed-event', id, 'incident.opened', '{}', '2025-01-02T03:04:05.000000Z' FROM teams WHERE name = 'seed team'`,
			`INSERT INTO webhook_deliveries (outbox_id, webhook_id, attempts, next_attempt_at, last_error)
			 SELECT o.id, w.id, 2, '2025-01-02T03:04:05.000000Z', 'HTTP 500' FROM webhook_outbox o, webhooks w
			 WHERE o.event_id = 'seed-event'`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	},
	// 0011_metrics_aggregates
	func(ctx context.Context, s *Store, tx *sql.Tx) error { return nil },
	// 0012_jobs
	seedJobs,
	// 0013_scan_cache
	seedScanCache,
	// 0014_signers
	seedSigners,
}

// checkSeeds checks, through the store's API, the rows that the seeds of
// versions 1..k wrote.
func checkSeeds(t *testing.T, s *Store, k int) {
	t.Helper()
	ctx := context.Background()
	teams := must[[]Team](t)(s.Teams(ctx))
	if len(teams) != 1 || teams[0].Name != "seed team" || teams[0].CreatedAt != time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) {
		t.Fatalf("teams %+v", teams)
	}
	u := must[User](t)(s.UserByLogin(ctx, "seed"))
	ms := must[[]Membership](t)(s.Memberships(ctx, u.ID))
	if len(ms) != 1 || ms[0].Role != RoleSecurity {
		t.Fatalf("memberships %+v", ms)
	}
	tok, err := s.AuthenticateToken(ctx, "vlt_seed", "")
	if err != nil || tok.Name != "ci" {
		t.Fatalf("seed token: %+v %v", tok, err)
	}
	if k < 2 {
		return
	}
	models := must[[]Model](t)(s.Models(ctx, teams[0].ID))
	if len(models) != 1 || models[0].SourceRef != "/models/seed" {
		t.Fatalf("models %+v", models)
	}
	vs := must[[]Version](t)(s.Versions(ctx, models[0].ID))
	if len(vs) != 1 || vs[0].Digest != "sha256:"+sha("seed version") {
		t.Fatalf("versions %+v", vs)
	}
	files := must[[]File](t)(s.VersionFiles(ctx, vs[0].ID))
	if len(files) != 1 || files[0] != (File{Path: "model.bin", SHA256: sha("seed file"), Size: 42}) {
		t.Fatalf("files %+v", files)
	}
	ev := must[[]Evidence](t)(s.ListEvidence(ctx, vs[0].ID, EvidenceScan))
	if len(ev) != 1 {
		t.Fatalf("evidence %+v", ev)
	}
	if r := must[[]byte](t)(s.EvidenceReport(ctx, ev[0].ID)); string(r) != `{"seed":true}` {
		t.Fatalf("report %q", r)
	}
	if k < 3 {
		return
	}
	fs := must[[]Finding](t)(s.VersionFindings(ctx, vs[0].ID))
	if len(fs) != 1 || fs[0].Severity != finding.Critical || fs[0].State != StateFalsePositive || fs[0].Last.Reason != "test fixture" {
		t.Fatalf("findings %+v", fs)
	}
	// Version 4 made the scan report a run: from a database of version 3,
	// the migration did (scanner version unknown); at 4, the seed did.
	wantScanner := ""
	if k >= 4 {
		wantScanner = "v0.9.0"
	}
	runs := must[[]ScanRun](t)(s.ScanRuns(ctx, vs[0].ID))
	if len(runs) != 1 || runs[0].Findings != 1 || runs[0].ScannerVersion != wantScanner {
		t.Fatalf("scan runs %+v", runs)
	}
	if k < 4 {
		return
	}
	if l := must[[]LineageLink](t)(s.Lineage(ctx, vs[0].ID)); len(l) != 1 || l[0].Name != "org/base" || l[0].Relation != "adapter" {
		t.Fatalf("lineage %+v", l)
	}
	if p := must[[]Package](t)(s.Packages(ctx, vs[0].ID)); len(p) != 1 || p[0].Name != "torch" || p[0].Severity != "critical" {
		t.Fatalf("packages %+v", p)
	}
	if o := must[[]ModelOwner](t)(s.ModelOwners(ctx, models[0].ID)); len(o) != 1 || o[0].Owner != "@org/ml" || o[0].Source != "git.example/seed" {
		t.Fatalf("owners %+v", o)
	}
}

func TestMigrateFromEveryVersion(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for k := 1; k <= SchemaVersion(); k++ {
				target := b.target(t)
				raw, err := openRaw(ctx, target)
				if err != nil {
					t.Fatal(err)
				}
				if err := migrate(ctx, raw.db, raw.dialect, k); err != nil {
					t.Fatalf("migrate to %d: %v", k, err)
				}
				tx, err := raw.db.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				for v := 1; v <= k; v++ {
					if err := migrationSeeds[v-1](ctx, raw, tx); err != nil {
						t.Fatalf("version %d: seed %d: %v", k, v, err)
					}
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				head := verifyOK(t, raw)
				raw.Close()

				s, err := Open(ctx, target) // applies k+1..newest
				if err != nil {
					t.Fatalf("from version %d: %v", k, err)
				}
				if n := count(t, s, "schema_migrations"); n != SchemaVersion() {
					t.Fatalf("from version %d: at %d", k, n)
				}
				if got := verifyOK(t, s); got != head {
					t.Fatalf("from version %d: audit head %+v, want %+v", k, got, head)
				}
				checkSeeds(t, s, k)
				// The seeds of versions 5 to 7, each checked beside its
				// feature's tests.
				checkReleaseSeeds(t, s, k)
				checkRiskSeeds(t, s, k)
				checkIncidentSeeds(t, s, k)
				checkTrainingSeeds(t, s, k)
				checkMetricsSeeds(t, s, k)
				checkWebhookSeeds(t, s, k)
				checkJobSeeds(t, s, k)
				// The upgraded store works: a change appends to the chain.
				newFixture(t, s, "after")
				verifyOK(t, s)
				s.Close()
			}
		})
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		newFixture(t, s, "x")
		next := SchemaVersion() + 1
		if _, err := s.db.Exec(`INSERT INTO schema_migrations (version, name, sha256, applied_at) VALUES ($1, $2, $3, $4)`,
			next, "9999_future.sql", sha("future"), "2030-01-01T00:00:00.000000Z"); err != nil {
			t.Fatal(err)
		}
		s.Close()
		_, err := Open(context.Background(), target)
		wantErr(t, err, ErrSchemaNewer)
		if !strings.Contains(err.Error(), "upgrade Violet") {
			t.Errorf("message %q does not say what to do", err)
		}
		// Nothing was changed: the future row is still there.
		raw, err := openRaw(context.Background(), target)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if n := count(t, raw, "schema_migrations"); n != next {
			t.Fatalf("%d versions, want %d", n, next)
		}
	})
}

func TestOpenRefusesEditedMigration(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		// Rewrite the recorded checksum of version 1 (as if its file had
		// been edited after release).
		if _, err := s.db.Exec(`DELETE FROM schema_migrations WHERE version = 1`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.Exec(`INSERT INTO schema_migrations (version, name, sha256, applied_at) VALUES (1, $1, $2, $3)`,
			migrations(s.dialect)[0].name, sha("other"), "2025-01-01T00:00:00.000000Z"); err != nil {
			t.Fatal(err)
		}
		s.Close()
		_, err := Open(context.Background(), target)
		if err == nil || !strings.Contains(err.Error(), "differs from this binary") {
			t.Fatalf("edited migration accepted: %v", err)
		}
		if errors.Is(err, ErrSchemaNewer) {
			t.Fatalf("reported as newer: %v", err)
		}
	})
}
