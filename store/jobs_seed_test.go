package store

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// seedJobs writes a finished scan request (0012_jobs), as a database of
// version 12 holds one.
func seedJobs(ctx context.Context, s *Store, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO scan_requests (model_id, version_id, kind, location, status, job_id,
		evidence_id, scanner, policy, requested_by, requested_at, finished_at)
		SELECT v.model_id, v.id, 'scan', '/models/seed', 'done', 7, e.id, 'v0.9.0', 'sha256:seed', 'seed',
		  '2025-01-02T03:04:05.000000Z', '2025-01-02T03:05:05.000000Z'
		FROM model_versions v JOIN evidence e ON e.version_id = v.id WHERE v.label = 'seed'
		  AND e.id = (SELECT min(id) FROM evidence WHERE version_id = v.id)`)
	return err
}

// seedScanCache writes a cache entry (0013_scan_cache).
func seedScanCache(ctx context.Context, s *Store, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO scan_cache (key, value, created_at, last_used_at, hits)
		VALUES ('seed-key', $1, '2025-01-02T03:04:05.000000Z', '2025-01-02T03:04:05.000000Z', 3)`, []byte(`{"findings":[]}`))
	return err
}

// seedSigners writes a trusted signer and a verify request (0014_signers).
func seedSigners(ctx context.Context, s *Store, tx *sql.Tx) error {
	for _, q := range []string{
		`INSERT INTO trusted_signers (team_id, name, kind, material, created_by, created_at)
		 SELECT id, 'release key', 'key', '-----BEGIN PUBLIC KEY-----', 'seed', '2025-01-02T03:04:05.000000Z'
		 FROM teams WHERE name = 'seed team'`,
		`INSERT INTO scan_requests (model_id, version_id, kind, location, status, requested_by, requested_at)
		 SELECT v.model_id, v.id, 'verify', '/models/seed', 'queued', 'seed', '2025-01-02T03:06:05.000000Z'
		 FROM model_versions v WHERE v.label = 'seed'`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// checkJobSeeds checks the rows the seeds of versions 12 to 14 wrote.
func checkJobSeeds(t *testing.T, s *Store, k int) {
	t.Helper()
	if k < 12 {
		return
	}
	ctx := context.Background()
	teams := must[[]Team](t)(s.Teams(ctx))
	models := must[[]Model](t)(s.Models(ctx, teams[0].ID))
	rs := must[[]ScanRequest](t)(s.ScanRequests(ctx, models[0].ID))
	if k >= 14 {
		if len(rs) != 2 || rs[0].Kind != ScanKindVerify || rs[0].Status != ScanQueued {
			t.Fatalf("seed verify request %+v", rs)
		}
		rs = rs[1:]
	}
	if len(rs) != 1 || rs[0].Status != ScanDone || rs[0].JobID != 7 || rs[0].Scanner != "v0.9.0" || rs[0].EvidenceID == 0 ||
		rs[0].FinishedAt != time.Date(2025, 1, 2, 3, 5, 5, 0, time.UTC) {
		t.Fatalf("seed scan requests %+v", rs)
	}
	ts := must[[]RescanTarget](t)(s.RescanTargets(ctx, 0))
	if len(ts) != 1 || ts[0].Location != "/models/seed" || ts[0].Policy != "sha256:seed" {
		t.Fatalf("seed rescan targets %+v", ts)
	}
	if k < 13 {
		return
	}
	v, ok, err := s.ScanCache(0).Get(ctx, "seed-key")
	if err != nil || !ok || string(v) != `{"findings":[]}` {
		t.Fatalf("seed cache entry %q %v %v", v, ok, err)
	}
	if k < 14 {
		return
	}
	ss := must[[]TrustedSigner](t)(s.TrustedSigners(ctx, teams[0].ID))
	if len(ss) != 1 || ss[0].Name != "release key" || ss[0].Kind != SignerKey || ss[0].CreatedAt != time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) {
		t.Fatalf("seed signers %+v", ss)
	}
}
