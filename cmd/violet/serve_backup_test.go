package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/server"
	"github.com/violet-mlsecops/violet/store"
)

// testUpload is client w's upload i: a new version of its model
// "model-<w>" (a model.pkl of bytes of its own and a README.md) and its
// scan report, with one finding, as violet scan writes it.
func testUpload(w int, i int64) server.Upload {
	model := fmt.Sprintf("model-%d", w)
	target := "/models/" + model
	pkl := sha256.Sum256(fmt.Appendf(nil, "pickle %d", i))
	readme := sha256.Sum256([]byte("# a model\n"))
	files := []store.File{
		{Path: "README.md", SHA256: hex.EncodeToString(readme[:]), Size: 10},
		{Path: "model.pkl", SHA256: hex.EncodeToString(pkl[:]), Size: 1000 + i},
	}
	r := report.Report{
		SchemaVersion: report.SchemaVersion,
		Tool:          report.Tool{Name: "violet", Version: "test", Analyzers: []string{"pickle/1"}},
		Targets:       []string{target},
		FailOn:        finding.High,
		Files: []report.File{
			{Path: target + "/README.md", Size: 10, SHA256: files[0].SHA256, Skipped: true, Findings: []finding.Finding{}},
			{Path: target + "/model.pkl", Size: files[1].Size, SHA256: files[1].SHA256, Formats: []string{"pickle"},
				Findings: []finding.Finding{{Rule: finding.PickleProcess, Severity: finding.Critical,
					Message:  fmt.Sprintf("upload %d calls posix.system", i),
					Location: finding.Location{Path: target + "/model.pkl", Offset: 7}}}},
		},
	}
	data, err := json.Marshal(&r)
	if err != nil {
		panic(err) // a report of plain values always encodes
	}
	return server.Upload{Model: model, Source: store.Model{SourceKind: store.SourcePath, SourceRef: target},
		Digest: server.RootDigest(files), Label: fmt.Sprintf("upload %d", i), Files: files, Kind: store.EvidenceScan, Report: data}
}

// auditHead matches the head that violet audit verify prints.
var auditHead = regexp.MustCompile(`head seq [0-9]+ hash [0-9a-f]{64}`)

// TestServeBackupRestore: violet serve backup while the server runs and
// takes uploads, then the restore of docs/server.md (Backup and restore):
// the copy put as violet.db (mode 0600) in an empty data folder. The
// server started there serves the models and reports uploaded before the
// backup, not the one uploaded after it; the tokens of the old server
// still work (admin.token is not part of the backup, and no new admin is
// made); the audit chain verifies, with the head it had at the backup
// before the restored server starts.
func TestServeBackupRestore(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	base, _, stop := startServe(t, data)
	raw, err := os.ReadFile(filepath.Join(data, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(raw))
	api(t, "POST", base+"/api/v1/teams", admin, map[string]string{"name": "ml"}, nil, 201)
	api(t, "POST", base+"/api/v1/users", admin, map[string]string{"login": "ci", "team": "ml", "role": "ml-engineer"}, nil, 201)
	var tok struct{ Secret string }
	api(t, "POST", base+"/api/v1/tokens", admin, map[string]any{"login": "ci", "team": "ml", "role": "ml-engineer", "name": "ci"}, &tok, 201)
	client := &server.Client{BaseURL: base, Token: tok.Secret}
	var before []server.Upload
	for i := range 3 {
		up := testUpload(i%2, int64(i))
		if _, err := client.Upload(ctx, up); err != nil {
			t.Fatal(err)
		}
		before = append(before, up)
	}

	var out, errOut bytes.Buffer
	if code := run([]string{"audit", "verify", "--data", data}, &out, &errOut); code != report.ExitPass {
		t.Fatalf("audit verify: exit %d: %s", code, errOut.String())
	}
	head := auditHead.FindString(out.String())
	if head == "" {
		t.Fatalf("audit verify printed no head: %s", out.String())
	}
	backup := filepath.Join(t.TempDir(), "violet-backup.db")
	if code := run([]string{"serve", "backup", "--data", data, "--to", backup}, io.Discard, &errOut); code != report.ExitPass {
		t.Fatalf("serve backup while the server runs: exit %d: %s", code, errOut.String())
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the backup: %v %v", fi, err)
	}
	after := testUpload(0, 99)
	if _, err := client.Upload(ctx, after); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// The restore of docs/server.md: an empty data folder, the copy as
	// violet.db, private.
	restored := filepath.Join(t.TempDir(), "restored")
	if err := os.Mkdir(restored, 0o700); err != nil {
		t.Fatal(err)
	}
	copyFile(t, backup, filepath.Join(restored, store.DBFile), 0o600)
	out.Reset()
	if code := run([]string{"audit", "verify", "--data", restored}, &out, &errOut); code != report.ExitPass || auditHead.FindString(out.String()) != head {
		t.Fatalf("audit verify of the restored data: exit %d, %q, want the head at the backup, %q: %s", code, out.String(), head, errOut.String())
	}

	base2, stderr2, stop2 := startServe(t, restored)
	if strings.Contains(stderr2.String(), "First start") {
		t.Errorf("the restored server made a new admin: %s", stderr2.String())
	}
	if _, err := os.Stat(filepath.Join(restored, AdminTokenFile)); !os.IsNotExist(err) {
		t.Errorf("the restored server wrote an admin.token: %v", err)
	}
	api(t, "GET", base2+"/api/v1/teams", admin, nil, nil, 200)
	var models struct{ Items []struct{ Name string } }
	api(t, "GET", base2+"/api/v1/models", tok.Secret, nil, &models, 200)
	if len(models.Items) != 2 {
		t.Errorf("restored models: %+v", models.Items)
	}
	for _, up := range before {
		var list struct{ Items []struct{ SHA256 string } }
		api(t, "GET", base2+"/api/v1/models/"+up.Model+"/versions/"+url.PathEscape(up.Digest)+"/evidence", tok.Secret, nil, &list, 200)
		sum := sha256.Sum256(up.Report)
		if len(list.Items) != 1 || list.Items[0].SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("restored evidence of %s %s: %+v", up.Model, up.Digest, list.Items)
		}
		var findings struct{ Items []struct{ Rule string } }
		api(t, "GET", base2+"/api/v1/models/"+up.Model+"/versions/"+url.PathEscape(up.Digest)+"/findings", tok.Secret, nil, &findings, 200)
		if len(findings.Items) != 1 || findings.Items[0].Rule != finding.PickleProcess {
			t.Errorf("restored findings of %s %s: %+v", up.Model, up.Digest, findings.Items)
		}
	}
	api(t, "GET", base2+"/api/v1/models/"+after.Model+"/versions/"+url.PathEscape(after.Digest)+"/evidence", tok.Secret, nil, nil, 404)
	if err := stop2(); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	if code := run([]string{"audit", "verify", "--data", restored}, &out, &errOut); code != report.ExitPass {
		t.Fatalf("audit verify after the restored server ran: exit %d: %s %s", code, out.String(), errOut.String())
	}
}

// copyFile copies src to a new file dst of mode perm, synced.
func copyFile(t *testing.T, src, dst string, perm os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
