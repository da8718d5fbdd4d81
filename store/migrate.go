package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"
)

// migrationFS holds the schema: migrations/<dialect>/NNNN_name.sql, one file
// per version, numbered from 0001 without gaps, the same versions for both
// dialects. A migration, once released, is never edited: Open refuses a
// database where an applied migration's checksum differs from the binary's.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// migration is one schema version.
type migration struct {
	version int
	name    string // the file name
	sql     string
	sum     string // hex SHA-256 of sql
}

// migrationName is a migration's file name: version, underscore, a name.
var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// parseMigrations reads the migrations of one folder of fsys, in version
// order, and checks that they run from 1 without a gap or a duplicate.
func parseMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("migrations: %s: not a NNNN_name.sql file", path.Join(dir, e.Name()))
		}
		v, _ := strconv.Atoi(m[1])
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		out = append(out, migration{version: v, name: e.Name(), sql: string(b), sum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations: %s: version %d where %d is expected (gap or duplicate)", dir, m.version, i+1)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("migrations: %s: none", dir)
	}
	return out, nil
}

var (
	migrationsOnce sync.Once
	migrationsBy   map[dialect][]migration
)

// migrations returns the embedded migrations of d. The embedded files are
// part of the binary and checked by the tests, so a bad one is a bug: it
// panics.
func migrations(d dialect) []migration {
	migrationsOnce.Do(func() {
		migrationsBy = map[dialect][]migration{}
		for _, d := range []dialect{sqliteDialect, postgresDialect} {
			ms, err := parseMigrations(migrationFS, "migrations/"+d.String())
			if err != nil {
				panic(err)
			}
			migrationsBy[d] = ms
		}
	})
	return migrationsBy[d]
}

// SchemaVersion returns the newest schema version this binary knows.
func SchemaVersion() int { return len(migrations(sqliteDialect)) }

// createMigrationsTable is the bookkeeping table, the same in both dialects.
const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    BIGINT PRIMARY KEY,
  name       TEXT NOT NULL,
  sha256     TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`

// pgMigrateLock is the key of the PostgreSQL advisory lock that serializes
// migrations run by several servers starting at once.
const pgMigrateLock = 0x76696f6c65740001

// migrate brings the database to version upTo (tests stop short of the
// newest; Open passes the newest). Each version is applied in its own
// transaction together with its schema_migrations row. A database that
// records a version this binary does not know, or a known version whose
// checksum differs, is refused before anything is changed.
func migrate(ctx context.Context, db *sql.DB, d dialect, upTo int) error {
	all := migrations(d)
	for {
		done, err := migrateStep(ctx, db, d, all, upTo)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep checks the database and applies the next migration if it is
// short of upTo; it reports whether the database was already at upTo (or
// past it).
func migrateStep(ctx context.Context, db *sql.DB, d dialect, all []migration, upTo int) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: migrations: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if d == postgresDialect {
		// Servers starting at once migrate one after the other.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgMigrateLock)); err != nil {
			return false, fmt.Errorf("store: migrations: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
		return false, fmt.Errorf("store: migrations: %w", err)
	}
	have, err := checkApplied(ctx, tx, all)
	if err != nil {
		return false, err
	}
	if have >= upTo {
		return true, tx.Commit()
	}
	m := all[have]
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("store: migration %s (%s): %w", m.name, d, err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, sha256, applied_at) VALUES ($1, $2, $3, $4)`,
		m.version, m.name, m.sum, fmtTime(time.Now())); err != nil {
		return false, fmt.Errorf("store: migration %s (%s): %w", m.name, d, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: migration %s (%s): %w", m.name, d, err)
	}
	return false, nil
}

// checkApplied reads the applied versions and returns the newest. It fails
// on a version this binary does not know (the database is newer: running
// would risk writing what a newer schema forbids, and there is no
// downgrade), on a checksum that differs from the embedded file, and on a
// gap.
func checkApplied(ctx context.Context, tx *sql.Tx, all []migration) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT version, name, sha256 FROM schema_migrations ORDER BY version`)
	if err != nil {
		return 0, fmt.Errorf("store: migrations: %w", err)
	}
	defer rows.Close()
	have := 0
	for rows.Next() {
		var v int64
		var name, sum string
		if err := rows.Scan(&v, &name, &sum); err != nil {
			return 0, fmt.Errorf("store: migrations: %w", err)
		}
		if v > int64(len(all)) {
			return 0, fmt.Errorf("store: the database is at schema version %d (%s), this binary knows versions up to %d: upgrade Violet: %w",
				v, name, len(all), ErrSchemaNewer)
		}
		if v != int64(have+1) {
			return 0, fmt.Errorf("store: migrations: schema_migrations lists version %d after %d", v, have)
		}
		if m := all[v-1]; sum != m.sum || name != m.name {
			return 0, fmt.Errorf("store: migrations: applied version %d (%s, sha256 %s) differs from this binary's %s (sha256 %s)",
				v, name, sum, m.name, m.sum)
		}
		have = int(v)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: migrations: %w", err)
	}
	return have, nil
}
