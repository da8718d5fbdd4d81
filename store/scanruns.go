package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ScanRun is one scan report of a version: the scanner version that
// judged the version's files, and the findings it showed. Runs stored
// before schema version 4 have no scanner version, and hold only the
// findings first seen in them.
type ScanRun struct {
	// EvidenceID is the scan report's evidence.
	EvidenceID int64
	VersionID  int64
	// ScannerVersion is the report's tool.version; "" when unknown.
	ScannerVersion string
	UploadedBy     string
	UploadedAt     time.Time
	// Findings counts the findings the run showed.
	Findings int
}

// ScanChange is what a scan run changed against the version's run before
// it: run a newer scanner over files already judged, upload its report,
// and the change shows the findings the new version adds and those it no
// longer reports.
type ScanChange struct {
	Run ScanRun
	// Base is the run before Run; nil when Run is the version's first.
	Base *ScanRun
	// Added are the findings Run shows and Base did not (all of Run's when
	// there is no Base); Removed are Base's that Run no longer shows.
	Added, Removed []Finding
	// Kept counts the findings both show.
	Kept int
}

// insertScanRun records the run of a scan report, once.
func insertScanRun(ctx context.Context, tx *sql.Tx, evidenceID, versionID int64, scannerVersion string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO scan_runs (evidence_id, version_id, scanner_version)
		VALUES ($1, $2, $3) ON CONFLICT (evidence_id) DO NOTHING`, evidenceID, versionID, scannerVersion)
	return err
}

// scanRunSelect selects ScanRun's columns; scanScanRun reads them.
const scanRunSelect = `SELECT r.evidence_id, r.version_id, r.scanner_version, e.uploaded_by, e.uploaded_at,
		(SELECT count(*) FROM scan_run_findings rf WHERE rf.evidence_id = r.evidence_id)
	FROM scan_runs r JOIN evidence e ON e.id = r.evidence_id`

func scanScanRun(row scanner) (ScanRun, error) {
	var r ScanRun
	var at dbTime
	err := row.Scan(&r.EvidenceID, &r.VersionID, &r.ScannerVersion, &r.UploadedBy, &at, &r.Findings)
	r.UploadedAt = at.T
	return r, err
}

// ScanRuns lists a version's scan runs, oldest first.
func (s *Store) ScanRuns(ctx context.Context, versionID int64) ([]ScanRun, error) {
	out, err := queryAll(ctx, s.rdb, scanScanRun, scanRunSelect+` WHERE r.version_id = $1 ORDER BY r.evidence_id`, versionID)
	return out, s.wrap(err)
}

// ScanChanges compares the scan run of evidence evidenceID, which must be
// of the version, with the version's run before it.
func (s *Store) ScanChanges(ctx context.Context, versionID, evidenceID int64) (ScanChange, error) {
	var c ScanChange
	run, err := scanScanRun(s.rdb.QueryRowContext(ctx, scanRunSelect+` WHERE r.evidence_id = $1 AND r.version_id = $2`,
		evidenceID, versionID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("store: scan run %d of version %d: %w", evidenceID, versionID, ErrNotFound)
	}
	if err != nil {
		return c, s.wrap(err)
	}
	c.Run = run
	base, err := scanScanRun(s.rdb.QueryRowContext(ctx, scanRunSelect+` WHERE r.version_id = $1 AND r.evidence_id < $2
		ORDER BY r.evidence_id DESC LIMIT 1`, versionID, evidenceID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		c.Added, err = s.findingsOf(ctx, runFindings, `r.evidence_id = $1`, evidenceID)
		return c, err
	case err != nil:
		return c, s.wrap(err)
	}
	c.Base = &base
	const notIn = ` AND NOT EXISTS (SELECT 1 FROM scan_run_findings o WHERE o.evidence_id = $2 AND o.finding_id = f.id)`
	if c.Added, err = s.findingsOf(ctx, runFindings, `r.evidence_id = $1`+notIn, evidenceID, base.EvidenceID); err != nil {
		return c, err
	}
	if c.Removed, err = s.findingsOf(ctx, runFindings, `r.evidence_id = $1`+notIn, base.EvidenceID, evidenceID); err != nil {
		return c, err
	}
	c.Kept = run.Findings - len(c.Added)
	return c, nil
}

// runFindings joins a run's findings (r) to the findings (f).
const runFindings = `scan_run_findings r JOIN findings f ON f.id = r.finding_id`
