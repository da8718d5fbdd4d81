package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/finding"
)

func TestScanCacheGetPutPrune(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		c := s.ScanCache(3)
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		setClock(s, base.Add(-time.Hour))
		if _, ok, err := c.Get(ctx, "k1"); ok || err != nil {
			t.Fatalf("empty cache: %v %v", ok, err)
		}
		if err := c.Put(ctx, "k1", []byte("findings 1")); err != nil {
			t.Fatal(err)
		}
		v, ok, err := c.Get(ctx, "k1")
		if err != nil || !ok || string(v) != "findings 1" {
			t.Fatalf("get %q %v %v", v, ok, err)
		}
		// Put replaces.
		if err := c.Put(ctx, "k1", []byte("findings 1b")); err != nil {
			t.Fatal(err)
		}
		if v, _, _ := c.Get(ctx, "k1"); string(v) != "findings 1b" {
			t.Fatalf("replaced %q", v)
		}
		// An empty value is a value (a file without findings).
		if err := c.Put(ctx, "empty", nil); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := c.Get(ctx, "empty"); !ok || err != nil || len(v) != 0 {
			t.Fatalf("empty value %q %v %v", v, ok, err)
		}
		// Bounds: keys, values.
		_, _, err = c.Get(ctx, "")
		wantErr(t, err, ErrInvalid)
		wantErr(t, c.Put(ctx, strings.Repeat("k", MaxScanCacheKey+1), nil), ErrInvalid)
		if err := c.Put(ctx, "huge", bytes.Repeat([]byte("x"), MaxScanCacheValue+1)); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := c.Get(ctx, "huge"); ok {
			t.Fatal("a value over the limit was cached")
		}
		st, err := c.Stats(ctx)
		if err != nil || st.Hits != 3 || st.Misses != 2 || st.Entries != 2 || st.HitRate() != 3.0/5 {
			t.Fatalf("stats %+v %v", st, err)
		}
		// Eviction: least recently used first, down to MaxEntries.
		for i := range 5 {
			setClock(s, base.Add(time.Duration(i)*time.Hour))
			if err := c.Put(ctx, fmt.Sprintf("e%d", i), []byte("v")); err != nil {
				t.Fatal(err)
			}
		}
		// e0 is used again (a hit more than a minute after its put).
		setClock(s, base.Add(10*time.Hour))
		if _, ok, _ := c.Get(ctx, "e0"); !ok {
			t.Fatal("e0 missing")
		}
		gone, err := c.Prune(ctx)
		if err != nil || gone != 4 {
			t.Fatalf("pruned %d, %v", gone, err)
		}
		for key, want := range map[string]bool{"e0": true, "e3": true, "e4": true, "e1": false, "e2": false, "k1": false, "empty": false} {
			if _, ok, _ := c.Get(ctx, key); ok != want {
				t.Errorf("%s kept %v, want %v", key, ok, want)
			}
		}
	})
}

func TestCompleteScanOnceAndNotifies(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		f := newFixture(t, s, "x")
		noJob := func(*sql.Tx, ScanRequest) (int64, error) { return 42, nil }
		// A scan names no version, a rescan one; the location is bounded.
		_, err := s.RequestScan(ctx, tester, f.model.ID, f.version.ID, ScanKindScan, "/m", noJob)
		wantErr(t, err, ErrInvalid)
		_, err = s.RequestScan(ctx, tester, f.model.ID, 0, ScanKindScan, strings.Repeat("x", 3000), noJob)
		wantErr(t, err, ErrInvalid)
		r, err := s.RequestScan(ctx, tester, f.model.ID, f.version.ID, ScanKindRescan, "/m", noJob)
		if err != nil || r.JobID != 42 {
			t.Fatalf("%+v %v", r, err)
		}
		// The version is released; a webhook listens.
		rel := must[Release](t)(s.CreateRelease(ctx, tester, Release{VersionID: f.version.ID, Title: "to prod", Tier: "low",
			Required: []string{"ml-engineer"}}))
		must[ReleaseDecision](t)(s.DecideRelease(ctx, tester, f.user.ID, ReleaseDecision{ReleaseID: rel.ID, Role: "ml-engineer",
			Decision: DecisionApprove, Reason: "ok", Digest: f.version.Digest}))
		must[Webhook](t)(s.CreateWebhook(ctx, tester, testWebhook(f, EventRescanNewFinding)))
		sum := sha("weights" + "x")
		res := ScanResult{VersionID: f.version.ID, Report: []byte(`{"rescan":2}`), Scanner: "v2", Policy: "sha256:p",
			Findings: []FindingInput{{Rule: "PICKLE-PROCESS", FileSHA256: sum, Location: "model.safetensors@3",
				Severity: finding.Critical, Message: "os.system"}, {Rule: "FORMAT-MALFORMED", FileSHA256: sum,
				Location: "model.safetensors", Severity: finding.Medium, Message: "bad"}}}
		completed := 0
		out, err := s.CompleteScan(ctx, tester, r.ID, res, func(*sql.Tx) error { completed++; return nil })
		if err != nil || !out.Created || out.NewFindings != 2 || completed != 1 || out.Request.Status != ScanDone {
			t.Fatalf("%+v %v (completed %d)", out, err, completed)
		}
		if n := count(t, s, "webhook_deliveries"); n != 1 {
			t.Fatalf("%d deliveries, want 1 (the rescan's new critical finding)", n)
		}
		// A second completion (a rescued job) changes nothing.
		_, err = s.CompleteScan(ctx, tester, r.ID, ScanResult{VersionID: f.version.ID, Report: []byte(`{"rescan":3}`)}, nil)
		wantErr(t, err, ErrConflict)
		if ev := must[[]Evidence](t)(s.ListEvidence(ctx, f.version.ID, EvidenceScan)); len(ev) != 2 {
			t.Fatalf("evidence %+v", ev)
		}
		// A failing completion rolls the result back.
		r2, err := s.RequestScan(ctx, tester, f.model.ID, f.version.ID, ScanKindRescan, "/m", noJob)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.CompleteScan(ctx, tester, r2.ID, ScanResult{VersionID: f.version.ID, Report: []byte(`{"rescan":4}`)},
			func(*sql.Tx) error { return fmt.Errorf("job gone: %w", ErrNotFound) })
		wantErr(t, err, ErrNotFound)
		if got := must[ScanRequest](t)(s.ScanRequest(ctx, r2.ID)); got.Status != ScanQueued {
			t.Fatalf("rolled back request %+v", got)
		}
		if ev := must[[]Evidence](t)(s.ListEvidence(ctx, f.version.ID, EvidenceScan)); len(ev) != 2 {
			t.Fatalf("evidence after rollback %+v", ev)
		}
		verifyOK(t, s)
	})
}
