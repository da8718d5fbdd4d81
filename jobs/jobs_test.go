package jobs

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/rivermigrate"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/pgtest"
	"github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/scan"
	"github.com/violet-mlsecops/violet/source"
	"github.com/violet-mlsecops/violet/source/sourcetest"
	"github.com/violet-mlsecops/violet/store"
)

// backends open a fresh store of each dialect.
var backends = []struct {
	name   string
	target func(t testing.TB) string
}{
	{"sqlite", func(t testing.TB) string { return t.TempDir() }},
	{"postgres", func(t testing.TB) string { return pgtest.URL(t) }},
}

func eachBackend(t *testing.T, f func(t *testing.T, st *store.Store)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st, err := store.Open(context.Background(), b.target(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			f(t, st)
		})
	}
}

var tester = store.Actor{Name: "tester"}

// env is a team, a member of it and a model.
type env struct {
	team  store.Team
	user  store.User
	model store.Model
}

func newEnv(t *testing.T, st *store.Store) env {
	t.Helper()
	ctx := context.Background()
	var e env
	var err error
	if e.team, err = st.CreateTeam(ctx, tester, "ml"); err != nil {
		t.Fatal(err)
	}
	if e.user, err = st.CreateUser(ctx, tester, "eng", "Engineer", ""); err != nil {
		t.Fatal(err)
	}
	if err := st.AddMember(ctx, tester, store.Membership{TeamID: e.team.ID, UserID: e.user.ID, Role: store.RoleMLEngineer}); err != nil {
		t.Fatal(err)
	}
	if e.model, err = st.CreateModel(ctx, tester, store.Model{TeamID: e.team.ID, Name: "m", SourceKind: store.SourcePath, SourceRef: "/m"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// modelDir writes a model folder: a pickle that calls os.system (a
// PICKLE-PROCESS finding, never loaded) and a README.
func modelDir(t testing.TB, readme string) string {
	t.Helper()
	dir := t.TempDir()
	p := testutil.NewPickle(2).Call("os", "system", "id").Stop().Bytes()
	if err := os.WriteFile(filepath.Join(dir, "data.pkl"), p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runner starts a Runner with fast polling and retries, stopped when the
// test ends.
func runner(t testing.TB, cfg Config) *Runner {
	t.Helper()
	cfg.PollInterval = cmpOr(cfg.PollInterval, 20*time.Millisecond)
	cfg.RetryBase = cmpOr(cfg.RetryBase, 10*time.Millisecond)
	cfg.ScannerVersion = cmpOr(cfg.ScannerVersion, "test-1")
	cfg.TempDir = t.TempDir()
	r, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return r
}

func wait(t testing.TB, r *Runner, reqs ...store.ScanRequest) []store.ScanRequest {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := r.Wait(ctx, reqs, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestScanJobEndToEnd(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		r := runner(t, Config{Store: st, Workers: 2})
		dir := modelDir(t, "one")
		req, err := r.RequestScan(ctx, tester, e.model.ID, dir)
		if err != nil {
			t.Fatal(err)
		}
		if req.JobID == 0 || req.Status != store.ScanQueued {
			t.Fatalf("request %+v", req)
		}
		got := wait(t, r, req)[0]
		if got.Status != store.ScanDone || got.EvidenceID == 0 || got.VersionID == 0 || got.Scanner != "test-1" || got.Policy != r.Policy() {
			t.Fatalf("finished %+v", got)
		}
		ev, err := st.ListEvidence(ctx, got.VersionID, store.EvidenceScan)
		if err != nil || len(ev) != 1 || ev[0].ID != got.EvidenceID {
			t.Fatalf("evidence %+v %v", ev, err)
		}
		fs, err := st.VersionFindings(ctx, got.VersionID)
		if err != nil || len(fs) != 1 || fs[0].Rule != finding.PickleProcess {
			t.Fatalf("findings %+v %v", fs, err)
		}
		runs, err := st.ScanRuns(ctx, got.VersionID)
		if err != nil || len(runs) != 1 || runs[0].ScannerVersion != "test-1" {
			t.Fatalf("runs %+v %v", runs, err)
		}
		if _, err := st.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// riverJobs counts River's jobs.
func riverJobs(t *testing.T, st *store.Store) int {
	t.Helper()
	db, _ := st.JobDatabase()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM river_job`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEnqueueInTheRequestTransaction(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		r, err := New(ctx, Config{Store: st}) // inserts only
		if err != nil {
			t.Fatal(err)
		}
		// The job is inserted, then the transaction fails: both go.
		boom := errors.New("boom")
		_, err = st.RequestScan(ctx, tester, e.model.ID, 0, store.ScanKindScan, "/x", func(tx *sql.Tx, req store.ScanRequest) (int64, error) {
			if _, err := r.enqueue(tx, req); err != nil {
				return 0, err
			}
			return 0, boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("error %v", err)
		}
		if n := riverJobs(t, st); n != 0 {
			t.Fatalf("%d jobs left by a rolled-back request", n)
		}
		if rs, err := st.ScanRequests(ctx, e.model.ID); err != nil || len(rs) != 0 {
			t.Fatalf("requests %+v %v", rs, err)
		}
		// The job fails to insert (a model that does not exist makes the
		// request's insert fail first; here the job's own insert fails on
		// a closed transaction): nothing is kept.
		_, err = st.RequestScan(ctx, tester, e.model.ID, 0, store.ScanKindScan, "/x", func(tx *sql.Tx, req store.ScanRequest) (int64, error) {
			if err := tx.Rollback(); err != nil {
				return 0, err
			}
			return r.enqueue(tx, req)
		})
		if err == nil {
			t.Fatal("an enqueue on a closed transaction succeeded")
		}
		if rs, _ := st.ScanRequests(ctx, e.model.ID); len(rs) != 0 || riverJobs(t, st) != 0 {
			t.Fatalf("kept %d requests, %d jobs", len(rs), riverJobs(t, st))
		}
		// And a good one commits both.
		req, err := r.RequestScan(ctx, tester, e.model.ID, "/x")
		if err != nil || riverJobs(t, st) != 1 || req.JobID == 0 {
			t.Fatalf("%+v %v, %d jobs", req, err, riverJobs(t, st))
		}
	})
}

func TestFailingSourceEndsIncomplete(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		var tries atomic.Int32
		failing := func(context.Context, string, string) (string, string, error) {
			tries.Add(1)
			return "", "", errors.New("registry unreachable")
		}
		r := runner(t, Config{Store: st, Workers: 1, MaxAttempts: 3, Fetch: failing})
		req, err := r.RequestScan(ctx, tester, e.model.ID, "/nowhere")
		if err != nil {
			t.Fatal(err)
		}
		got := wait(t, r, req)[0]
		if got.Status != store.ScanIncomplete || !strings.Contains(got.Error, "attempt 3 of 3") ||
			!strings.Contains(got.Error, "registry unreachable") || got.EvidenceID != 0 {
			t.Fatalf("finished %+v", got)
		}
		if n := tries.Load(); n != 3 {
			t.Fatalf("%d tries, want 3", n)
		}

		// A rescan of a stored version whose source now always fails: the
		// version gets a report with an incomplete rule, never a clean one.
		// One runner works the queue at a time: the failing one must not
		// take the good scan's job.
		if err := r.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		good := runner(t, Config{Store: st, Workers: 1})
		done := wait(t, good, must(t)(good.RequestScan(ctx, tester, e.model.ID, modelDir(t, "x"))))[0]
		if err := good.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if done.Status != store.ScanDone || done.VersionID == 0 {
			t.Fatalf("good scan %+v", done)
		}
		r = runner(t, Config{Store: st, Workers: 1, MaxAttempts: 3, Fetch: failing})
		reqs, err := r.RequestRescans(ctx, tester, e.model.ID, store.ScanKindRescan, false)
		if err != nil || len(reqs) != 1 || reqs[0].VersionID != done.VersionID {
			t.Fatalf("rescans %+v %v", reqs, err)
		}
		got = wait(t, r, reqs...)[0]
		if got.Status != store.ScanIncomplete || got.EvidenceID == 0 {
			t.Fatalf("rescan %+v", got)
		}
		ch, err := Changes(ctx, st, []store.ScanRequest{got})
		if err != nil {
			t.Fatal(err)
		}
		// Before: the critical PICKLE-PROCESS; after: SCAN-ERROR (medium,
		// an incomplete rule) on each file.
		if ch[0].Before != VerdictFail || ch[0].After != VerdictIncomplete || !ch[0].Changed() {
			t.Fatalf("changes %+v", ch[0])
		}
		fs, err := st.ScanRunFindings(ctx, got.EvidenceID)
		if err != nil || len(fs) != 2 {
			t.Fatalf("incomplete run findings %+v %v", fs, err)
		}
		for _, f := range fs {
			if f.Rule != finding.ScanError {
				t.Fatalf("finding %+v", f)
			}
		}
	})
}

// must fails the test on an error.
func must(t testing.TB) func(store.ScanRequest, error) store.ScanRequest {
	return func(r store.ScanRequest, err error) store.ScanRequest {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

func TestRescanReportsChangedVerdict(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		// Policy 1 allows the global the pickle calls: the version passes.
		dir := modelDir(t, "v1")
		p := testutil.NewPickle(2).Call("mylib.helpers", "build", "x").Stop().Bytes()
		if err := os.WriteFile(filepath.Join(dir, "data.pkl"), p, 0o644); err != nil {
			t.Fatal(err)
		}
		lenient := scan.DefaultConfig()
		lenient.Allow = []string{"mylib.helpers.build"}
		r1 := runner(t, Config{Store: st, Workers: 1, ScanConfig: lenient})
		first := wait(t, r1, must(t)(r1.RequestScan(ctx, tester, e.model.ID, dir)))[0]
		if err := r1.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		// The version is released (the ml-engineer approved), and a
		// webhook listens for new findings.
		v := first.VersionID
		vs, _ := st.Versions(ctx, e.model.ID)
		rel, err := st.CreateRelease(ctx, tester, store.Release{VersionID: v, Title: "to prod", Tier: "low", Required: []string{"ml-engineer"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.DecideRelease(ctx, tester, e.user.ID, store.ReleaseDecision{ReleaseID: rel.ID, Role: "ml-engineer",
			Decision: store.DecisionApprove, Reason: "ok", Digest: vs[0].Digest}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateWebhook(ctx, tester, store.Webhook{TeamID: e.team.ID, URL: "https://hooks.example/x", Format: "json",
			Events: []string{store.EventRescanNewFinding}, Secret: "0123456789abcdef"}); err != nil {
			t.Fatal(err)
		}
		// Policy 2, the default, does not allow it: a rescan of the versions
		// judged by another policy fails it.
		r2 := runner(t, Config{Store: st, Workers: 1})
		if r2.Policy() == r1.Policy() {
			t.Fatal("two policies, one digest")
		}
		reqs, err := r2.RequestRescans(ctx, tester, 0, store.ScanKindRescan, true)
		if err != nil || len(reqs) != 1 {
			t.Fatalf("rescans %+v %v", reqs, err)
		}
		done := wait(t, r2, reqs...)
		ch, err := Changes(ctx, st, done)
		if err != nil {
			t.Fatal(err)
		}
		if !ch[0].Changed() || ch[0].Before != VerdictPass || ch[0].After != VerdictFail {
			t.Fatalf("change %+v", ch[0])
		}
		if len(ch[0].Added) != 1 || ch[0].Added[0].Rule != finding.PickleUnknownCall || len(ch[0].Removed) != 0 {
			t.Fatalf("change %+v", ch[0])
		}
		// The new high finding of a released version is in the outbox.
		db, _ := st.JobDatabase()
		var events int
		if err := db.QueryRow(`SELECT count(*) FROM webhook_outbox WHERE event_type = $1`, store.EventRescanNewFinding).Scan(&events); err != nil || events != 1 {
			t.Fatalf("%d %s events, %v", events, store.EventRescanNewFinding, err)
		}
		// Nothing more to rescan under the same policy.
		if again, err := r2.RequestRescans(ctx, tester, 0, store.ScanKindRescan, true); err != nil || len(again) != 0 {
			t.Fatalf("again %+v %v", again, err)
		}
	})
}

// TestScanJobFromHuggingFace: a job fetches hf://org/model from a local
// server of the Hugging Face API layout (package source), pins the
// revision, and a rescan fetches the pinned revision again.
func TestScanJobFromHuggingFace(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		hf := sourcetest.NewHF(t, "org/model", map[string][]byte{
			"pytorch_model.bin": testutil.NewPickle(2).Call("os", "system", "id").Stop().Bytes(),
			"config.json":       []byte(`{"model_type": "gpt2"}`),
		})
		opts := source.Options{HFEndpoint: hf.URL, Limits: source.Limits{Backoff: time.Millisecond, Retries: -1}}
		r := runner(t, Config{Store: st, Workers: 1, Fetch: FetchSource(opts)})
		got := wait(t, r, must(t)(r.RequestScan(ctx, tester, e.model.ID, "hf://org/model")))[0]
		if got.Status != store.ScanDone || !strings.Contains(got.Pinned, hf.Commit) {
			t.Fatalf("finished %+v", got)
		}
		files, err := st.VersionFiles(ctx, got.VersionID)
		if err != nil || len(files) != 2 || files[1].Path != "pytorch_model.bin" {
			t.Fatalf("files %+v %v", files, err)
		}
		fs, err := st.VersionFindings(ctx, got.VersionID)
		if err != nil || len(fs) != 1 || fs[0].Rule != finding.PickleProcess || fs[0].Location != "pytorch_model.bin@2" && !strings.HasPrefix(fs[0].Location, "pytorch_model.bin") {
			t.Fatalf("findings %+v %v", fs, err)
		}
		targets, err := st.RescanTargets(ctx, e.model.ID)
		if err != nil || len(targets) != 1 || targets[0].Location != got.Pinned {
			t.Fatalf("targets %+v %v", targets, err)
		}
		done := wait(t, r, must(t)(r.st.RequestScan(ctx, tester, e.model.ID, got.VersionID, store.ScanKindRescan, targets[0].Location, r.enqueue)))[0]
		if done.Status != store.ScanDone || done.VersionID != got.VersionID {
			t.Fatalf("rescan %+v", done)
		}
		// An unsupported scheme is not retried: incomplete at once.
		bad := wait(t, r, must(t)(r.RequestScan(ctx, tester, e.model.ID, "gs://bucket/model")))[0]
		if bad.Status != store.ScanIncomplete || !strings.Contains(bad.Error, "attempt 1 of") {
			t.Fatalf("unsupported %+v", bad)
		}
	})
}

// TestRiverUpgrade: a database whose River tables are of an older River
// version is brought up to date by New, on both dialects.
func TestRiverUpgrade(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		d, _ := driver(st)
		m, err := rivermigrate.New(d, nil)
		if err != nil {
			t.Fatal(err)
		}
		all := m.AllVersions()
		latest := all[len(all)-1].Version
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{TargetVersion: latest - 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := New(ctx, Config{Store: st}); err != nil {
			t.Fatal(err)
		}
		got, err := m.ExistingVersions(ctx)
		if err != nil || got[len(got)-1].Version != latest {
			t.Fatalf("versions %+v %v, want up to %d", got, err, latest)
		}
		// Again: nothing to do.
		if err := Migrate(ctx, st, nil); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCacheReuseAcrossVersions: two versions share a file: the second
// job takes its result from the store's cache and analyzes only its own
// file, with the same findings as the first.
func TestCacheReuseAcrossVersions(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		r := runner(t, Config{Store: st, Workers: 1})
		first := wait(t, r, must(t)(r.RequestScan(ctx, tester, e.model.ID, modelDir(t, "version one"))))[0]
		h0, m0, _ := r.CacheStats()
		second := wait(t, r, must(t)(r.RequestScan(ctx, tester, e.model.ID, modelDir(t, "version two"))))[0]
		h1, m1, _ := r.CacheStats()
		if first.VersionID == second.VersionID || h0 != 0 || m0 != 2 || h1 != 1 || m1 != 3 {
			t.Fatalf("versions %d, %d; hits %d then %d, misses %d then %d", first.VersionID, second.VersionID, h0, h1, m0, m1)
		}
		for _, v := range []int64{first.VersionID, second.VersionID} {
			fs, err := st.VersionFindings(ctx, v)
			if err != nil || len(fs) != 1 || fs[0].Rule != finding.PickleProcess {
				t.Fatalf("version %d findings %+v %v", v, fs, err)
			}
		}
		// A runner with another analyzer policy (an allowlist) does not
		// take the first policy's result.
		// (The first runner stops: the second must take the job.)
		if err := r.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		lenient := scan.DefaultConfig()
		lenient.Allow = []string{"mylib.x"}
		r2 := runner(t, Config{Store: st, Workers: 1, ScanConfig: lenient})
		wait(t, r2, must(t)(r2.RequestScan(ctx, tester, e.model.ID, modelDir(t, "version three"))))
		if h, m, _ := r2.CacheStats(); h != 0 || m == 0 {
			t.Fatalf("%d hits, %d misses across policies", h, m)
		}
	})
}

// TestSweepFinishesAbandonedRequests: a request whose job River ended
// without a result (here cancelled; the rescuer discards a dead worker's
// job after its last attempt alike) is finished as incomplete by the
// sweep, never left queued; one whose job still waits is left alone.
func TestSweepFinishesAbandonedRequests(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		r, err := New(ctx, Config{Store: st, ScannerVersion: "test-1"}) // queues only
		if err != nil {
			t.Fatal(err)
		}
		gone := must(t)(r.RequestScan(ctx, tester, e.model.ID, "/models/a"))
		waiting := must(t)(r.RequestScan(ctx, tester, e.model.ID, "/models/b"))
		if _, err := r.client.JobCancel(ctx, gone.JobID); err != nil {
			t.Fatal(err)
		}
		n, err := r.Sweep(ctx)
		if err != nil || n != 1 {
			t.Fatalf("swept %d, %v", n, err)
		}
		got, err := st.ScanRequest(ctx, gone.ID)
		if err != nil || got.Status != store.ScanIncomplete || !strings.Contains(got.Error, "cancelled") {
			t.Fatalf("abandoned %+v %v", got, err)
		}
		if got, _ := st.ScanRequest(ctx, waiting.ID); got.Status != store.ScanQueued {
			t.Fatalf("waiting %+v", got)
		}
		if n, err := r.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("swept again %d, %v", n, err)
		}
	})
}
