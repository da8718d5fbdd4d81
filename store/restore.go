package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// sqliteMagic starts every SQLite database file.
const sqliteMagic = "SQLite format 3\x00"

// Restored is what Restore put in place.
type Restored struct {
	// Path is the restored database file, DIR/violet.db.
	Path string
	// SchemaVersion is the backup's schema version (the server migrates an
	// older one when it starts).
	SchemaVersion int
	// Head is the head of the backup's audit chain, which verified.
	Head AuditHead
}

// Restore puts an SQLite backup (written by Backup, violet serve backup,
// or sqlite3's VACUUM INTO) into the data folder dir as DBFile, for a
// server to start on. It never writes over a database: dir must be empty,
// or not exist (then it is created, mode 0700). The backup is copied to a
// temporary file in dir and that copy is checked, before it is renamed to
// DBFile (mode 0600, synced, then the folder synced): it must be an SQLite
// file that passes SQLite's quick_check, whose schema_migrations lists
// versions this binary knows with their checksums (ErrSchemaNewer for a
// newer database), and whose audit chain verifies (an *AuditBreak, as
// VerifyAudit gives, otherwise). On any failure the temporary file is
// removed and dir is left as it was found (a folder Restore created is
// removed too). PostgreSQL is restored with pg_restore, not here.
func Restore(ctx context.Context, from, dir string) (Restored, error) {
	if from == "" || dir == "" {
		return Restored{}, fmt.Errorf("store: restore: a backup file and a data folder are needed: %w", ErrInvalid)
	}
	src, err := openBackup(from)
	if err != nil {
		return Restored{}, err
	}
	defer src.Close()
	abs, created, err := emptyDataFolder(dir)
	if err != nil {
		return Restored{}, err
	}
	tmp, err := os.CreateTemp(abs, "."+DBFile+".restore-*")
	if err != nil {
		return Restored{}, errors.Join(fmt.Errorf("store: restore: %w", err), undoFolder(abs, created))
	}
	out, err := restoreInto(ctx, src, tmp)
	if err != nil {
		return Restored{}, errors.Join(err, removeDB(tmp.Name()), undoFolder(abs, created))
	}
	out.Path = filepath.Join(abs, DBFile)
	// The folder was empty; a database put there meanwhile is not
	// written over.
	if _, err := os.Lstat(out.Path); !errors.Is(err, os.ErrNotExist) {
		return Restored{}, errors.Join(fmt.Errorf("store: restore: %s appeared while restoring: %w", out.Path, ErrExists),
			removeDB(tmp.Name()))
	}
	if err := os.Rename(tmp.Name(), out.Path); err != nil {
		return Restored{}, errors.Join(fmt.Errorf("store: restore: %w", err), removeDB(tmp.Name()), undoFolder(abs, created))
	}
	if err := syncDir(abs); err != nil {
		return Restored{}, fmt.Errorf("store: restore: %w", err)
	}
	return out, nil
}

// openBackup opens the backup file, a regular file that starts as an
// SQLite database does.
func openBackup(from string) (*os.File, error) {
	fi, err := os.Stat(from)
	if err != nil {
		return nil, fmt.Errorf("store: restore: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("store: restore: %s is not a regular file: %w", from, ErrInvalid)
	}
	f, err := os.Open(from)
	if err != nil {
		return nil, fmt.Errorf("store: restore: %w", err)
	}
	head := make([]byte, len(sqliteMagic))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, []byte(sqliteMagic)) {
		f.Close()
		return nil, fmt.Errorf("store: restore: %s is not an SQLite database: %w", from, ErrInvalid)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: restore: %w", err)
	}
	return f, nil
}

// emptyDataFolder returns the absolute path of dir, an empty folder,
// created (mode 0700) when it did not exist.
func emptyDataFolder(dir string) (abs string, created bool, err error) {
	if strings.Contains(dir, "://") {
		return "", false, fmt.Errorf("store: restore: %q: want a data folder: %w", dir, ErrInvalid)
	}
	if abs, err = filepath.Abs(dir); err != nil {
		return "", false, fmt.Errorf("store: restore: %w", err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return "", false, fmt.Errorf("store: restore: data folder: %w", err)
		}
		return abs, true, nil
	case err != nil:
		return "", false, fmt.Errorf("store: restore: data folder: %w", err)
	case !fi.IsDir():
		return "", false, fmt.Errorf("store: restore: %s is not a folder: %w", abs, ErrInvalid)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return "", false, fmt.Errorf("store: restore: data folder: %w", err)
	}
	if len(entries) > 0 {
		return "", false, fmt.Errorf("store: restore: the data folder %s is not empty (it holds %s): restore into an empty folder, "+
			"after moving the old one away: %w", abs, entries[0].Name(), ErrExists)
	}
	return abs, false, nil
}

// restoreInto copies src into tmp, syncs and closes it, and checks the
// copy.
func restoreInto(ctx context.Context, src io.Reader, tmp *os.File) (Restored, error) {
	_, err := io.Copy(tmp, src)
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if err = errors.Join(err, tmp.Close()); err != nil {
		return Restored{}, fmt.Errorf("store: restore: copying the backup: %w", err)
	}
	return checkBackup(ctx, tmp.Name())
}

// checkBackup opens the SQLite file at path read-only (immutable: nothing
// is written, no journal is looked for) and checks it as Restore says.
func checkBackup(ctx context.Context, path string) (Restored, error) {
	fileURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(path),
		RawQuery: "mode=ro&immutable=1&_query_only=1"}).String()
	db, err := sql.Open("sqlite", fileURL)
	if err != nil {
		return Restored{}, fmt.Errorf("store: restore: %w", err)
	}
	s := &Store{dialect: sqliteDialect, db: db, rdb: db, path: path, now: time.Now}
	defer s.Close()
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil || check != "ok" {
		return Restored{}, fmt.Errorf("store: restore: the backup is not a sound SQLite database (quick_check: %q %v): %w", clip(check), err, ErrInvalid)
	}
	var out Restored
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("store: restore: the backup is not a Violet database (no schema_migrations table): %w", ErrInvalid)
		}
		out.SchemaVersion, err = checkApplied(ctx, tx, migrations(sqliteDialect))
		if err == nil && out.SchemaVersion == 0 {
			err = fmt.Errorf("store: restore: the backup's schema_migrations is empty: %w", ErrInvalid)
		}
		return err
	})
	if err != nil {
		return Restored{}, fmt.Errorf("store: restore: %w", err)
	}
	if out.Head, err = s.VerifyAudit(ctx); err != nil {
		var b *AuditBreak
		if errors.As(err, &b) {
			return Restored{}, b
		}
		return Restored{}, fmt.Errorf("store: restore: the backup's audit log: %w", err)
	}
	return out, nil
}

// removeDB removes a database file and the journal files SQLite may have
// put beside it.
func removeDB(path string) error {
	var errs []error
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// undoFolder removes the data folder when Restore created it.
func undoFolder(abs string, created bool) error {
	if !created {
		return nil
	}
	return os.Remove(abs)
}

// syncDir syncs a folder, so that a rename in it is on disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
