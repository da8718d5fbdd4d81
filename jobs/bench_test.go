package jobs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/internal/pgtest"
	"github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/store"
)

// benchFiles is how many files each benchmark model has: a pickle and
// small JSON files, as a small Hugging Face repository.
const benchFiles = 4

// BenchmarkJobs queues b.N scan jobs, each of a model of benchFiles small
// files (a distinct version each, one file shared by all), on one PostgreSQL database on this
// machine (scripts/pg-test.sh: a unix socket), then runs 1, 2 and 4
// workers in one process until all are stored, and reports jobs/s and
// files/s in all and per worker. The time counted is from the workers'
// start to the last result stored: fetch (a local folder copied), hash,
// scan, the result's transaction.
func BenchmarkJobs(b *testing.B) {
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchJobs(b, workers, false) })
	}
}

// BenchmarkJobsSharedFiles is BenchmarkJobs with 2 workers on a corpus
// where versions share files: of each model's 4 files, 3 are the same in
// every version (a base model's shard, its configuration and tokenizer)
// and 1 is its own. It reports the cache hit rate among the files looked
// up; the ideal on N versions is 3(N-1)/4N, 75% for large N.
func BenchmarkJobsSharedFiles(b *testing.B) { benchJobs(b, 2, true) }

// benchJobs queues b.N jobs, runs workers until they are stored and
// reports the rates.
func benchJobs(b *testing.B, workers int, shared bool) {
	ctx := context.Background()
	st, err := store.Open(ctx, pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	a := store.Actor{Name: "bench"}
	team, err := st.CreateTeam(ctx, a, "ml")
	if err != nil {
		b.Fatal(err)
	}
	m, err := st.CreateModel(ctx, a, store.Model{TeamID: team.ID, Name: "m", SourceKind: store.SourcePath, SourceRef: "/m"})
	if err != nil {
		b.Fatal(err)
	}
	q, err := New(ctx, Config{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	root := b.TempDir()
	reqs := make([]store.ScanRequest, b.N)
	for i := range b.N {
		dir := filepath.Join(root, fmt.Sprint(i))
		benchModel(b, dir, i, shared)
		if reqs[i], err = q.RequestScan(ctx, a, m.ID, dir); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	r := runner(b, Config{Store: st, Workers: workers, PollInterval: 10 * time.Millisecond})
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	done, err := r.Wait(wctx, reqs, 5*time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start).Seconds()
	b.StopTimer()
	for _, d := range done {
		if d.Status != store.ScanDone {
			b.Fatalf("request %+v", d)
		}
	}
	jobs := float64(b.N) / elapsed
	b.ReportMetric(jobs, "jobs/s")
	b.ReportMetric(jobs*benchFiles, "files/s")
	b.ReportMetric(jobs/float64(workers), "jobs/s/worker")
	_, _, rate := r.CacheStats()
	b.ReportMetric(100*rate, "%hits")
}

// benchModel writes model i: a pickle (a global call, never loaded; the
// same in every model) and JSON files, distinct per model; with shared,
// all but the last JSON file are the same in every model too.
func benchModel(b *testing.B, dir string, i int, shared bool) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	files := map[string][]byte{"pytorch_model.bin": testutil.NewPickle(2).Call("collections", "OrderedDict").Stop().Bytes()}
	for j := 1; j < benchFiles; j++ {
		model := i
		if shared && j < benchFiles-1 {
			model = -1
		}
		files[fmt.Sprintf("config%d.json", j)] = fmt.Appendf(nil, `{"model": %d, "part": %d}`, model, j)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
