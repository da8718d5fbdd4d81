package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Evidence kinds: which Violet document a report is.
const (
	EvidenceScan   = "scan"   // violet scan --format json
	EvidenceVerify = "verify" // a signature verification
	EvidenceBOM    = "bom"    // an ML-BOM
	EvidenceDeps   = "deps"   // violet deps
	EvidenceGate   = "gate"   // a policy decision
)

// EvidenceKinds lists the evidence kinds.
func EvidenceKinds() []string {
	return []string{EvidenceScan, EvidenceVerify, EvidenceBOM, EvidenceDeps, EvidenceGate}
}

// Evidence describes a stored report (without the report itself: see
// EvidenceReport).
type Evidence struct {
	ID        int64
	VersionID int64
	Kind      string
	// SHA256 is the lower-case hex SHA-256 of the report's bytes.
	SHA256     string
	Size       int64
	UploadedBy string
	UploadedAt time.Time
}

// AddEvidence stores a report for a model version, byte for byte. It is
// idempotent: the same report (same SHA-256) of the same kind for the same
// version returns the stored evidence and created=false, with no change
// and no audit record. The report must be JSON and at most
// MaxEvidenceSize bytes (ErrTooLarge); the uploader is the actor.
func (s *Store) AddEvidence(ctx context.Context, a Actor, versionID int64, kind string, report []byte) (e Evidence, created bool, err error) {
	if err := checkEvidence(kind, report); err != nil {
		return Evidence{}, false, err
	}
	e = newEvidence(a, versionID, kind, report, s.stamp())
	err = s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		var err error
		created, err = insertEvidence(ctx, tx, log, &e, report)
		return err
	})
	if err != nil {
		return Evidence{}, false, err
	}
	return e, created, nil
}

// newEvidence is the evidence row of a report, before it is stored.
func newEvidence(a Actor, versionID int64, kind string, report []byte, at time.Time) Evidence {
	sum := sha256.Sum256(report)
	return Evidence{VersionID: versionID, Kind: kind, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(report)),
		UploadedBy: a.Name, UploadedAt: at}
}

// insertEvidence stores e (its ID set) in tx, or finds the identical
// report stored before (created false, nothing audited).
func insertEvidence(ctx context.Context, tx *sql.Tx, log *auditQueue, e *Evidence, report []byte) (created bool, err error) {
	// ON CONFLICT: of two identical uploads racing, one inserts and the
	// other finds its row.
	err = tx.QueryRowContext(ctx, `INSERT INTO evidence
		(version_id, kind, sha256, size, report, uploaded_by, uploaded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (version_id, kind, sha256) DO NOTHING RETURNING id`,
		e.VersionID, e.Kind, e.SHA256, e.Size, report, e.UploadedBy, fmtTime(e.UploadedAt)).Scan(&e.ID)
	if errors.Is(err, sql.ErrNoRows) {
		var at dbTime
		err = tx.QueryRowContext(ctx, `SELECT id, uploaded_by, uploaded_at FROM evidence
			WHERE version_id = $1 AND kind = $2 AND sha256 = $3`, e.VersionID, e.Kind, e.SHA256).Scan(&e.ID, &e.UploadedBy, &at)
		e.UploadedAt = at.T
		return false, err
	}
	if err != nil {
		return false, err
	}
	log.add("evidence.add", objectID("evidence", e.ID), map[string]any{
		"version": e.VersionID, "kind": e.Kind, "sha256": e.SHA256, "size": e.Size})
	return true, nil
}

// AddScanEvidence stores a scan report and records its findings in one
// transaction, so that no crash can leave a stored report whose findings
// are missing (a version that looks clean). scannerVersion is the version
// of the scanner that wrote the report (its tool.version): a scan run
// (ScanRuns) keeps it with the findings the report showed. Like
// AddEvidence it is idempotent; the findings of a report stored before are
// recorded again, which changes nothing when they were.
func (s *Store) AddScanEvidence(ctx context.Context, a Actor, versionID int64, report []byte, scannerVersion string, findings []FindingInput) (e Evidence, created bool, err error) {
	if err := checkEvidence(EvidenceScan, report); err != nil {
		return Evidence{}, false, err
	}
	if err := checkText("scanner version", scannerVersion); err != nil {
		return Evidence{}, false, err
	}
	if err := checkFindings(findings); err != nil {
		return Evidence{}, false, err
	}
	e = newEvidence(a, versionID, EvidenceScan, report, s.stamp())
	now := fmtTime(s.stamp())
	err = s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		var err error
		if created, err = insertEvidence(ctx, tx, log, &e, report); err != nil {
			return err
		}
		if err := insertScanRun(ctx, tx, e.ID, versionID, scannerVersion); err != nil {
			return err
		}
		_, err = recordFindings(ctx, tx, log, versionID, e.ID, findings, now)
		return err
	})
	if err != nil {
		return Evidence{}, false, err
	}
	return e, created, nil
}

// checkEvidence refuses a report of an unknown kind, too large or not JSON.
func checkEvidence(kind string, report []byte) error {
	if err := oneOf("evidence kind", kind, EvidenceKinds()); err != nil {
		return err
	}
	return checkReport("evidence", report)
}

// checkReport refuses a report (of what) too large or not JSON.
func checkReport(what string, report []byte) error {
	if len(report) > MaxEvidenceSize {
		return fmt.Errorf("%s: %d bytes, more than %d: %w", what, len(report), MaxEvidenceSize, ErrTooLarge)
	}
	if !json.Valid(report) {
		return fmt.Errorf("%s: the report is not JSON: %w", what, ErrInvalid)
	}
	return nil
}

// ListEvidence lists a version's evidence, oldest first; kind "" lists
// every kind.
func (s *Store) ListEvidence(ctx context.Context, versionID int64, kind string) ([]Evidence, error) {
	q := `SELECT id, version_id, kind, sha256, size, uploaded_by, uploaded_at FROM evidence WHERE version_id = $1`
	args := []any{versionID}
	if kind != "" {
		q += ` AND kind = $2`
		args = append(args, kind)
	}
	out, err := queryAll(ctx, s.rdb, func(row scanner) (Evidence, error) {
		var e Evidence
		var at dbTime
		err := row.Scan(&e.ID, &e.VersionID, &e.Kind, &e.SHA256, &e.Size, &e.UploadedBy, &at)
		e.UploadedAt = at.T
		return e, err
	}, q+` ORDER BY id`, args...)
	return out, s.wrap(err)
}

// EvidenceReport returns a stored report's bytes, checked against its
// SHA-256: a report changed in the database is an error, never returned.
func (s *Store) EvidenceReport(ctx context.Context, id int64) ([]byte, error) {
	var report []byte
	var want string
	err := s.rdb.QueryRowContext(ctx, `SELECT report, sha256 FROM evidence WHERE id = $1`, id).Scan(&report, &want)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: evidence %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, s.wrap(err)
	}
	if sum := sha256.Sum256(report); hex.EncodeToString(sum[:]) != want {
		return nil, fmt.Errorf("store: evidence %d: the stored report does not match its SHA-256 (changed in the database)", id)
	}
	return report, nil
}
