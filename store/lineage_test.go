package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
)

func TestScanChanges(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		ctx := context.Background()
		f := newFixture(t, s, "a")
		in := func(rule string) FindingInput {
			return FindingInput{Rule: rule, FileSHA256: sha("weightsa"), Location: "data.pkl", Severity: finding.High, Message: rule}
		}
		// Scanner 1 reports A and B; scanner 2 re-judges the same files
		// and reports B and C.
		e1, _ := must2(t)(s.AddScanEvidence(ctx, tester, f.version.ID, []byte(`{"scanner":1}`), "v1.0.0", []FindingInput{in("A"), in("B")}))
		e2, _ := must2(t)(s.AddScanEvidence(ctx, tester, f.version.ID, []byte(`{"scanner":2}`), "v2.0.0", []FindingInput{in("B"), in("C")}))
		runs := must[[]ScanRun](t)(s.ScanRuns(ctx, f.version.ID))
		// The fixture's scan (stored by AddEvidence, no findings yet, no
		// run) is not a run: a run is recorded with its findings.
		if len(runs) != 2 || runs[0].ScannerVersion != "v1.0.0" || runs[1].ScannerVersion != "v2.0.0" ||
			runs[0].Findings != 2 || runs[1].Findings != 2 {
			t.Fatalf("runs %+v", runs)
		}
		c := must[ScanChange](t)(s.ScanChanges(ctx, f.version.ID, e2.ID))
		if c.Base == nil || c.Base.EvidenceID != e1.ID || rules(c.Added) != "C" || rules(c.Removed) != "A" || c.Kept != 1 {
			t.Fatalf("change %+v", c)
		}
		first := must[ScanChange](t)(s.ScanChanges(ctx, f.version.ID, e1.ID))
		if first.Base != nil || rules(first.Added) != "A B" || len(first.Removed) != 0 {
			t.Fatalf("first run's change %+v", first)
		}
		// The same report again is the same run: nothing changes.
		again, created := must2(t)(s.AddScanEvidence(ctx, tester, f.version.ID, []byte(`{"scanner":2}`), "v2.0.0", []FindingInput{in("B"), in("C")}))
		if created || again.ID != e2.ID || len(must[[]ScanRun](t)(s.ScanRuns(ctx, f.version.ID))) != 2 {
			t.Fatalf("repeated upload: created %v, id %d", created, again.ID)
		}
		// A run of another version, or no run, is not found.
		other := newFixture(t, s, "b")
		_, err := s.ScanChanges(ctx, other.version.ID, e2.ID)
		wantErr(t, err, ErrNotFound)
		// Findings come from scan reports only.
		bom := must[Evidence](t)(first2(s.AddEvidence(ctx, tester, f.version.ID, EvidenceBOM, []byte(`{"bom":1}`))))
		_, err = s.RecordFindings(ctx, tester, f.version.ID, bom.ID, []FindingInput{in("A")})
		wantErr(t, err, ErrInvalid)
		_, _, err = s.AddScanEvidence(ctx, tester, f.version.ID, []byte(`{}`), "v\n1", nil)
		wantErr(t, err, ErrInvalid)
		verifyOK(t, s)
	})
}

func TestLineageAndPackages(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		ctx := context.Background()
		f := newFixture(t, s, "a")
		g := newFixture(t, s, "b") // another team
		base := LineageLink{Kind: LineageModel, Relation: "adapter", Name: "org/base", Ref: "pkg:huggingface/org/base"}
		data := LineageLink{Kind: LineageDataset, Relation: "training", Name: "org/chats", Ref: "https://huggingface.co/datasets/org/chats"}
		must2(t)(s.AddBOMEvidence(ctx, tester, f.version.ID, []byte(`{"bom":1}`), []LineageLink{data, base}))
		must2(t)(s.AddBOMEvidence(ctx, tester, g.version.ID, []byte(`{"bom":1}`), []LineageLink{base}))
		l := must[[]LineageLink](t)(s.Lineage(ctx, f.version.ID))
		if len(l) != 2 || l[0] != base || l[1] != data {
			t.Fatalf("lineage %+v", l)
		}
		// Where used: only the team's own versions.
		u := must[[]Usage](t)(s.LineageUsers(ctx, f.team.ID, LineageModel, "org/base"))
		if len(u) != 1 || u[0].VersionID != f.version.ID || u[0].How != "adapter" || u[0].ModelName != f.model.Name {
			t.Fatalf("lineage users %+v", u)
		}
		// A newer BOM replaces the lineage (the old rows stay, as history).
		must2(t)(s.AddBOMEvidence(ctx, tester, f.version.ID, []byte(`{"bom":2}`), nil))
		if l := must[[]LineageLink](t)(s.Lineage(ctx, f.version.ID)); len(l) != 0 {
			t.Fatalf("lineage after a BOM without lineage: %+v", l)
		}
		if u := must[[]Usage](t)(s.LineageUsers(ctx, f.team.ID, LineageModel, "org/base")); len(u) != 0 {
			t.Fatalf("lineage users after a newer BOM: %+v", u)
		}

		torch := Package{Ecosystem: "PyPI", Name: "torch", Version: "2.5.0", Manifest: "requirements.txt", Line: 3, Severity: "critical"}
		peft := Package{Ecosystem: "PyPI", Name: "peft", Specifier: ">=0.10", Manifest: "requirements.txt", Line: 4}
		must2(t)(s.AddDepsEvidence(ctx, tester, f.version.ID, []byte(`{"deps":1}`), []Package{torch, peft}))
		p := must[[]Package](t)(s.Packages(ctx, f.version.ID))
		if len(p) != 2 || p[0] != peft || p[1] != torch {
			t.Fatalf("packages %+v", p)
		}
		if u := must[[]Usage](t)(s.PackageUsers(ctx, f.team.ID, "PyPI", "torch")); len(u) != 1 || u[0].How != "2.5.0" {
			t.Fatalf("package users %+v", u)
		}
		if u := must[[]Usage](t)(s.PackageUsers(ctx, g.team.ID, "PyPI", "torch")); len(u) != 0 {
			t.Fatalf("another team sees %+v", u)
		}
		// Bad input is refused and nothing is stored.
		for name, bad := range map[string]Package{
			"control character": {Ecosystem: "PyPI", Name: "to\x00rch", Manifest: "r.txt"},
			"path escape":       {Ecosystem: "PyPI", Name: "torch", Manifest: "../r.txt"},
			"negative line":     {Ecosystem: "PyPI", Name: "torch", Manifest: "r.txt", Line: -1},
			"bad severity":      {Ecosystem: "PyPI", Name: "torch", Manifest: "r.txt", Severity: "severe"},
		} {
			_, _, err := s.AddDepsEvidence(ctx, tester, f.version.ID, []byte(`{"deps":"`+name+`"}`), []Package{bad})
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		_, _, err := s.AddBOMEvidence(ctx, tester, f.version.ID, []byte(`{"bom":3}`), []LineageLink{{Kind: "person", Relation: "x", Name: "y"}})
		wantErr(t, err, ErrInvalid)
		if n := len(must[[]Evidence](t)(s.ListEvidence(ctx, f.version.ID, EvidenceDeps))); n != 1 {
			t.Fatalf("%d deps reports stored, want 1", n)
		}
		verifyOK(t, s)
	})
}

func TestDiscoveryOwners(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		s := openT(t, target)
		ctx := context.Background()
		f := newFixture(t, s, "a")
		g := newFixture(t, s, "b")
		owner := ModelOwner{ModelID: f.model.ID, Owner: "@org/ml", Via: OwnerViaCodeowners, Asset: "models/a"}
		d1, created := must2d(t)(s.AddDiscovery(ctx, tester, f.team.ID, "git.example/platform", []byte(`{"n":1}`), []ModelOwner{owner}))
		if !created {
			t.Fatal("first discovery not created")
		}
		again, created := must2d(t)(s.AddDiscovery(ctx, tester, f.team.ID, "git.example/platform", []byte(`{"n":1}`), []ModelOwner{owner}))
		if created || again.ID != d1.ID {
			t.Fatalf("repeated discovery: %+v created %v", again, created)
		}
		// Another code base adds its owners; a newer discovery of the
		// first replaces that code base's.
		git := ModelOwner{ModelID: f.model.ID, Owner: "Ann <ann@example.com>", Via: OwnerViaGit, Asset: "ml/a"}
		must2d(t)(s.AddDiscovery(ctx, tester, f.team.ID, "git.example/research", []byte(`{"n":2}`), []ModelOwner{git}))
		moved := ModelOwner{ModelID: f.model.ID, Owner: "@org/platform", Via: OwnerViaCodeowners, Asset: "models/a"}
		must2d(t)(s.AddDiscovery(ctx, tester, f.team.ID, "git.example/platform", []byte(`{"n":3}`), []ModelOwner{moved}))
		var got []string
		for _, o := range must[[]ModelOwner](t)(s.ModelOwners(ctx, f.model.ID)) {
			got = append(got, o.Source+" "+o.Owner)
		}
		if strings.Join(got, "; ") != "git.example/platform @org/platform; git.example/research Ann <ann@example.com>" {
			t.Fatalf("owners %q", got)
		}
		// A team's discovery cannot name another team's model.
		_, _, err := s.AddDiscovery(ctx, tester, f.team.ID, "git.example/x", []byte(`{"n":4}`),
			[]ModelOwner{{ModelID: g.model.ID, Owner: "@evil", Via: OwnerViaGit, Asset: "x"}})
		wantErr(t, err, ErrInvalid)
		if len(must[[]ModelOwner](t)(s.ModelOwners(ctx, g.model.ID))) != 0 {
			t.Fatal("owner stored on another team's model")
		}
		if n := len(must[[]Discovery](t)(s.Discoveries(ctx, f.team.ID))); n != 3 {
			t.Fatalf("%d discoveries, want 3", n)
		}
		team, rep, err := s.DiscoveryReport(ctx, d1.ID)
		if err != nil || team != f.team.ID || string(rep) != `{"n":1}` {
			t.Fatalf("report %d %q %v", team, rep, err)
		}
		verifyOK(t, s)
	})
}

// rules lists findings' rules, space-separated, in order.
func rules(fs []Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	return strings.Join(out, " ")
}

// must2 fails the test on an error of a store call returning evidence and
// created.
func must2(t *testing.T) func(e Evidence, created bool, err error) (Evidence, bool) {
	return func(e Evidence, created bool, err error) (Evidence, bool) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return e, created
	}
}

// must2d is must2 for discoveries.
func must2d(t *testing.T) func(d Discovery, created bool, err error) (Discovery, bool) {
	return func(d Discovery, created bool, err error) (Discovery, bool) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return d, created
	}
}

// first2 drops the created flag of a store call.
func first2(e Evidence, _ bool, err error) (Evidence, error) { return e, err }
