package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/violet-mlsecops/violet/finding"
)

// Scan request kinds and states (scan_requests).
const (
	// ScanKindScan fetches a model from a location, stores the version it
	// finds there and its scan report.
	ScanKindScan = "scan"
	// ScanKindRescan re-judges a stored version from its pinned location
	// with the current scanner and policy.
	ScanKindRescan = "rescan"
	// ScanKindVerify verifies the signature of the model at a location (or
	// of a stored version, fetched again from its pinned location) against
	// the team's trusted signers and stores the verify report.
	ScanKindVerify = "verify"
	// ScanKindBOM writes the ML-BOM of the model at a location (or of a
	// stored version) and stores it with its lineage.
	ScanKindBOM = "bom"

	// ScanQueued: the job is queued, running or waiting for a retry.
	ScanQueued = "queued"
	// ScanDone: the job stored a scan report.
	ScanDone = "done"
	// ScanIncomplete: the job failed for good; when a version is known,
	// its evidence is a report carrying an incomplete rule, never a clean
	// one.
	ScanIncomplete = "incomplete"
)

// EventRescanNewFinding: a rescan found a new finding of severity high or
// critical in a version that has an approved release.
const EventRescanNewFinding = "rescan.new_finding"

// EventVerifyFailed: a verify job found that a version with an approved
// release does not verify against the team's trusted signers (unsigned,
// signed by a signer no longer trusted, or files changed since signing).
const EventVerifyFailed = "verify.failed"

// JobEvents lists the event types of the scan jobs (part of
// WebhookEvents).
var JobEvents = []string{EventRescanNewFinding, EventVerifyFailed}

// maxScanError bounds the error text a failed scan request keeps;
// maxPinned a pinned location.
const (
	maxScanError = 1024
	maxPinned    = 4096
)

// ScanRequestKinds lists the kinds of scan request.
func ScanRequestKinds() []string {
	return []string{ScanKindScan, ScanKindRescan, ScanKindVerify, ScanKindBOM}
}

// EvidenceOfRequest is the evidence kind a request of kind stores: a scan
// report for a scan or a rescan, a verify report, or a BOM.
func EvidenceOfRequest(kind string) string {
	switch kind {
	case ScanKindVerify:
		return EvidenceVerify
	case ScanKindBOM:
		return EvidenceBOM
	}
	return EvidenceScan
}

// ScanRequest is a request to scan, verify or write the BOM of a model at
// a location, carried out by a job of the queue (package jobs).
type ScanRequest struct {
	ID      int64
	ModelID int64
	// VersionID is the version re-judged (rescan) or stored (scan, once
	// done); 0 before.
	VersionID int64
	Kind      string // ScanKindScan or ScanKindRescan
	Location  string
	// Pinned is the location the job fetched, pinned (a resolved
	// revision, tag or listing); "" until the job ran.
	Pinned string
	Status string // ScanQueued, ScanDone or ScanIncomplete
	// JobID is the River job that carries the request out.
	JobID int64
	// EvidenceID is the stored scan report; 0 until one is stored.
	EvidenceID int64
	// Scanner and Policy are the scanner version and the policy digest
	// that judged.
	Scanner, Policy string
	// Error says why an incomplete request failed.
	Error       string
	RequestedBy string
	RequestedAt time.Time
	FinishedAt  time.Time
}

// Enqueue inserts the job of a scan request in tx, the transaction that
// writes the request, and returns the job's id: the request and its job
// are committed together or not at all.
type Enqueue func(tx *sql.Tx, req ScanRequest) (jobID int64, err error)

// Complete marks a job done in tx, the transaction that stores its
// result, so that a result is never stored twice nor lost.
type Complete func(tx *sql.Tx) error

// JobDatabase returns the database that River's tables live in (the
// store's own, the writer's connection pool: one connection on SQLite)
// and the dialect, "sqlite" or "postgres". The jobs package uses it for
// River's driver; nothing else should write through it.
func (s *Store) JobDatabase() (*sql.DB, string) { return s.db, s.dialect.String() }

// RequestScan records a request of kind to scan model modelID at location
// (versionID is the version a rescan re-judges, 0 for a scan) and calls
// enqueue in the same transaction to insert its job. An enqueue error rolls
// the request back.
func (s *Store) RequestScan(ctx context.Context, a Actor, modelID, versionID int64, kind, location string, enqueue Enqueue) (ScanRequest, error) {
	if err := oneOf("scan kind", kind, ScanRequestKinds()); err != nil {
		return ScanRequest{}, err
	}
	if err := checkText("scan location", location); err != nil {
		return ScanRequest{}, err
	}
	if kind == ScanKindRescan && versionID == 0 || kind == ScanKindScan && versionID != 0 {
		return ScanRequest{}, fmt.Errorf("scan request: a rescan names its version, a scan none: %w", ErrInvalid)
	}
	r := ScanRequest{ModelID: modelID, VersionID: versionID, Kind: kind, Location: location, Status: ScanQueued,
		RequestedBy: a.Name, RequestedAt: s.stamp()}
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		if versionID != 0 {
			var m int64
			if err := tx.QueryRowContext(ctx, `SELECT model_id FROM model_versions WHERE id = $1`, versionID).Scan(&m); err != nil {
				return fmt.Errorf("store: version %d: %w", versionID, ErrNotFound)
			}
			if m != modelID {
				return fmt.Errorf("store: version %d is not of model %d: %w", versionID, modelID, ErrInvalid)
			}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO scan_requests (model_id, version_id, kind, location, status,
			requested_by, requested_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, modelID, nullID(versionID),
			kind, location, ScanQueued, r.RequestedBy, fmtTime(r.RequestedAt)).Scan(&r.ID); err != nil {
			return err
		}
		jobID, err := enqueue(tx, r)
		if err != nil {
			return fmt.Errorf("store: enqueue: %w", err)
		}
		r.JobID = jobID
		if _, err := tx.ExecContext(ctx, `UPDATE scan_requests SET job_id = $1 WHERE id = $2`, jobID, r.ID); err != nil {
			return err
		}
		log.add("scan.request", objectID("scan-request", r.ID), map[string]any{"model": modelID, "version": versionID,
			"kind": kind, "location": location, "job": jobID})
		return nil
	})
	if err != nil {
		return ScanRequest{}, err
	}
	return r, nil
}

const scanRequestColumns = `id, model_id, version_id, kind, location, pinned, status, job_id, evidence_id, scanner, policy,
	error, requested_by, requested_at, finished_at`

func scanScanRequest(row scanner) (ScanRequest, error) {
	var r ScanRequest
	var version, job, evidence sql.NullInt64
	var at, done dbTime
	err := row.Scan(&r.ID, &r.ModelID, &version, &r.Kind, &r.Location, &r.Pinned, &r.Status, &job, &evidence, &r.Scanner,
		&r.Policy, &r.Error, &r.RequestedBy, &at, &done)
	r.VersionID, r.JobID, r.EvidenceID = version.Int64, job.Int64, evidence.Int64
	r.RequestedAt, r.FinishedAt = at.T, done.T
	return r, err
}

// ScanRequest returns scan request id.
func (s *Store) ScanRequest(ctx context.Context, id int64) (ScanRequest, error) {
	r, err := scanScanRequest(s.rdb.QueryRowContext(ctx, `SELECT `+scanRequestColumns+` FROM scan_requests WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ScanRequest{}, fmt.Errorf("store: scan request %d: %w", id, ErrNotFound)
	}
	return r, s.wrap(err)
}

// MaxScanRequestPage is the most scan requests ScanRequests returns.
const MaxScanRequestPage = 1000

// ScanRequests lists the last scan requests (at most MaxScanRequestPage) of
// model modelID, newest first.
func (s *Store) ScanRequests(ctx context.Context, modelID int64) ([]ScanRequest, error) {
	out, err := queryAll(ctx, s.rdb, scanScanRequest, fmt.Sprintf(`SELECT `+scanRequestColumns+`
		FROM scan_requests WHERE model_id = $1 ORDER BY id DESC LIMIT %d`, MaxScanRequestPage), modelID)
	return out, s.wrap(err)
}

// ScanResult is what a scan job found, as CompleteScan stores it.
type ScanResult struct {
	// VersionID is the version judged: the rescan's, or the one the job
	// put (PutVersion) from the files it fetched. 0 when no version is
	// known (a scan whose fetch failed for good).
	VersionID int64
	// Report is the scan report (JSON); nil when none (VersionID 0).
	Report []byte
	// Scanner and Policy are the scanner version and the policy digest.
	Scanner, Policy string
	// Pinned is the location fetched, pinned ("" when the fetch failed).
	Pinned string
	// Findings are a scan report's findings as RecordFindings takes them.
	Findings []FindingInput
	// Signers name who signed, from a verify report that verified
	// (AddVerifyEvidence); Lineage is a BOM's lineage (AddBOMEvidence).
	Signers []string
	Lineage []LineageLink
	// VerifyFailure says why a verify report did not verify ("" when it
	// verified, or for another kind): a released version's failure queues
	// EventVerifyFailed.
	VerifyFailure string
	// Incomplete marks a result the job could not finish: Error says why,
	// and Report (when there is one) carries an incomplete rule.
	Incomplete bool
	Error      string
}

// ScanOutcome is what CompleteScan stored.
type ScanOutcome struct {
	Request ScanRequest
	// Created is false when the identical report was stored before.
	Created bool
	// NewFindings counts the findings of the report that the version's
	// previous scan run did not show (all when it is the first run).
	NewFindings int
}

// CompleteScan stores the result of scan request id in one transaction:
// the report as the version's evidence of the request's kind
// (EvidenceOfRequest) with what is drawn from it (a scan run and its
// findings as AddScanEvidence, a verify report's signers, a BOM's
// lineage), the request's outcome, and complete (the job's completion). A finding of severity high or critical that the version's
// previous run did not show, in a version with an approved release,
// queues EventRescanNewFinding in the outbox.
func (s *Store) CompleteScan(ctx context.Context, a Actor, id int64, res ScanResult, complete Complete) (ScanOutcome, error) {
	if res.VersionID != 0 && res.Report != nil {
		if err := checkEvidence(EvidenceScan, res.Report); err != nil {
			return ScanOutcome{}, err
		}
		if err := checkFindings(res.Findings); err != nil {
			return ScanOutcome{}, err
		}
		if err := checkDerived(res.Signers, res.Lineage); err != nil {
			return ScanOutcome{}, err
		}
	}
	if err := checkText("scanner version", res.Scanner); err != nil {
		return ScanOutcome{}, err
	}
	if err := checkText("policy digest", res.Policy); err != nil {
		return ScanOutcome{}, err
	}
	status := ScanDone
	if res.Incomplete {
		status = ScanIncomplete
	}
	var out ScanOutcome
	at := s.stamp()
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		r, err := scanScanRequest(tx.QueryRowContext(ctx, `SELECT `+scanRequestColumns+` FROM scan_requests WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: scan request %d: %w", id, ErrNotFound)
		} else if err != nil {
			return err
		}
		// Claim the request first: of two jobs finishing it at once (a
		// job rescued from a worker that was still running), the second
		// waits for the first's row lock and then changes nothing.
		res0, err := tx.ExecContext(ctx, `UPDATE scan_requests SET status = $1 WHERE id = $2 AND status = $3`,
			status, id, ScanQueued)
		if err != nil {
			return err
		}
		if n, err := res0.RowsAffected(); err != nil {
			return err
		} else if n != 1 || r.Status != ScanQueued {
			return fmt.Errorf("store: scan request %d is finished already: %w", id, ErrConflict)
		}
		if r.VersionID != 0 && res.VersionID != r.VersionID {
			return fmt.Errorf("store: scan request %d re-judges version %d, not %d: %w", id, r.VersionID, res.VersionID, ErrInvalid)
		}
		var evidenceID any
		if res.VersionID != 0 {
			var m int64
			if err := tx.QueryRowContext(ctx, `SELECT model_id FROM model_versions WHERE id = $1`, res.VersionID).Scan(&m); err != nil {
				return fmt.Errorf("store: version %d: %w", res.VersionID, ErrNotFound)
			}
			if m != r.ModelID {
				return fmt.Errorf("store: version %d is not of model %d: %w", res.VersionID, r.ModelID, ErrInvalid)
			}
			r.VersionID = res.VersionID
		}
		if res.VersionID != 0 && res.Report != nil {
			e := newEvidence(a, res.VersionID, EvidenceOfRequest(r.Kind), res.Report, at)
			if out.Created, err = insertEvidence(ctx, tx, log, &e, res.Report); err != nil {
				return err
			}
			if e.Kind == EvidenceScan {
				err = insertScanResult(ctx, tx, log, r, res, e, at, &out)
			} else {
				err = insertDerived(ctx, tx, log, e, res.Signers, res.Lineage)
			}
			if err == nil && e.Kind == EvidenceVerify && res.VerifyFailure != "" {
				err = notifyVerifyFailed(ctx, tx, log, r, res, e)
			}
			if err != nil {
				return err
			}
			evidenceID, r.EvidenceID = e.ID, e.ID
		}
		r.Status, r.Scanner, r.Policy, r.Error, r.FinishedAt = status, res.Scanner, res.Policy, clipUTF8(res.Error, maxScanError), at
		r.Pinned = clipUTF8(res.Pinned, maxPinned)
		if _, err := tx.ExecContext(ctx, `UPDATE scan_requests SET status = $1, version_id = $2, evidence_id = $3,
			scanner = $4, policy = $5, error = $6, finished_at = $7, pinned = $8 WHERE id = $9`, r.Status, nullID(r.VersionID),
			evidenceID, r.Scanner, r.Policy, r.Error, fmtTime(at), r.Pinned, id); err != nil {
			return err
		}
		log.add("scan.complete", objectID("scan-request", id), map[string]any{"status": status,
			"version": r.VersionID, "evidence": r.EvidenceID, "scanner": r.Scanner, "policy": r.Policy})
		out.Request = r
		if complete != nil {
			return complete(tx)
		}
		return nil
	})
	if err != nil {
		return ScanOutcome{}, err
	}
	return out, nil
}

// insertScanResult records, in tx, the scan run of a job's scan report
// (evidence e) and its findings, and queues EventRescanNewFinding when it
// shows severe findings new to a released version.
func insertScanResult(ctx context.Context, tx *sql.Tx, log *auditQueue, r ScanRequest, res ScanResult, e Evidence, at time.Time, out *ScanOutcome) error {
	prev, err := previousRunFindings(ctx, tx, res.VersionID, e.ID)
	if err != nil {
		return err
	}
	if err := insertScanRun(ctx, tx, e.ID, res.VersionID, res.Scanner); err != nil {
		return err
	}
	ids, err := recordFindings(ctx, tx, log, res.VersionID, e.ID, res.Findings, fmtTime(at))
	if err != nil {
		return err
	}
	return notifyNewFindings(ctx, tx, log, r, res, ids, prev, out)
}

// previousRunFindings returns the findings (ids) that the version's last
// scan run before evidence evidenceID showed; nil when there is none.
func previousRunFindings(ctx context.Context, tx *sql.Tx, versionID, evidenceID int64) (map[int64]bool, error) {
	var base int64
	err := tx.QueryRowContext(ctx, `SELECT evidence_id FROM scan_runs WHERE version_id = $1 AND evidence_id <> $2
		ORDER BY evidence_id DESC LIMIT 1`, versionID, evidenceID).Scan(&base)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ids, err := queryAll(ctx, tx, func(row scanner) (int64, error) {
		var id int64
		return id, row.Scan(&id)
	}, `SELECT finding_id FROM scan_run_findings WHERE evidence_id = $1`, base)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// notifyNewFindings counts the findings (ids, in res.Findings' order) the
// previous run (prev) did not show, and queues EventRescanNewFinding for
// those of severity high or more when the version has an approved release.
func notifyNewFindings(ctx context.Context, tx *sql.Tx, log *auditQueue, r ScanRequest, res ScanResult, ids []int64, prev map[int64]bool, out *ScanOutcome) error {
	var severe []map[string]any
	seen := map[int64]bool{}
	for i, id := range ids {
		if prev[id] || seen[id] {
			continue
		}
		seen[id] = true
		out.NewFindings++
		if f := res.Findings[i]; f.Severity >= finding.High && len(severe) < maxEventFindings {
			severe = append(severe, map[string]any{"finding": id, "rule": f.Rule, "severity": f.Severity.String(),
				"location": f.Location, "message": f.Message})
		}
	}
	if len(severe) == 0 {
		return nil
	}
	return notifyReleased(ctx, tx, log, EventRescanNewFinding, r, res.VersionID, map[string]any{"scanner": res.Scanner,
		"policy": res.Policy, "findings": severe})
}

// notifyVerifyFailed queues EventVerifyFailed when the version whose
// verify report (evidence e) did not verify has an approved release.
func notifyVerifyFailed(ctx context.Context, tx *sql.Tx, log *auditQueue, r ScanRequest, res ScanResult, e Evidence) error {
	return notifyReleased(ctx, tx, log, EventVerifyFailed, r, res.VersionID, map[string]any{"evidence": e.ID,
		"reason": clipUTF8(res.VerifyFailure, maxScanError)})
}

// notifyReleased queues event, about what job request r found in version
// versionID, when the version has an approved release: data with the
// model, the version, its digest and the request.
func notifyReleased(ctx context.Context, tx *sql.Tx, log *auditQueue, event string, r ScanRequest, versionID int64, data map[string]any) error {
	released, err := versionReleased(ctx, tx, versionID)
	if err != nil || !released {
		return err
	}
	var team int64
	var digest string
	if err := tx.QueryRowContext(ctx, `SELECT m.team_id, v.digest FROM models m JOIN model_versions v ON v.model_id = m.id
		WHERE v.id = $1`, versionID).Scan(&team, &digest); err != nil {
		return err
	}
	data["model"], data["version"], data["digest"], data["scan_request"] = r.ModelID, versionID, digest, r.ID
	log.event(event, team, data)
	return nil
}

// versionReleased reports whether the version has a release that every
// required role approved (each role's last decision is an approval).
func versionReleased(ctx context.Context, tx *sql.Tx, versionID int64) (bool, error) {
	type rel struct {
		id       int64
		required string
	}
	rels, err := queryAll(ctx, tx, func(row scanner) (rel, error) {
		var r rel
		return r, row.Scan(&r.id, &r.required)
	}, `SELECT id, required_roles FROM releases WHERE version_id = $1`, versionID)
	if err != nil {
		return false, err
	}
	for _, r := range rels {
		missing, err := rolesWaiting(ctx, tx, r.id, strings.Fields(r.required))
		if err != nil {
			return false, err
		}
		if len(missing) == 0 {
			return true, nil
		}
	}
	return false, nil
}

// RescanTarget is a stored version that a rescan can re-judge: its
// location is the pinned one its last completed scan job fetched.
type RescanTarget struct {
	ModelID, VersionID int64
	Location           string
	// Scanner and Policy judged the version's last scan job.
	Scanner, Policy string
}

// RescanTargets lists the versions that have a location (a scan job
// stored them; verify and BOM jobs do not count), of model modelID or of every model (modelID 0), with the
// scanner and policy of their last completed job, oldest version first.
func (s *Store) RescanTargets(ctx context.Context, modelID int64) ([]RescanTarget, error) {
	q := `SELECT r.model_id, r.version_id, CASE WHEN r.pinned = '' THEN r.location ELSE r.pinned END, r.scanner, r.policy
		FROM scan_requests r
		WHERE r.version_id IS NOT NULL AND r.status <> 'queued' AND r.id = (SELECT max(o.id) FROM scan_requests o
		WHERE o.version_id = r.version_id AND o.status <> 'queued' AND o.kind IN ('scan', 'rescan'))`
	args := []any{}
	if modelID != 0 {
		q += ` AND r.model_id = $1`
		args = append(args, modelID)
	}
	out, err := queryAll(ctx, s.rdb, func(row scanner) (RescanTarget, error) {
		var t RescanTarget
		return t, row.Scan(&t.ModelID, &t.VersionID, &t.Location, &t.Scanner, &t.Policy)
	}, q+` ORDER BY r.version_id`, args...)
	return out, s.wrap(err)
}

// ScanRunFindings lists the findings that the scan run of evidence
// evidenceID showed.
func (s *Store) ScanRunFindings(ctx context.Context, evidenceID int64) ([]Finding, error) {
	return s.findingsOf(ctx, runFindings, `r.evidence_id = $1`, evidenceID)
}

// QueuedScanRequests lists the oldest scan requests (at most limit) still
// queued, for the sweep that finishes those whose job ended without a
// result.
func (s *Store) QueuedScanRequests(ctx context.Context, limit int) ([]ScanRequest, error) {
	out, err := queryAll(ctx, s.rdb, scanScanRequest, fmt.Sprintf(`SELECT `+scanRequestColumns+`
		FROM scan_requests WHERE status = 'queued' ORDER BY id LIMIT %d`, max(limit, 1)))
	return out, s.wrap(err)
}
