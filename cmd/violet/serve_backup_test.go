package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
// takes uploads, then violet serve restore into a new data folder, which
// prints the head the audit chain had at the backup. The server started
// there serves the models and reports uploaded before the backup, not the
// one uploaded after it; the tokens of the old server still work
// (admin.token is not part of the backup, and no new admin is made); the
// audit chain verifies.
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

	// Restore into a data folder that does not exist yet.
	restored := filepath.Join(t.TempDir(), "restored")
	out.Reset()
	if code := run([]string{"serve", "restore", "--from", backup, "--data", restored}, &out, &errOut); code != report.ExitPass ||
		auditHead.FindString(out.String()) != head {
		t.Fatalf("serve restore: exit %d, %q, want the head at the backup, %q: %s", code, out.String(), head, errOut.String())
	}
	if fi, err := os.Stat(filepath.Join(restored, store.DBFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the restored violet.db: %v %v", fi, err)
	}
	if fi, err := os.Stat(restored); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("the restored data folder: %v %v", fi, err)
	}
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

// TestServeRestoreRefuses: violet serve restore puts nothing in place
// when the folder is not empty (exit 2), when the file is not a Violet
// database (exit 2), when the backup's audit chain is broken (exit 1,
// naming the record), and on PostgreSQL (exit 2, pointing at pg_restore).
func TestServeRestoreRefuses(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	st, err := store.Open(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c", "d"} {
		if _, err := st.CreateTeam(ctx, store.Actor{Name: "test"}, name); err != nil {
			t.Fatal(err)
		}
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := st.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// A copy of the backup with record 3 changed, past the trigger.
	tampered := filepath.Join(t.TempDir(), "tampered.db")
	raw, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tampered, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", tampered)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET detail = '{"name":"z"}' WHERE seq = 3`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	notes := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notes, []byte("not a database\n"), 0o600)
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "admin.token"), []byte("vlt_x\n"), 0o600)

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"a folder that is not empty", []string{"--from", backup, "--data", full}, report.ExitIncomplete, "not empty"},
		{"a file that is not a database", []string{"--from", notes}, report.ExitIncomplete, "not an SQLite database"},
		{"a tampered backup", []string{"--from", tampered}, report.ExitFindings, "audit log broken at seq 3"},
		{"PostgreSQL", []string{"--from", backup, "--database", "postgres://violet@localhost/violet"}, report.ExitIncomplete, "pg_restore"},
		{"no backup", nil, report.ExitIncomplete, "--from FILE is needed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "new")
			args := append([]string{"serve", "restore"}, tc.args...)
			if !slices.Contains(tc.args, "--data") {
				args = append(args, "--data", dir)
			}
			var out, errOut bytes.Buffer
			code := run(args, &out, &errOut)
			if code != tc.code || !strings.Contains(errOut.String(), tc.msg) || out.Len() != 0 {
				t.Fatalf("exit %d, want %d with %q: %s %s", code, tc.code, tc.msg, out.String(), errOut.String())
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the data folder was left behind: %v", err)
			}
			if entries, _ := os.ReadDir(full); len(entries) != 1 {
				t.Errorf("the full folder now holds %v", entries)
			}
		})
	}
}
