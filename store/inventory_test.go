package store

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestModelsAndVersions(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		f := newFixture(t, s, "x")
		if got := must[Model](t)(s.Model(ctx, f.model.ID)); got != f.model {
			t.Fatalf("model %+v, want %+v", got, f.model)
		}
		_, err := s.Model(ctx, f.model.ID+100)
		wantErr(t, err, ErrNotFound)
		_, err = s.CreateModel(ctx, tester, Model{TeamID: f.team.ID, Name: f.model.Name, SourceKind: SourcePath, SourceRef: "/x"})
		wantErr(t, err, ErrExists)
		_, err = s.CreateModel(ctx, tester, Model{TeamID: f.team.ID, Name: "y", SourceKind: "s3", SourceRef: "/x"})
		wantErr(t, err, ErrInvalid)

		files := must[[]File](t)(s.VersionFiles(ctx, f.version.ID))
		if len(files) != 2 || files[0].Path != "config.json" || files[1].Path != "model.safetensors" {
			t.Fatalf("files %+v", files)
		}
		// Same digest, same files in another order: the stored version.
		again, created, err := s.PutVersion(ctx, tester, f.model.ID, f.version.Digest, "", []File{files[1], files[0]})
		if err != nil || created || again != f.version {
			t.Fatalf("repeat: %+v %v %v", again, created, err)
		}
		// Same digest, other files: a conflict, and nothing changes.
		changed := []File{files[0], {Path: "model.safetensors", SHA256: sha("evil"), Size: 100}}
		_, _, err = s.PutVersion(ctx, tester, f.model.ID, f.version.Digest, "", changed)
		wantErr(t, err, ErrConflict)
		_, _, err = s.PutVersion(ctx, tester, f.model.ID, f.version.Digest, "", files[:1])
		wantErr(t, err, ErrConflict)
		if got := must[[]File](t)(s.VersionFiles(ctx, f.version.ID)); len(got) != 2 || got[1].SHA256 != sha("weightsx") {
			t.Fatalf("files changed: %+v", got)
		}
		// The same digest under another model is another version.
		other := must[Model](t)(s.CreateModel(ctx, tester, Model{TeamID: f.team.ID, Name: "fork", SourceKind: SourcePath, SourceRef: "/f"}))
		if _, created, err := s.PutVersion(ctx, tester, other.ID, f.version.Digest, "", changed); err != nil || !created {
			t.Fatalf("other model: %v %v", created, err)
		}
		_, _, err = s.PutVersion(ctx, tester, f.model.ID+100, "sha256:"+sha("z"), "", nil)
		wantErr(t, err, ErrNotFound)
		vs := must[[]Version](t)(s.Versions(ctx, f.model.ID))
		if len(vs) != 1 {
			t.Fatalf("versions %+v", vs)
		}
		verifyOK(t, s)
	})
}

func TestPutVersionRefusesBadInput(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := context.Background()
	f := newFixture(t, s, "x")
	good := File{Path: "a.bin", SHA256: sha("a"), Size: 1}
	cases := map[string]struct {
		digest string
		files  []File
	}{
		"digest without algorithm": {sha("d"), []File{good}},
		"digest upper case":        {"sha256:" + strings.ToUpper(sha("d")), []File{good}},
		"digest short":             {"sha256:abc", []File{good}},
		"absolute path":            {"sha256:" + sha("d"), []File{{Path: "/etc/passwd", SHA256: sha("a")}}},
		"dot dot":                  {"sha256:" + sha("d"), []File{{Path: "../x", SHA256: sha("a")}}},
		"inner dot dot":            {"sha256:" + sha("d"), []File{{Path: "a/../../x", SHA256: sha("a")}}},
		"unclean":                  {"sha256:" + sha("d"), []File{{Path: "a//b", SHA256: sha("a")}}},
		"backslash":                {"sha256:" + sha("d"), []File{{Path: `a\b`, SHA256: sha("a")}}},
		"nul":                      {"sha256:" + sha("d"), []File{{Path: "a\x00b", SHA256: sha("a")}}},
		"empty path":               {"sha256:" + sha("d"), []File{{Path: "", SHA256: sha("a")}}},
		"bad sha":                  {"sha256:" + sha("d"), []File{{Path: "a", SHA256: "xyz"}}},
		"negative size":            {"sha256:" + sha("d"), []File{{Path: "a", SHA256: sha("a"), Size: -1}}},
		"twice":                    {"sha256:" + sha("d"), []File{good, good}},
	}
	for name, c := range cases {
		if _, _, err := s.PutVersion(ctx, tester, f.model.ID, c.digest, "", c.files); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	many := make([]File, MaxVersionFiles+1)
	_, _, err := s.PutVersion(ctx, tester, f.model.ID, "sha256:"+sha("d"), "", many)
	wantErr(t, err, ErrTooLarge)
	if n := count(t, s, "model_versions"); n != 1 {
		t.Fatalf("%d versions", n)
	}
}

func TestEvidence(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		f := newFixture(t, s, "x")
		report := []byte(`{"schema":"violet-report","findings":[{"id":"X","severity":"high"}]}` + "\n")
		e, created, err := s.AddEvidence(ctx, tester, f.version.ID, EvidenceScan, report)
		if err != nil || !created || e.SHA256 != sha(string(report)) || e.Size != int64(len(report)) || e.UploadedBy != tester.Name {
			t.Fatalf("add: %+v %v %v", e, created, err)
		}
		again, created, err := s.AddEvidence(ctx, Actor{Name: "someone else"}, f.version.ID, EvidenceScan, report)
		if err != nil || created || again != e {
			t.Fatalf("repeat: %+v %v %v", again, created, err)
		}
		// The same bytes as another kind are another piece of evidence.
		if _, created, err := s.AddEvidence(ctx, tester, f.version.ID, EvidenceGate, report); err != nil || !created {
			t.Fatalf("other kind: %v %v", created, err)
		}
		if got := must[[]byte](t)(s.EvidenceReport(ctx, e.ID)); !bytes.Equal(got, report) {
			t.Fatalf("report %q", got)
		}
		if l := must[[]Evidence](t)(s.ListEvidence(ctx, f.version.ID, EvidenceScan)); len(l) != 2 || l[1] != e {
			t.Fatalf("list %+v", l)
		}
		if l := must[[]Evidence](t)(s.ListEvidence(ctx, f.version.ID, "")); len(l) != 3 {
			t.Fatalf("list all %+v", l)
		}

		_, _, err = s.AddEvidence(ctx, tester, f.version.ID, "sbom", report)
		wantErr(t, err, ErrInvalid)
		_, _, err = s.AddEvidence(ctx, tester, f.version.ID, EvidenceScan, []byte(`{"truncated":`))
		wantErr(t, err, ErrInvalid)
		big := append(append([]byte(`"`), bytes.Repeat([]byte("a"), MaxEvidenceSize-1)...), '"')
		_, _, err = s.AddEvidence(ctx, tester, f.version.ID, EvidenceScan, big)
		wantErr(t, err, ErrTooLarge)
		_, _, err = s.AddEvidence(ctx, tester, f.version.ID+100, EvidenceScan, report)
		wantErr(t, err, ErrNotFound)

		// A report changed in the database is refused, not returned.
		if _, err := s.db.Exec(`UPDATE evidence SET report = $1 WHERE id = $2`, []byte(`{"findings":[]}`+"\n"), e.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.EvidenceReport(ctx, e.ID); err == nil || !strings.Contains(err.Error(), "does not match") {
			t.Fatalf("changed report: %v", err)
		}
		_, err = s.EvidenceReport(ctx, e.ID+100)
		wantErr(t, err, ErrNotFound)
		verifyOK(t, s)
	})
}

func TestEvidenceAtTheSizeLimit(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		f := newFixture(t, s, "x")
		max := append(append([]byte(`"`), bytes.Repeat([]byte("a"), MaxEvidenceSize-2)...), '"')
		e, created, err := s.AddEvidence(ctx, tester, f.version.ID, EvidenceBOM, max)
		if err != nil || !created {
			t.Fatalf("%d bytes: %v %v", len(max), created, err)
		}
		if got := must[[]byte](t)(s.EvidenceReport(ctx, e.ID)); !bytes.Equal(got, max) {
			t.Fatalf("read back %d bytes", len(got))
		}
	})
}
