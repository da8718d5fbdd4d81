package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/server"
	"github.com/violet-mlsecops/violet/store"
)

// TestAuditVerifyServer: violet audit verify --server reads the log of a
// real server over its API (on loopback) and verifies the chain here: the
// head of an intact log is the database's; a record changed in the
// database is exit 1 naming it; a refused token, a missing token and
// something that is not a Violet server are exit 2.
func TestAuditVerifyServer(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	st, err := store.Open(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sys := store.Actor{Name: "system"}
	team, err := adminTeam(ctx, st, sys)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(ctx, sys, "admin", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddMember(ctx, sys, store.Membership{TeamID: team.ID, UserID: u.ID, Role: store.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	admin, _, err := st.CreateToken(ctx, sys, store.TokenSpec{Name: "admin", UserID: u.ID, TeamID: team.ID, Role: store.RoleAdmin,
		ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// Several of the client's pages.
	for i := range 450 {
		if _, err := st.CreateTeam(ctx, sys, fmt.Sprintf("team-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(server.New(st, server.Options{}))
	defer srv.Close()

	verify := func(token string, args ...string) (int, string, string) {
		t.Helper()
		t.Setenv(TokenEnv, token)
		var out, errOut bytes.Buffer
		code := run(append([]string{"audit", "verify"}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := verify(admin, "--server", srv.URL)
	want, err := st.VerifyAudit(ctx) // after the call: it recorded the token's use
	if err != nil {
		t.Fatal(err)
	}
	if code != report.ExitPass || auditHead.FindString(out) != fmt.Sprintf("head seq %d hash %s", want.Seq, want.Hash) || want.Seq < 450 {
		t.Fatalf("exit %d, %q %s, want the head %+v", code, out, errOut, want)
	}

	// Someone with the database file changes record 300, past the trigger.
	db, err := sql.Open("sqlite", filepath.Join(data, store.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET actor = 'mallory' WHERE seq = 300`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if code, out, errOut := verify(admin, "--server", srv.URL); code != report.ExitFindings ||
		!strings.Contains(errOut, "audit log broken at seq 300") || !strings.Contains(errOut, "changed") || out != "" {
		t.Fatalf("a tampered record over the API: exit %d, %q %s", code, out, errOut)
	}
	// The database says the same.
	if code, _, errOut := verify("", "--data", data); code != report.ExitFindings || !strings.Contains(errOut, "seq 300") {
		t.Fatalf("a tampered record in the database: exit %d, %s", code, errOut)
	}

	notViolet := httptest.NewServer(http.NotFoundHandler())
	defer notViolet.Close()
	for _, tc := range []struct {
		name  string
		token string
		args  []string
		msg   string
	}{
		{"a wrong token", store.TokenPrefix + "wrong", []string{"--server", srv.URL}, "unauthorized"},
		{"no token", "", []string{"--server", srv.URL}, TokenEnv},
		{"not a Violet server", admin, []string{"--server", notViolet.URL}, "404"},
		{"not a URL", admin, []string{"--server", "violet.example.com"}, "want http(s)"},
		{"two sources", admin, []string{"--server", srv.URL, "--data", data}, "without --data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, out, errOut := verify(tc.token, tc.args...); code != report.ExitIncomplete || !strings.Contains(errOut, tc.msg) || out != "" {
				t.Fatalf("exit %d, want 2 with %q: %q %s", code, tc.msg, out, errOut)
			}
		})
	}
}
