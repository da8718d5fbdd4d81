package store

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// Backup writes a consistent copy of an SQLite store to path with VACUUM
// INTO, while the store stays open (writers wait for the copy). The file
// must not exist: it is created with mode 0600 and never overwritten. To
// restore, stop the server and put the copy in a data folder as DBFile
// (violet.db). On PostgreSQL it is ErrUnsupported: use pg_dump.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.dialect != sqliteDialect {
		return fmt.Errorf("store: backup of PostgreSQL: use pg_dump: %w", ErrUnsupported)
	}
	// VACUUM INTO accepts an empty file: create it first, exclusively and
	// private (it holds password and token hashes).
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `VACUUM INTO $1`, path); err != nil {
		return errors.Join(fmt.Errorf("store: backup: %w", err), os.Remove(path))
	}
	// VACUUM INTO does not sync its output: a backup must be on disk.
	f, err = os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}
