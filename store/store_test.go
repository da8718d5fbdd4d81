package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/internal/pgtest"
)

func TestOpenSQLiteSettings(t *testing.T) {
	// A folder name that needs escaping in a file: URI.
	dir := filepath.Join(t.TempDir(), "data ?#%x")
	s := openT(t, dir)
	if s.Dialect() != "sqlite" {
		t.Fatalf("dialect %s", s.Dialect())
	}
	if _, err := os.Stat(filepath.Join(dir, DBFile)); err != nil {
		t.Fatalf("database not in the data folder: %v", err)
	}
	for _, p := range []struct{ pragma, want string }{
		{"journal_mode", "wal"}, {"synchronous", "2"}, {"foreign_keys", "1"}, {"busy_timeout", "10000"},
	} {
		var got string
		if err := s.db.QueryRow("PRAGMA " + p.pragma).Scan(&got); err != nil || got != p.want {
			t.Errorf("PRAGMA %s = %q (%v), want %q", p.pragma, got, err, p.want)
		}
	}
	// The readers cannot write.
	if _, err := s.rdb.Exec(`INSERT INTO teams (name, created_at) VALUES ('x', 'y')`); err == nil {
		t.Error("a read connection wrote")
	}
	for _, name := range []string{"", DBFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s: mode %v, want private", filepath.Join(dir, name), perm)
		}
	}
}

func TestOpenRefusesBadTargets(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	notDB := t.TempDir()
	if err := os.WriteFile(filepath.Join(notDB, DBFile), []byte("this is not an SQLite database, just text"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"", file, "mysql://localhost/x", "postgres://%zz", notDB} {
		if s, err := Open(ctx, target); err == nil {
			s.Close()
			t.Errorf("%q: opened", target)
		}
	}
}

func TestBackupAndRestore(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	f := newFixture(t, s, "x")
	head := verifyOK(t, s)
	restored := t.TempDir()
	backup := filepath.Join(restored, DBFile)
	if err := s.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(backup)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup: %v %v", fi, err)
	}
	// Never overwritten.
	if err := s.Backup(ctx, backup); err == nil {
		t.Fatal("backup overwrote a file")
	}
	// Writes after the backup are not in it.
	must[Team](t)(s.CreateTeam(ctx, tester, "after the backup"))

	c := openT(t, restored)
	if got := verifyOK(t, c); got != head {
		t.Fatalf("restored audit head %+v, want %+v", got, head)
	}
	teams := must[[]Team](t)(c.Teams(ctx))
	if len(teams) != 1 || teams[0] != f.team {
		t.Fatalf("restored teams %+v", teams)
	}
	if r := must[[]byte](t)(c.EvidenceReport(ctx, f.scan.ID)); string(r) != `{"findings":[]}` {
		t.Fatalf("restored report %q", r)
	}
	// The copy is a working store.
	must[Team](t)(c.CreateTeam(ctx, tester, "after restore"))
	verifyOK(t, c)
}

func TestBackupOnPostgresSaysPgDump(t *testing.T) {
	s := openT(t, pgtest.URL(t))
	err := s.Backup(context.Background(), filepath.Join(t.TempDir(), "b"))
	wantErr(t, err, ErrUnsupported)
	if !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("%v", err)
	}
}
