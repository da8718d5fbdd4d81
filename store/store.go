// Package store is the storage of the Violet server: the inventory of models
// and versions, the evidence uploaded for them, findings across time and
// their triage, accounts, teams and roles, API tokens, and a hash-chained,
// append-only audit log of every change.
//
// It speaks database/sql to embedded SQLite (pure Go, a file in a data
// folder: the default) or to PostgreSQL (a postgres:// URL). Open applies
// the embedded, versioned migrations of the dialect (migrations/), each in
// a transaction, and refuses a database whose schema is newer than the
// binary. Every method that changes something appends its audit record in
// the same transaction as the change (audit.go); VerifyAudit walks the
// chain.
//
// The store is a repository layer with no HTTP and no policy: callers
// (the server) authenticate, authorize and pass the Actor to record.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	// The pgx driver for database/sql, registered as "pgx".
	_ "github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DBFile is the name of the SQLite database file inside the data folder.
const DBFile = "violet.db"

// busyTimeout is how long a SQLite connection waits for another writer (of
// another process on the same file) before giving up with "database is
// locked".
const busyTimeout = 10 * time.Second

// readConns is the number of SQLite connections that only read. WAL mode
// lets them read while the one writer writes.
const readConns = 4

// Errors a caller can test with errors.Is.
var (
	// ErrNotFound: no such team, user, model, version, evidence or finding.
	ErrNotFound = errors.New("not found")
	// ErrExists: a unique name or identity is taken.
	ErrExists = errors.New("already exists")
	// ErrConflict: the request contradicts what is stored (a version's
	// digest with other files than those stored under it).
	ErrConflict = errors.New("conflicts with the stored record")
	// ErrInvalid: an argument is out of its allowed form or bounds.
	ErrInvalid = errors.New("invalid")
	// ErrTooLarge: an evidence report over MaxEvidenceSize.
	ErrTooLarge = errors.New("too large")
	// ErrTokenInvalid: an API token that is unknown, expired or revoked
	// (the three are not told apart to the caller).
	ErrTokenInvalid = errors.New("invalid API token")
	// ErrSchemaNewer: the database was migrated by a newer Violet.
	ErrSchemaNewer = errors.New("database schema is newer than this binary")
	// ErrUnsupported: an operation the dialect does not offer (Backup on
	// PostgreSQL: use pg_dump).
	ErrUnsupported = errors.New("not supported")
)

// dialect is the SQL flavour of a store.
type dialect int

const (
	sqliteDialect dialect = iota + 1
	postgresDialect
)

func (d dialect) String() string {
	if d == postgresDialect {
		return "postgres"
	}
	return "sqlite"
}

// Store is an open database. Its methods are safe for concurrent use.
type Store struct {
	dialect dialect
	// db takes the writes: on SQLite, one connection (one writer) that
	// begins every transaction with BEGIN IMMEDIATE; on PostgreSQL, the pool.
	db *sql.DB
	// rdb takes the reads: on SQLite, read-only connections; on PostgreSQL,
	// the same pool as db.
	rdb *sql.DB
	// path is the SQLite database file ("" on PostgreSQL).
	path string
	// now is the clock (tests move it).
	now func() time.Time
	// writes counts the write transactions committed through this store;
	// metrics keeps the figures computed since the last one.
	writes  atomic.Uint64
	metrics metricsCache
}

// Actor is who makes a change, as the audit log records it.
type Actor struct {
	// Name identifies the user or the process: a login, "token:<id>",
	// "system". It must not be empty.
	Name string
	// Remote is the client's address ("" for a local process).
	Remote string
}

// Open opens the store named by dsnOrDir and brings its schema up to date:
// a postgres:// or postgresql:// URL opens PostgreSQL; anything else is the
// data folder of an SQLite database (DBFile), created (mode 0700, the file
// 0600) when missing.
func Open(ctx context.Context, dsnOrDir string) (*Store, error) {
	s, err := openRaw(ctx, dsnOrDir)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, s.db, s.dialect, len(migrations(s.dialect))); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openRaw connects without touching the schema.
func openRaw(ctx context.Context, dsnOrDir string) (*Store, error) {
	if strings.HasPrefix(dsnOrDir, "postgres://") || strings.HasPrefix(dsnOrDir, "postgresql://") {
		return openPostgres(ctx, dsnOrDir)
	}
	return openSQLite(ctx, dsnOrDir)
}

func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	return &Store{dialect: postgresDialect, db: db, rdb: db, now: time.Now, metrics: metricsCache{maxAge: DefaultMetricsMaxAge}}, nil
}

// sqliteWritePragmas make the writer's connection durable and patient:
// WAL, synchronous=FULL (a commit that returned is on disk, even on power
// loss: the audit log is a record, so no acknowledged change may be lost),
// foreign keys enforced, BEGIN IMMEDIATE so that a writer takes the write
// lock at the start of its transaction instead of failing at its first
// write.
var sqliteWritePragmas = url.Values{
	"_busy_timeout": {fmt.Sprint(busyTimeout.Milliseconds())},
	"_journal_mode": {"WAL"},
	"_synchronous":  {"FULL"},
	"_foreign_keys": {"1"},
	"_txlock":       {"immediate"},
}

// sqliteReadPragmas make the readers' connections read-only.
var sqliteReadPragmas = url.Values{
	"_busy_timeout": {fmt.Sprint(busyTimeout.Milliseconds())},
	"_foreign_keys": {"1"},
	"_query_only":   {"1"},
}

func openSQLite(ctx context.Context, dir string) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("store: no data folder given: %w", ErrInvalid)
	}
	if strings.Contains(dir, "://") {
		return nil, fmt.Errorf("store: %q: only postgres:// URLs or a data folder are accepted: %w", dir, ErrInvalid)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("store: data folder: %w", err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("store: data folder: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("store: data folder %s is not a folder: %w", abs, ErrInvalid)
	}
	path := filepath.Join(abs, DBFile)
	// Create the file ourselves so that it (and the -wal and -shm files,
	// which SQLite creates with the database's mode) is private: it holds
	// password and token hashes.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	} else {
		f.Close()
	}
	fileURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
	w, err := sql.Open("sqlite", fileURL+"?"+sqliteWritePragmas.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", fileURL+"?"+sqliteReadPragmas.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: sqlite: %w", err)
	}
	r.SetMaxOpenConns(readConns)
	s := &Store{dialect: sqliteDialect, db: w, rdb: r, path: path, now: time.Now, metrics: metricsCache{maxAge: DefaultMetricsMaxAge}}
	if err := s.checkSQLite(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// checkSQLite reads the settings back: a driver that ignored one would
// otherwise weaken durability silently.
func (s *Store) checkSQLite(ctx context.Context) error {
	want := []struct{ pragma, value string }{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
	}
	for _, p := range want {
		var got string
		if err := s.db.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(&got); err != nil {
			return fmt.Errorf("store: sqlite: %s: %w", s.path, err)
		}
		if !strings.EqualFold(got, p.value) {
			return fmt.Errorf("store: sqlite: PRAGMA %s is %q, want %q", p.pragma, got, p.value)
		}
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.rdb != s.db {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect.String() }

// timeLayout is how the store writes times: UTC, microseconds (the
// precision of PostgreSQL's TIMESTAMPTZ), fixed width so that SQLite's text
// order is time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// stamp returns the current time at the store's precision.
func (s *Store) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// fmtTime formats t for a query argument and for the audit hash.
func fmtTime(t time.Time) string { return t.UTC().Truncate(time.Microsecond).Format(timeLayout) }

// nullTime formats an optional time: nil for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return fmtTime(t)
}

// dbTime scans a time column of either dialect: TIMESTAMPTZ from PostgreSQL,
// text in timeLayout from SQLite; NULL gives the zero time.
type dbTime struct{ T time.Time }

// Scan implements sql.Scanner.
func (d *dbTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		d.T = time.Time{}
	case time.Time:
		d.T = x.UTC()
	case string:
		return d.parse(x)
	case []byte:
		return d.parse(string(x))
	default:
		return fmt.Errorf("store: time column holds %T", v)
	}
	return nil
}

func (d *dbTime) parse(s string) error {
	t, err := time.Parse(timeLayout, s)
	if err != nil || len(s) != len(timeLayout) {
		return fmt.Errorf("store: time %q is not in the store's format", s)
	}
	d.T = t
	return nil
}

// writeTx runs fn in a write transaction and commits it with the audit
// records fn queued, appended in the same transaction. An error from fn
// rolls everything back.
func (s *Store) writeTx(ctx context.Context, a Actor, fn func(tx *sql.Tx, log *auditQueue) error) error {
	if err := validActor(a); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	q := &auditQueue{actor: a}
	if err := fn(tx, q); err != nil {
		return s.wrap(err)
	}
	if err := s.appendAudit(ctx, tx, q); err != nil {
		return s.wrap(err)
	}
	if err := s.insertOutbox(ctx, tx, q); err != nil {
		return s.wrap(err)
	}
	// Counted before and after the commit: a Metrics call that reads the
	// count while the commit is in flight cannot keep figures without it.
	s.writes.Add(1)
	defer s.writes.Add(1)
	return s.wrap(tx.Commit())
}

// readTx runs fn in a read-only transaction: one consistent snapshot.
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == postgresDialect {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.rdb.BeginTx(ctx, opts)
	if err != nil {
		return s.wrap(err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	if err := fn(tx); err != nil {
		return s.wrap(err)
	}
	return s.wrap(tx.Commit())
}

// wrap turns the drivers' unique-violation errors into ErrExists and
// sql.ErrNoRows into ErrNotFound, keeping the driver's message.
func (s *Store) wrap(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %w", ErrNotFound)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("store: %w: %v", ErrExists, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("store: a referenced record is missing: %w: %v", ErrNotFound, err)
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return fmt.Errorf("store: %w: %v", ErrInvalid, err)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("store: %w: %v", ErrExists, err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("store: a referenced record is missing: %w: %v", ErrNotFound, err)
		case "23514", "23502": // check_violation, not_null_violation
			return fmt.Errorf("store: %w: %v", ErrInvalid, err)
		}
	}
	if strings.HasPrefix(err.Error(), "store:") {
		return err
	}
	return fmt.Errorf("store: %w", err)
}

// scanner is a row to scan: *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// querier runs queries: *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
