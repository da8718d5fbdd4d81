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

// checkJobSeeds checks the rows the seeds of versions 12 and 13 wrote.
func checkJobSeeds(t *testing.T, s *Store, k int) {
	t.Helper()
	if k < 12 {
		return
	}
	ctx := context.Background()
	teams := must[[]Team](t)(s.Teams(ctx))
	models := must[[]Model](t)(s.Models(ctx, teams[0].ID))
	rs := must[[]ScanRequest](t)(s.ScanRequests(ctx, models[0].ID))
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
}
