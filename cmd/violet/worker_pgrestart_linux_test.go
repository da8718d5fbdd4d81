package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/internal/pgtest"
	"github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/store"
)

// pgRestartJobs is how many jobs are queued around the restart.
const pgRestartJobs = 30

// TestWorkerPostgresRestart queues jobs, runs violet worker (2 at once,
// each job slowed to 200 ms) and restarts the PostgreSQL server under it
// (pg_ctl restart -m immediate: connections cut, no clean shutdown) once a
// few jobs are done. The worker reconnects and finishes every job: each
// request done, exactly one scan evidence per version, the audit chain
// intact, and the worker stops cleanly. It needs the server that
// scripts/pg-test.sh starts (its data folder is found from the socket's).
func TestWorkerPostgresRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	// It restarts the PostgreSQL server that the other packages' tests
	// share: scripts/test.sh runs it alone, after them.
	if os.Getenv("VIOLET_PG_RESTART_TEST") != "1" {
		t.Skip("restarts the shared PostgreSQL: run alone with VIOLET_PG_RESTART_TEST=1 (scripts/test.sh does)")
	}
	database := pgtest.URL(t)
	restart := pgRestarter(t)
	ctx := context.Background()
	st, m, r := jobsFixture(t, database)
	a := store.Actor{Name: "test"}
	var reqs []store.ScanRequest
	for i := range pgRestartJobs {
		dir := t.TempDir()
		p := testutil.NewPickle(2).Call("os", "system", fmt.Sprint(i)).Stop().Bytes()
		if err := os.WriteFile(filepath.Join(dir, "data.pkl"), p, 0o644); err != nil {
			t.Fatal(err)
		}
		req, err := r.RequestScan(ctx, a, m.ID, dir)
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, req)
	}
	w := startWorkerChild(t, filepath.Join(t.TempDir(), "data"), database, []string{jobDelayEnv + "=200"},
		"--workers=2", "--job-timeout=5s", "--rescue-after=6s", "--poll-interval=50ms", "--retry-backoff=200ms", "--max-attempts=25")
	// statuses reads every request's status, nil while the database is
	// away.
	statuses := func() map[string]int {
		out := map[string]int{}
		for _, q := range reqs {
			got, err := st.ScanRequest(ctx, q.ID)
			if err != nil {
				return nil
			}
			out[got.Status]++
		}
		return out
	}
	deadline := time.Now().Add(2 * time.Minute)
	for s := statuses(); s[store.ScanDone] < 3; s = statuses() {
		if time.Now().After(deadline) {
			t.Fatalf("statuses %v: %s", s, w.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	before := statuses()
	restart()
	t.Logf("restarted PostgreSQL with %v", before)
	deadline = time.Now().Add(3 * time.Minute)
	for s := statuses(); s == nil || s[store.ScanDone] < pgRestartJobs; s = statuses() {
		if s[store.ScanIncomplete] > 0 || time.Now().After(deadline) {
			t.Fatalf("statuses %v after the restart: %s", s, w.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, q := range reqs {
		got, err := st.ScanRequest(ctx, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := st.ListEvidence(ctx, got.VersionID, store.EvidenceScan)
		if err != nil || len(ev) != 1 || ev[0].ID != got.EvidenceID {
			t.Fatalf("request %d: evidence %+v %v: want exactly one", q.ID, ev, err)
		}
	}
	if _, err := st.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.stop(); err != nil {
		t.Fatalf("violet worker did not stop cleanly: %v: %s", err, w.stderr.String())
	}
}

// pgRestarter returns a function that restarts the PostgreSQL server of
// scripts/pg-test.sh (the parent of its socket folder holds its data
// folder), or skips the test when the server is not one it started.
func pgRestarter(t *testing.T) func() {
	t.Helper()
	u, err := url.Parse(os.Getenv(pgtest.EnvURL))
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Dir(u.Query().Get("host"))
	data := filepath.Join(work, "data")
	if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err != nil {
		t.Skipf("%s is not a server of scripts/pg-test.sh: %v", pgtest.EnvURL, err)
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		t.Skip("no pg_ctl")
	}
	return func() {
		args := []string{bins[len(bins)-1], "-D", data, "-l", filepath.Join(work, "restart.log"), "-m", "immediate", "-w", "-t", "60", "restart"}
		if os.Getuid() == 0 {
			args = append([]string{"runuser", "-u", "postgres", "--"}, args...)
		}
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("pg_ctl restart: %v: %s", err, out)
		}
	}
}
