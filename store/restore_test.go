package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/internal/testutil"
)

// backupT writes a backup of a store holding a fixture and three more
// teams, and returns its path, the store's audit head and its teams.
func backupT(t *testing.T) (string, AuditHead, []Team) {
	t.Helper()
	ctx := context.Background()
	s := openT(t, t.TempDir())
	newFixture(t, s, "x")
	for _, name := range []string{"a", "b", "c"} {
		must[Team](t)(s.CreateTeam(ctx, tester, name))
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := s.Backup(ctx, path); err != nil {
		t.Fatal(err)
	}
	return path, verifyOK(t, s), must[[]Team](t)(s.Teams(ctx))
}

// editBackup runs statements on a backup file, as someone with the file
// would.
func editBackup(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestRestoreRoundTrip: a backup restored into a folder that does not
// exist yet opens as a store with the same data and the same audit head,
// as violet.db, mode 0600, with nothing else left in the folder.
func TestRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	backup, head, teams := backupT(t)
	for _, dir := range []string{filepath.Join(t.TempDir(), "new", "data"), t.TempDir()} {
		got, err := Restore(ctx, backup, dir)
		if err != nil {
			t.Fatal(err)
		}
		if got.Head != head || got.SchemaVersion != SchemaVersion() || got.Path != filepath.Join(dir, DBFile) {
			t.Fatalf("restored %+v, want head %+v, version %d", got, head, SchemaVersion())
		}
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) != 1 || entries[0].Name() != DBFile {
			t.Fatalf("the folder holds %v (%v)", entries, err)
		}
		if fi, err := os.Stat(got.Path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("violet.db: %v %v", fi, err)
		}
		s := openT(t, dir)
		if h := verifyOK(t, s); h != head {
			t.Fatalf("the restored store's head %+v, want %+v", h, head)
		}
		if got := must[[]Team](t)(s.Teams(ctx)); !reflect.DeepEqual(got, teams) {
			t.Fatalf("teams %+v, want %+v", got, teams)
		}
	}
}

// TestRestoreRefuses: what Restore refuses, and that it then leaves the
// folder as it found it (a folder it created is removed).
func TestRestoreRefuses(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// backup returns the file to restore.
		backup func(t *testing.T) string
		// dir returns the data folder to restore into.
		dir   func(t *testing.T) string
		check func(t *testing.T, err error)
	}{
		{"a folder that is not empty", nil, func(t *testing.T) string {
			dir := t.TempDir()
			testutil.WriteFile(t, dir, "admin.token", []byte("x"))
			return dir
		}, is(ErrExists)},
		{"a stale WAL in the folder", nil, func(t *testing.T) string {
			dir := t.TempDir()
			testutil.WriteFile(t, dir, DBFile+"-wal", []byte("x"))
			return dir
		}, is(ErrExists)},
		{"a file as the folder", nil, func(t *testing.T) string {
			return testutil.WriteFile(t, t.TempDir(), "f", nil)
		}, is(ErrInvalid)},
		{"a file that is not SQLite", func(t *testing.T) string {
			return testutil.WriteFile(t, t.TempDir(), "notes.db", []byte("hello, this is not a database at all\n"))
		}, nil, is(ErrInvalid)},
		{"an empty file", func(t *testing.T) string {
			return testutil.WriteFile(t, t.TempDir(), "empty.db", nil)
		}, nil, is(ErrInvalid)},
		{"a folder as the backup", func(t *testing.T) string { return t.TempDir() }, nil, is(ErrInvalid)},
		{"a missing backup", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nothing.db") }, nil, is(os.ErrNotExist)},
		{"an SQLite database of something else", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "other.db")
			editBackup(t, p, `CREATE TABLE notes (x TEXT)`, `INSERT INTO notes VALUES ('a')`)
			return p
		}, nil, is(ErrInvalid)},
		{"a truncated backup", func(t *testing.T) string {
			p, _, _ := backupT(t)
			fi, _ := os.Stat(p)
			if err := os.Truncate(p, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
			return p
		}, nil, func(t *testing.T, err error) {
			if err == nil {
				t.Fatal("restored")
			}
		}},
		{"a newer schema", func(t *testing.T) string {
			p, _, _ := backupT(t)
			editBackup(t, p, fmt.Sprintf(`INSERT INTO schema_migrations VALUES (%d, '9999_future.sql', 'x', 'now')`, SchemaVersion()+1))
			return p
		}, nil, is(ErrSchemaNewer)},
		{"an edited migration", func(t *testing.T) string {
			p, _, _ := backupT(t)
			editBackup(t, p, `UPDATE schema_migrations SET sha256 = 'x' WHERE version = 1`)
			return p
		}, nil, func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "differs") {
				t.Fatalf("%v", err)
			}
		}},
		{"a tampered audit record", func(t *testing.T) string {
			p, _, _ := backupT(t)
			editBackup(t, p, `DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET actor = 'mallory' WHERE seq = 3`)
			return p
		}, nil, breaksAt(3)},
		{"a removed audit record", func(t *testing.T) string {
			p, _, _ := backupT(t)
			editBackup(t, p, `DROP TRIGGER audit_log_no_delete`, `DELETE FROM audit_log WHERE seq = 2`)
			return p
		}, nil, breaksAt(2)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var backup string
			if tc.backup != nil {
				backup = tc.backup(t)
			} else {
				backup, _, _ = backupT(t)
			}
			dir := filepath.Join(t.TempDir(), "restored")
			if tc.dir != nil {
				dir = tc.dir(t)
			}
			before := listDir(t, dir)
			_, err := Restore(ctx, backup, dir)
			tc.check(t, err)
			if after := listDir(t, dir); !reflect.DeepEqual(after, before) {
				t.Fatalf("the folder held %v, now %v", before, after)
			}
		})
	}
}

// is checks that err is target.
func is(target error) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Fatalf("error %v, want %v", err, target)
		}
	}
}

// breaksAt checks that err is the audit break at seq.
func breaksAt(seq int64) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var b *AuditBreak
		if !errors.As(err, &b) || b.Seq != seq {
			t.Fatalf("error %v, want the audit break at seq %d", err, seq)
		}
	}
}

// listDir lists a folder's entries; nil when it does not exist, and
// ["(file)"] for a file.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() {
		return []string{"(file)"}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
