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
// files (a distinct version each), on one PostgreSQL database on this
// machine (scripts/pg-test.sh: a unix socket), then runs 1, 2 and 4
// workers in one process until all are stored, and reports jobs/s and
// files/s in all and per worker. The time counted is from the workers'
// start to the last result stored: fetch (a local folder copied), hash,
// scan, the result's transaction.
func BenchmarkJobs(b *testing.B) {
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
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
				benchModel(b, dir, i)
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
		})
	}
}

// benchModel writes model i: a pickle (a global call, never loaded) and
// JSON files, distinct per model.
func benchModel(b *testing.B, dir string, i int) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	files := map[string][]byte{"pytorch_model.bin": testutil.NewPickle(2).Call("collections", "OrderedDict").Stop().Bytes()}
	for j := 1; j < benchFiles; j++ {
		files[fmt.Sprintf("config%d.json", j)] = fmt.Appendf(nil, `{"model": %d, "part": %d}`, i, j)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
