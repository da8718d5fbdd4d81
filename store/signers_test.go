package store

import (
	"context"
	"database/sql"
	"strings"
	"testing"
)

func TestTrustedSigners(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		f := newFixture(t, s, "a")
		g := newFixture(t, s, "b")
		key := TrustedSigner{TeamID: f.team.ID, Name: "release key", Kind: SignerKey, Material: "-----BEGIN PUBLIC KEY-----"}
		k := must[TrustedSigner](t)(s.AddTrustedSigner(ctx, tester, key))
		_, err := s.AddTrustedSigner(ctx, tester, key)
		wantErr(t, err, ErrExists)
		// Another team may use the name.
		must[TrustedSigner](t)(s.AddTrustedSigner(ctx, tester, TrustedSigner{TeamID: g.team.ID, Name: "release key",
			Kind: SignerCA, Material: "-----BEGIN CERTIFICATE-----"}))
		sig := must[TrustedSigner](t)(s.AddTrustedSigner(ctx, tester, TrustedSigner{TeamID: f.team.ID, Name: "ci",
			Kind: SignerSigstore, Material: `{"mediaType":"x"}`, Identity: "https://github.com/org/repo/.github/workflows/sign.yml@refs/heads/main",
			Issuer: "https://token.actions.githubusercontent.com"}))
		for _, bad := range []TrustedSigner{
			{TeamID: f.team.ID, Name: "", Kind: SignerKey, Material: "x"},
			{TeamID: f.team.ID, Name: "n", Kind: "password", Material: "x"},
			{TeamID: f.team.ID, Name: "n", Kind: SignerKey, Material: ""},
			{TeamID: f.team.ID, Name: "n", Kind: SignerKey, Material: strings.Repeat("x", MaxSignerMaterial+1)},
			{TeamID: f.team.ID, Name: "n", Kind: SignerKey, Material: "x", Identity: "a@b"},
			{TeamID: f.team.ID, Name: "n", Kind: SignerSigstore, Material: "x", Identity: "a@b"},
			{TeamID: f.team.ID, Name: "n", Kind: SignerSigstore, Material: "x", Issuer: "https://i"},
		} {
			_, err := s.AddTrustedSigner(ctx, tester, bad)
			wantErr(t, err, ErrInvalid)
		}
		got := must[[]TrustedSigner](t)(s.TrustedSigners(ctx, f.team.ID))
		if len(got) != 2 || got[0].ID != sig.ID || got[1].ID != k.ID || got[1].Material != key.Material || got[0].Issuer == "" ||
			got[1].CreatedBy != tester.Name {
			t.Fatalf("signers %+v", got)
		}
		// A team removes only its own signers.
		wantErr(t, s.RemoveTrustedSigner(ctx, tester, g.team.ID, k.ID), ErrNotFound)
		if err := s.RemoveTrustedSigner(ctx, tester, f.team.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		if got := must[[]TrustedSigner](t)(s.TrustedSigners(ctx, f.team.ID)); len(got) != 1 || got[0].ID != sig.ID {
			t.Fatalf("after removal %+v", got)
		}
		// Removing twice is a no-op; the name is free again.
		if err := s.RemoveTrustedSigner(ctx, tester, f.team.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		must[TrustedSigner](t)(s.AddTrustedSigner(ctx, tester, key))
		verifyOK(t, s)
	})
}

// TestCompleteVerifyAndBOM: a verify job stores a verify report with its
// signers, a BOM job a BOM with its lineage; neither counts as a scan (no
// scan run, not a rescan target).
func TestCompleteVerifyAndBOM(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		f := newFixture(t, s, "x")
		noJob := func(*sql.Tx, ScanRequest) (int64, error) { return 7, nil }
		// A verify or BOM request may name a version, or not.
		v := must[ScanRequest](t)(s.RequestScan(ctx, tester, f.model.ID, f.version.ID, ScanKindVerify, "/m", noJob))
		b := must[ScanRequest](t)(s.RequestScan(ctx, tester, f.model.ID, 0, ScanKindBOM, "/m", noJob))
		out, err := s.CompleteScan(ctx, tester, v.ID, ScanResult{VersionID: f.version.ID, Report: []byte(`{"verified":true}`),
			Pinned: "/m", Signers: []string{"key-hint"}}, nil)
		if err != nil || !out.Created || out.Request.Status != ScanDone || out.Request.EvidenceID == 0 {
			t.Fatalf("verify %+v %v", out, err)
		}
		ev := must[[]Evidence](t)(s.ListEvidence(ctx, f.version.ID, EvidenceVerify))
		if len(ev) != 1 || ev[0].ID != out.Request.EvidenceID {
			t.Fatalf("verify evidence %+v", ev)
		}
		if got := must[[]string](t)(s.VersionSigners(ctx, f.version.ID)); len(got) != 1 || got[0] != "key-hint" {
			t.Fatalf("signers %v", got)
		}
		lineage := []LineageLink{{Kind: LineageModel, Relation: "fine-tuned-from", Name: "org/base"}}
		out, err = s.CompleteScan(ctx, tester, b.ID, ScanResult{VersionID: f.version.ID, Report: []byte(`{"bomFormat":"CycloneDX"}`),
			Lineage: lineage}, nil)
		if err != nil || out.Request.VersionID != f.version.ID {
			t.Fatalf("bom %+v %v", out, err)
		}
		if got := must[[]LineageLink](t)(s.Lineage(ctx, f.version.ID)); len(got) != 1 || got[0].Name != "org/base" {
			t.Fatalf("lineage %+v", got)
		}
		if n := count(t, s, "scan_runs"); n != 0 {
			t.Fatalf("%d scan runs: a verify or BOM job is not a scan", n)
		}
		if ts := must[[]RescanTarget](t)(s.RescanTargets(ctx, 0)); len(ts) != 0 {
			t.Fatalf("rescan targets %+v: only scans give one", ts)
		}
		// A released version that no longer verifies notifies; the same
		// failure of a version not released does not.
		rel := must[Release](t)(s.CreateRelease(ctx, tester, Release{VersionID: f.version.ID, Title: "to prod", Tier: "low",
			Required: []string{"ml-engineer"}}))
		must[ReleaseDecision](t)(s.DecideRelease(ctx, tester, f.user.ID, ReleaseDecision{ReleaseID: rel.ID, Role: "ml-engineer",
			Decision: DecisionApprove, Reason: "ok", Digest: f.version.Digest}))
		must[Webhook](t)(s.CreateWebhook(ctx, tester, testWebhook(f, EventVerifyFailed)))
		rv := must[ScanRequest](t)(s.RequestScan(ctx, tester, f.model.ID, f.version.ID, ScanKindVerify, "/m", noJob))
		must[ScanOutcome](t)(s.CompleteScan(ctx, tester, rv.ID, ScanResult{VersionID: f.version.ID, Report: []byte(`{"verified":false}`),
			VerifyFailure: "no signer the team trusts"}, nil))
		if n := count(t, s, "webhook_deliveries"); n != 1 {
			t.Fatalf("%d deliveries, want 1 (verify.failed)", n)
		}
		other, _, err := s.PutVersion(ctx, tester, f.model.ID, "sha256:"+sha("other"), "v2", []File{{Path: "m.bin", SHA256: sha("w2"), Size: 1}})
		if err != nil {
			t.Fatal(err)
		}
		ro := must[ScanRequest](t)(s.RequestScan(ctx, tester, f.model.ID, other.ID, ScanKindVerify, "/m", noJob))
		must[ScanOutcome](t)(s.CompleteScan(ctx, tester, ro.ID, ScanResult{VersionID: other.ID, Report: []byte(`{"verified":false}`),
			VerifyFailure: "unsigned"}, nil))
		if n := count(t, s, "webhook_deliveries"); n != 1 {
			t.Fatalf("%d deliveries: a version not released notified", n)
		}
		// A failed verify job of a known version stores no report: no
		// evidence that could read as verified.
		v2 := must[ScanRequest](t)(s.RequestScan(ctx, tester, f.model.ID, f.version.ID, ScanKindVerify, "/m", noJob))
		out, err = s.CompleteScan(ctx, tester, v2.ID, ScanResult{VersionID: f.version.ID, Incomplete: true, Error: "fetch failed"}, nil)
		if err != nil || out.Request.Status != ScanIncomplete || out.Request.EvidenceID != 0 || out.Request.Error != "fetch failed" {
			t.Fatalf("incomplete verify %+v %v", out, err)
		}
		// Signers and lineage are bounded.
		v3 := must[ScanRequest](t)(s.RequestScan(ctx, tester, f.model.ID, f.version.ID, ScanKindVerify, "/m", noJob))
		_, err = s.CompleteScan(ctx, tester, v3.ID, ScanResult{VersionID: f.version.ID, Report: []byte(`{}`), Signers: []string{"a\x00b"}}, nil)
		wantErr(t, err, ErrInvalid)
		verifyOK(t, s)
	})
}
