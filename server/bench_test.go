package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/pgtest"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/store"
)

// benchClients is how many clients upload at once in BenchmarkUpload.
const benchClients = 8

// BenchmarkUpload measures uploads through the API as violet scan --upload
// makes them (Client.Upload: the model looked up, the version put, the
// scan report posted), from benchClients concurrent clients over loopback,
// on SQLite and on PostgreSQL. Every upload is a new version of one of the
// clients' models, with a distinct scan report holding one finding, so
// each one writes a version, its files, the evidence, the finding and
// their audit records. It reports uploads/s and the p50 and p99 latency of
// one upload. Run it as
//
//	scripts/pg-test.sh go test -run '^$' -bench BenchmarkUpload -benchtime 2000x ./server
//
// The PostgreSQL case is skipped without VIOLET_TEST_POSTGRES.
func BenchmarkUpload(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchUpload(b, b.TempDir()) })
	b.Run("postgres", func(b *testing.B) { benchUpload(b, pgtest.URL(b)) })
}

func benchUpload(b *testing.B, dsn string) {
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	// No upload rate limit: the benchmark measures the server, not the
	// limiter.
	srv := httptest.NewServer(New(st, Options{Uploads: RateLimit{Burst: 1 << 30, Every: time.Nanosecond}}))
	defer srv.Close()
	token := benchToken(b, st)
	models := make([]string, benchClients)
	for w := range models {
		models[w] = fmt.Sprintf("bench-%d", w)
		if _, err := st.CreateModel(ctx, system, store.Model{TeamID: token.team, Name: models[w],
			SourceKind: store.SourcePath, SourceRef: "/models/" + models[w]}); err != nil {
			b.Fatal(err)
		}
	}
	transport := &http.Transport{MaxIdleConnsPerHost: benchClients}
	defer transport.CloseIdleConnections()
	client := &Client{BaseURL: srv.URL, Token: token.secret, HTTP: &http.Client{Transport: transport, Timeout: time.Minute}}

	var next atomic.Int64
	latencies := make([][]time.Duration, benchClients)
	errs := make(chan error, benchClients)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				u := benchUploadOf(models[w], i)
				t0 := time.Now()
				res, err := client.Upload(ctx, u)
				latencies[w] = append(latencies[w], time.Since(t0))
				if err == nil && (!res.Created || res.Findings != 1) {
					err = fmt.Errorf("upload %d: %+v, want a new evidence with 1 finding", i, res)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	all := slices.Concat(latencies...)
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "uploads/s")
	b.ReportMetric(ms(percentile(all, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(all, 99)), "p99-ms")
}

// benchTokenOf is the token the benchmark's clients share.
type benchTokenOf struct {
	team   int64
	secret string
}

// benchToken creates a team, a user of role ml-engineer there and its
// token.
func benchToken(b *testing.B, st *store.Store) benchTokenOf {
	ctx := context.Background()
	team, err := st.CreateTeam(ctx, system, "bench")
	if err != nil {
		b.Fatal(err)
	}
	u, err := st.CreateUser(ctx, system, "ci", "", "")
	if err != nil {
		b.Fatal(err)
	}
	if err := st.AddMember(ctx, system, store.Membership{TeamID: team.ID, UserID: u.ID, Role: store.RoleMLEngineer}); err != nil {
		b.Fatal(err)
	}
	secret, _, err := st.CreateToken(ctx, system, store.TokenSpec{Name: "bench", UserID: u.ID, TeamID: team.ID,
		Role: store.RoleMLEngineer, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	return benchTokenOf{team.ID, secret}
}

// benchUploadOf is upload i: a new version of model (a model.pkl of its
// own bytes and a README.md) and a scan report of that version with one
// finding, as violet scan writes it.
func benchUploadOf(model string, i int64) Upload {
	target := "/models/" + model
	pkl := sha256.Sum256(fmt.Appendf(nil, "pickle %s %d", model, i))
	readme := sha256.Sum256([]byte("# a model\n"))
	files := []store.File{
		{Path: "README.md", SHA256: hex.EncodeToString(readme[:]), Size: 10},
		{Path: "model.pkl", SHA256: hex.EncodeToString(pkl[:]), Size: 4096 + i},
	}
	r := report.Report{
		SchemaVersion: report.SchemaVersion,
		Tool:          report.Tool{Name: "violet", Version: "bench", Analyzers: []string{"pickle/1"}},
		StartedAt:     time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Targets:       []string{target},
		FailOn:        finding.High,
		Files: []report.File{
			{Path: target + "/README.md", Size: 10, SHA256: files[0].SHA256, Skipped: true, Findings: []finding.Finding{}},
			{Path: target + "/model.pkl", Size: files[1].Size, SHA256: files[1].SHA256, Formats: []string{"pickle"},
				Findings: []finding.Finding{{Rule: finding.PickleProcess, Severity: finding.Critical,
					Title: "Pickle starts a process", Message: fmt.Sprintf("upload %d calls posix.system", i),
					Location: finding.Location{Path: target + "/model.pkl", Offset: 42}, Evidence: "posix.system('id')",
					Analyzer: "pickle/1"}}},
		},
	}
	data, err := json.Marshal(&r)
	if err != nil {
		panic(err) // a report of plain values always encodes
	}
	return Upload{Model: model, Source: store.Model{SourceKind: store.SourcePath, SourceRef: target},
		Digest: RootDigest(files), Label: fmt.Sprintf("v%d", i), Files: files, Kind: store.EvidenceScan, Report: data}
}

// percentile returns the p-th percentile of sorted durations (nearest
// rank), 0 for none.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := (len(sorted)*p + 99) / 100
	return sorted[max(k, 1)-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
