package deps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Limits of OpenDB and OpenDBFor. Breaking one fails the whole database
// with an error: a partial database would pass packages it never saw.
// The central directory of a zip is read one entry at a time and never
// held, a record is decoded, filtered and dropped, and only the records
// kept are held (re-encoded compactly, decoded again when queried), so
// memory is bounded by MaxOSVKeptSize, not by the size of the export.
const (
	// MaxOSVRecordSize is the largest record (a zip entry or a file).
	MaxOSVRecordSize = 4 << 20
	// MaxOSVRecords is the most entries of a zip (directories and
	// other files included, checked before any is read) or JSON files of
	// a folder.
	MaxOSVRecords = 2_000_000
	// MaxOSVTotalSize is the most uncompressed bytes read in all.
	MaxOSVTotalSize = 4 << 30
	// MaxOSVKeptSize is the most bytes of the records kept in memory
	// (compact JSON). OpenDBFor keeps the records of the packages
	// checked only, which is far below it; OpenDB keeps every PyPI
	// record.
	MaxOSVKeptSize = 256 << 20
	// MaxOSVRatio is the largest compression ratio of a zip entry
	// above 1 MiB (JSON compresses about 10:1).
	MaxOSVRatio = 200
)

// DB is an offline OSV database, indexed by PEP 503-normalized PyPI
// package name. It is safe for concurrent queries.
type DB struct {
	// byName are the indexes in kept of the records of each package.
	byName map[string][]int
	// kept are the records kept, as compact JSON.
	kept      [][]byte
	keptBytes int64
	records   int
	pypi      int
}

// Records is the number of records read (withdrawn and non-PyPI ones
// included).
func (db *DB) Records() int { return db.records }

// PyPIRecords is the number of records read that name a PyPI package
// (withdrawn ones included), whether kept or not.
func (db *DB) PyPIRecords() int { return db.pypi }

// Packages is the number of distinct PyPI packages with records kept.
func (db *DB) Packages() int { return len(db.byName) }

// KeptBytes is the size of the records kept in memory (compact JSON).
func (db *DB) KeptBytes() int64 { return db.keptBytes }

// OpenDB reads an OSV export and keeps every PyPI record: path is either
// a zip of one JSON record per file (the per-ecosystem all.zip,
// https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip) or
// a folder of *.json records. Only "PyPI" affected entries are indexed;
// withdrawn records are dropped. A malformed record, a limit broken
// (see MaxOSVRecords and the others) or a database without a single
// PyPI record (empty, of another ecosystem, not OSV) fail the whole
// database with an error naming the cause.
func OpenDB(path string) (*DB, error) {
	return openDB(context.Background(), path, nil, defaultOSVLimits)
}

// OpenDBFor reads an OSV export like OpenDB, every record decoded and
// checked, but keeps only the records of the named PyPI packages (any
// spelling: they are PEP 503-normalized): the way to check a project
// against a large export with little memory. An empty list keeps none.
func OpenDBFor(path string, names []string) (*DB, error) {
	return openDB(context.Background(), path, wantNames(names), defaultOSVLimits)
}

// osvLimits are the limits a loader applies: the constants, smaller in
// tests.
type osvLimits struct {
	records          int
	recordSize       int64
	total, keptBytes int64
}

var defaultOSVLimits = osvLimits{records: MaxOSVRecords, recordSize: MaxOSVRecordSize, total: MaxOSVTotalSize, keptBytes: MaxOSVKeptSize}

// wantNames is the set of the normalized names, never nil.
func wantNames(names []string) map[string]bool {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[PEP503Name(n)] = true
	}
	return want
}

// dbLoader reads the records of one database.
type dbLoader struct {
	ctx  context.Context
	db   *DB
	path string
	// want are the packages whose records are kept (nil: every one).
	want map[string]bool
	lim  osvLimits
	// total is the count of uncompressed bytes read; files the count of
	// records (entries or files) read.
	total int64
	files int
	// others are a few of the non-PyPI ecosystems seen, for the error
	// of a database without PyPI records.
	others []string
}

func openDB(ctx context.Context, path string, want map[string]bool, lim osvLimits) (*DB, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("osv database: %w", err)
	}
	l := &dbLoader{ctx: ctx, db: &DB{byName: map[string][]int{}}, path: path, want: want, lim: lim}
	if st.IsDir() {
		err = l.readDir(path, 0)
	} else {
		err = l.readZip(path)
	}
	if err != nil {
		return nil, err
	}
	if l.db.pypi == 0 {
		return nil, l.noPyPI()
	}
	return l.db, nil
}

// noPyPI is the error of a database without PyPI records.
func (l *dbLoader) noPyPI() error {
	switch {
	case l.db.records == 0:
		return fmt.Errorf("osv database %s: no OSV record in it (want the PyPI all.zip or a folder of OSV JSON records)", l.path)
	case len(l.others) > 0:
		return fmt.Errorf("osv database %s: none of its %d records is about a PyPI package (ecosystems %s): not a PyPI database", l.path, l.db.records, strings.Join(l.others, ", "))
	}
	return fmt.Errorf("osv database %s: none of its %d records is about a PyPI package", l.path, l.db.records)
}

// next counts one more record and checks the count and the context.
func (l *dbLoader) next() error {
	if l.files >= l.lim.records {
		return fmt.Errorf("osv database %s: more than %d records", l.path, l.lim.records)
	}
	l.files++
	if l.files%1024 == 0 {
		return l.ctx.Err()
	}
	return nil
}

// addBytes counts n more uncompressed bytes read.
func (l *dbLoader) addBytes(n int64) error {
	l.total += n
	if l.total > l.lim.total {
		return fmt.Errorf("osv database %s: more than %d uncompressed bytes (zip bomb?)", l.path, l.lim.total)
	}
	return nil
}

func (l *dbLoader) readZip(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("osv database: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("osv database: %w", err)
	}
	var buf bytes.Buffer
	err = eachZipEntry(f, st.Size(), l.lim.records, func(e *zipEntry) error {
		if strings.HasSuffix(e.name, "/") || !strings.HasSuffix(strings.ToLower(e.name), ".json") {
			return nil
		}
		if err := l.next(); err != nil {
			return err
		}
		if e.size > uint64(l.lim.recordSize) {
			return fmt.Errorf("osv database %s: %s: record of %d bytes exceeds %d", path, e.name, e.size, l.lim.recordSize)
		}
		if e.size > 1<<20 && (e.compressedSize == 0 || e.size/e.compressedSize > MaxOSVRatio) {
			return fmt.Errorf("osv database %s: %s: compression ratio above %d (zip bomb?)", path, e.name, MaxOSVRatio)
		}
		buf.Reset()
		if err := e.read(&buf, l.lim.recordSize); err != nil {
			return fmt.Errorf("osv database %s: %s: %w", path, e.name, err)
		}
		if err := l.addBytes(int64(buf.Len())); err != nil {
			return err
		}
		if err := l.add(buf.Bytes()); err != nil {
			return fmt.Errorf("osv database %s: %s: %w", path, e.name, err)
		}
		return nil
	})
	if _, ok := err.(*zipError); ok { // the archive, not one entry
		return fmt.Errorf("osv database %s: not a zip: %w", path, err)
	}
	return err
}

// maxOSVDirDepth bounds the nesting of a folder database.
const maxOSVDirDepth = 32

// readDir reads the *.json files of a folder and its subfolders, a
// batch of names at a time (a folder of millions of records is never
// listed whole). Symbolic links and other files are skipped.
func (l *dbLoader) readDir(dir string, depth int) error {
	if depth > maxOSVDirDepth {
		return fmt.Errorf("osv database %s: folders nested more than %d deep", l.path, maxOSVDirDepth)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("osv database: %w", err)
	}
	defer d.Close()
	var buf bytes.Buffer
	for {
		ents, err := d.ReadDir(256)
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			switch {
			case e.IsDir():
				if err := l.readDir(p, depth+1); err != nil {
					return err
				}
			case e.Type().IsRegular() && strings.HasSuffix(strings.ToLower(e.Name()), ".json"):
				if err := l.readFile(p, &buf); err != nil {
					return err
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("osv database: %w", err)
		}
	}
}

// readFile reads one record file of a folder database.
func (l *dbLoader) readFile(p string, buf *bytes.Buffer) error {
	if err := l.next(); err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("osv database: %w", err)
	}
	buf.Reset()
	_, err = buf.ReadFrom(io.LimitReader(f, l.lim.recordSize+1))
	f.Close()
	if err != nil {
		return fmt.Errorf("osv database: %s: %w", p, err)
	}
	if int64(buf.Len()) > l.lim.recordSize {
		return fmt.Errorf("osv database: %s: record exceeds %d bytes", p, l.lim.recordSize)
	}
	if err := l.addBytes(int64(buf.Len())); err != nil {
		return err
	}
	if err := l.add(buf.Bytes()); err != nil {
		return fmt.Errorf("osv database: %s: %w", p, err)
	}
	return nil
}

// add decodes and checks one record, and keeps it when it names a PyPI
// package that is wanted and is not withdrawn. data is not retained.
func (l *dbLoader) add(data []byte) error {
	r, err := ParseOSVRecord(data)
	if err != nil {
		return err
	}
	db := l.db
	db.records++
	var names []string
	for _, a := range r.Affected {
		if a.Package.Ecosystem != EcosystemPyPI {
			if len(l.others) < 3 && a.Package.Ecosystem != "" && !slices.Contains(l.others, a.Package.Ecosystem) {
				l.others = append(l.others, truncate(a.Package.Ecosystem))
			}
			continue
		}
		if n := PEP503Name(a.Package.Name); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	db.pypi++
	if r.Withdrawn != "" {
		return nil
	}
	if l.want != nil {
		names = slices.DeleteFunc(names, func(n string) bool { return !l.want[n] })
		if len(names) == 0 {
			return nil
		}
	}
	compact, err := json.Marshal(r)
	if err != nil {
		return err
	}
	db.keptBytes += int64(len(compact))
	if db.keptBytes > l.lim.keptBytes {
		return fmt.Errorf("more than %d bytes of PyPI records to keep in memory: check fewer packages (OpenDBFor)", l.lim.keptBytes)
	}
	i := len(db.kept)
	db.kept = append(db.kept, compact)
	for _, n := range names {
		db.byName[n] = append(db.byName[n], i)
	}
	return nil
}

// recordsOf decodes the records kept for a normalized name. They were
// decoded and re-encoded when kept, so they decode again.
func (db *DB) recordsOf(norm string) []*OSVRecord {
	idx := db.byName[norm]
	out := make([]*OSVRecord, 0, len(idx))
	for _, i := range idx {
		var r OSVRecord
		if err := json.Unmarshal(db.kept[i], &r); err == nil {
			out = append(out, &r)
		}
	}
	return out
}

// Query returns the records affecting version of the PyPI package name,
// in id order. Matching follows the OSV specification: the explicit
// versions list (PEP 440 equality), and ECOSYSTEM ranges whose
// introduced/fixed/last_affected/limit events are evaluated in version
// order with PEP 440 comparison. An empty version matches nothing.
func (db *DB) Query(name, version string) []Match {
	if db == nil || version == "" {
		return nil
	}
	var out []Match
	for _, r := range db.recordsOf(PEP503Name(name)) {
		if m, ok := MatchRecord(r, name, version); ok {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Record.ID < out[j].Record.ID })
	return out
}

// RecordsContext returns the records that name the PyPI package name,
// for MatchSpec; it fails only when ctx is done.
func (db *DB) RecordsContext(ctx context.Context, name string) ([]*OSVRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if db == nil {
		return nil, nil
	}
	return db.recordsOf(PEP503Name(name)), nil
}

// QueryContext is Query with the signature of Online.QueryContext, so
// both satisfy one interface; it never fails.
func (db *DB) QueryContext(ctx context.Context, name, version string) ([]Match, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return db.Query(name, version), nil
}

// Preparer is a Querier that reads its data once it knows which packages
// will be asked about: Check calls Prepare once, before any query, with
// the PEP 503 names of every PyPI package it checks (possibly none).
type Preparer interface {
	Prepare(ctx context.Context, names []string) error
}

// OfflineDB is the offline database at Path (an export OpenDB reads),
// read by Prepare with the records of the named packages only
// (OpenDBFor), so that a large export costs little memory. Until
// Prepare succeeds, queries fail.
type OfflineDB struct {
	// Path is the zip or folder of OSV records.
	Path string
	db   *DB
}

// Prepare reads the database at o.Path, keeping the records of names.
func (o *OfflineDB) Prepare(ctx context.Context, names []string) error {
	db, err := openDB(ctx, o.Path, wantNames(names), defaultOSVLimits)
	if err != nil {
		return err
	}
	o.db = db
	return nil
}

// DB is the database Prepare read, nil before.
func (o *OfflineDB) DB() *DB { return o.db }

var errNotPrepared = errors.New("osv database: queried before it was read (Prepare)")

// QueryContext is DB.QueryContext on the database Prepare read.
func (o *OfflineDB) QueryContext(ctx context.Context, name, version string) ([]Match, error) {
	if o.db == nil {
		return nil, errNotPrepared
	}
	return o.db.QueryContext(ctx, name, version)
}

// RecordsContext is DB.RecordsContext on the database Prepare read.
func (o *OfflineDB) RecordsContext(ctx context.Context, name string) ([]*OSVRecord, error) {
	if o.db == nil {
		return nil, errNotPrepared
	}
	return o.db.RecordsContext(ctx, name)
}
