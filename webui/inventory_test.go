package webui

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/store"
)

// TestModelPageInventory: the model page shows the owners, lineage and
// packages the inventory drew from evidence, and what a newer scanner's
// report changed, all escaped.
func TestModelPageInventory(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	ci := store.Actor{Name: "ci", Remote: "127.0.0.1:3"}
	if _, _, err := w.st.AddBOMEvidence(ctx, ci, w.versionA.ID, []byte(`{"bom":1}`), []store.LineageLink{
		{Kind: store.LineageModel, Relation: "adapter", Name: "org/base " + xss, Ref: "pkg:huggingface/org/base"},
		{Kind: store.LineageDataset, Relation: "training", Name: "org/chats"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.st.AddDepsEvidence(ctx, ci, w.versionA.ID, []byte(`{"deps":1}`), []store.Package{
		{Ecosystem: "PyPI", Name: "torch", Version: "2.5.0", Manifest: "requirements.txt", Line: 3, Severity: "critical"},
		{Ecosystem: "PyPI", Name: "peft", Specifier: ">=0.10", Manifest: "requirements.txt", Line: 4}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.st.AddDiscovery(ctx, ci, w.teamA.ID, "git.example/platform", []byte(`{"assets":[]}`), []store.ModelOwner{
		{ModelID: w.modelA.ID, Owner: "@org/ml " + xss, Via: store.OwnerViaCodeowners, Asset: "models/a"}}); err != nil {
		t.Fatal(err)
	}
	srv := w.server(t, Options{})
	page := func() string {
		r := loggedIn(t, srv, w.bob).get(fmt.Sprintf("/models/%d", w.modelA.ID))
		wantStatus(t, r, http.StatusOK)
		if strings.Contains(r.body, "<script") {
			t.Error("model page holds an unescaped script element")
		}
		return r.body
	}
	body := page()
	for _, want := range []string{
		"@org/ml &lt;script&gt;", "git.example/platform", // owners
		"adapter", "org/base &lt;script&gt;", "pkg:huggingface/org/base", "org/chats", // lineage
		"2.5.0", "requirements.txt:3", `class="sev critical"`, "&gt;=0.10", // packages
	} {
		if !strings.Contains(body, want) {
			t.Errorf("model page: no %q", want)
		}
	}
	if strings.Contains(body, "What the latest scan changed") {
		t.Error("a version with one scan shows a change")
	}
	// A newer scanner re-judges the files: one finding gone, one new.
	if _, _, err := w.st.AddScanEvidence(ctx, ci, w.versionA.ID, scanReport(t, finding.High, "rescan"), "v9.9.9", []store.FindingInput{
		{Rule: "PICKLE-NEWER", FileSHA256: w.fileSHA, Location: "model.pkl@9", Severity: finding.High, Message: "newer rule " + xss}}); err != nil {
		t.Fatal(err)
	}
	body = page()
	for _, want := range []string{"What the latest scan changed", "Scanner v9.9.9", "1 new, 1 no longer reported, 0 unchanged",
		"PICKLE-NEWER", "newer rule &lt;script&gt;", "no longer reported</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("model page after a rescan: no %q", want)
		}
	}
}
