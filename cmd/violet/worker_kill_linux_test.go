package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/internal/pgtest"
	"github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/jobs"
	"github.com/violet-mlsecops/violet/store"
)

// jobDelayEnv is the test-only hook of package jobs that makes each scan
// job sleep this many milliseconds before it fetches.
const jobDelayEnv = "VIOLET_TEST_JOB_DELAY_MS"

// TestWorkerKill9 queues a scan job, starts violet worker as a child
// process with a job that takes a minute, kills it with SIGKILL while the
// job runs, and starts another worker: River rescues the stuck job (past
// --job-timeout and --rescue-after) and the second worker runs it again. Exactly one scan
// evidence results, the request is done, the audit chain verifies, and
// the second worker stops cleanly on SIGTERM. On SQLite in --data, and on
// PostgreSQL (--database) under scripts/pg-test.sh.
func TestWorkerKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	t.Run("sqlite", func(t *testing.T) { testWorkerKill9(t, "") })
	t.Run("postgres", func(t *testing.T) { testWorkerKill9(t, pgtest.URL(t)) })
}

func testWorkerKill9(t *testing.T, database string) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	dsn := data
	if database != "" {
		dsn = database
	}
	st, m, r := jobsFixture(t, dsn)
	a := store.Actor{Name: "test"}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data.pkl"), testutil.NewPickle(2).Call("os", "system", "id").Stop().Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	req, err := r.RequestScan(ctx, a, m.ID, dir)
	if err != nil {
		t.Fatal(err)
	}
	flags := []string{"--job-timeout=2s", "--rescue-after=3s", "--poll-interval=50ms", "--retry-backoff=100ms"}
	first := startWorkerChild(t, data, database, []string{jobDelayEnv + "=60000"}, flags...)
	db, _ := st.JobDatabase()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var state string
		if err := db.QueryRowContext(ctx, `SELECT state FROM river_job WHERE id = $1`, req.JobID).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state == "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job is %s after a minute: %s", state, first.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.kill(); err != nil {
		t.Fatal(err)
	}
	second := startWorkerChild(t, data, database, nil, flags...)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	done, err := r.Wait(wctx, []store.ScanRequest{req}, 100*time.Millisecond)
	if err != nil {
		t.Fatalf("%v: %s", err, second.stderr.String())
	}
	if done[0].Status != store.ScanDone {
		t.Fatalf("request %+v", done[0])
	}
	ev, err := st.ListEvidence(ctx, done[0].VersionID, store.EvidenceScan)
	if err != nil || len(ev) != 1 {
		t.Fatalf("evidence %+v %v: want exactly one", ev, err)
	}
	var attempt int
	if err := db.QueryRowContext(ctx, `SELECT attempt FROM river_job WHERE id = $1`, req.JobID).Scan(&attempt); err != nil || attempt < 2 {
		t.Fatalf("attempt %d %v: the job was not run again", attempt, err)
	}
	if _, err := st.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := second.stop(); err != nil {
		t.Fatalf("violet worker did not stop cleanly on SIGTERM: %v: %s", err, second.stderr.String())
	}
}

// jobsFixture opens the store at dsn (closed when the test ends) with a
// team and a model, and a jobs Runner on it that only queues.
func jobsFixture(t *testing.T, dsn string) (*store.Store, store.Model, *jobs.Runner) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := store.Actor{Name: "test"}
	team, err := st.CreateTeam(ctx, a, "ml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.CreateModel(ctx, a, store.Model{TeamID: team.ID, Name: "m", SourceKind: store.SourcePath, SourceRef: "/m"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := jobs.New(ctx, jobs.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return st, m, r
}

// startWorkerChild starts violet worker on data (and database, when not
// "") with env added and the flags more, and waits until it works. It is
// killed when the test ends, and when the test process dies.
func startWorkerChild(t *testing.T, data, database string, env []string, more ...string) *serveChild {
	t.Helper()
	// An empty scan policy: the default one, whatever folder this runs in.
	config := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(config, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"worker", "--data", data, "--workers", "1", "--config", config}
	if database != "" {
		args = append(args, "--database", database)
	}
	c := startChild(t, append(args, more...), env)
	deadline := time.After(60 * time.Second)
	for !strings.Contains(c.stderr.String(), "Working ") {
		select {
		case err := <-c.done:
			c.done <- err
			t.Fatalf("violet worker ended: %v: %s", err, c.stderr.String())
		case <-deadline:
			t.Fatalf("violet worker did not start: %s", c.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return c
}
