package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/violet-mlsecops/violet/finding"
)

// Finding states.
const (
	StateOpen          = "open"
	StateAcceptedRisk  = "accepted-risk"  // with a reason and an expiry
	StateFalsePositive = "false-positive" // with a reason
	StateFixed         = "fixed"
)

// MaxAcceptance is the longest an accepted risk may stay accepted before
// someone must look again.
const MaxAcceptance = 366 * 24 * time.Hour

// FindingInput is a finding of a scan, as RecordFindings takes it. Rule,
// FileSHA256 and Location are its identity within a model: the same
// finding in an unchanged file of the next version is the same finding,
// and keeps its triage.
type FindingInput struct {
	Rule       string
	FileSHA256 string
	Location   string
	Severity   finding.Severity
	Message    string
}

// FindingState is one state change of a finding.
type FindingState struct {
	State  string
	Reason string
	// ExpiresAt ends an accepted risk; zero for the other states.
	ExpiresAt time.Time
	SetBy     string
	SetAt     time.Time
}

// Finding is a finding of a model with its current state.
type Finding struct {
	ID          int64
	ModelID     int64
	Rule        string
	FileSHA256  string
	Location    string
	Severity    finding.Severity
	Message     string
	FirstSeenAt time.Time
	// State is the effective state: the last change's, except that an
	// accepted risk past its expiry is open again (Expired tells).
	State   string
	Expired bool
	// Last is the last state change; nil when the state never changed.
	Last *FindingState
}

// RecordFindings records the findings that a report (evidenceID, which
// must belong to the version) shows for a model version: a finding seen
// for the first time in the model is created, and every one is marked as
// seen in the version. Severity and message are those of the first
// sighting. It returns the findings' ids in the order given; one audit
// record ("findings.record", on the version) covers the call, none when
// nothing was new.
func (s *Store) RecordFindings(ctx context.Context, a Actor, versionID, evidenceID int64, in []FindingInput) ([]int64, error) {
	if err := checkFindings(in); err != nil {
		return nil, err
	}
	now := fmtTime(s.stamp())
	var ids []int64
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		var err error
		ids, err = recordFindings(ctx, tx, log, versionID, evidenceID, in, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// checkFindings refuses too many findings, or one that is not valid.
func checkFindings(in []FindingInput) error {
	if len(in) > MaxFindings {
		return fmt.Errorf("findings: %d, more than %d: %w", len(in), MaxFindings, ErrTooLarge)
	}
	for _, f := range in {
		if err := checkFindingInput(f); err != nil {
			return err
		}
	}
	return nil
}

// recordFindings is RecordFindings inside the transaction tx.
func recordFindings(ctx context.Context, tx *sql.Tx, log *auditQueue, versionID, evidenceID int64, in []FindingInput, now string) ([]int64, error) {
	ids := make([]int64, len(in))
	var modelID, evVersion int64
	var kind string
	err := tx.QueryRowContext(ctx, `SELECT v.model_id, e.version_id, e.kind FROM model_versions v, evidence e
		WHERE v.id = $1 AND e.id = $2`, versionID, evidenceID).Scan(&modelID, &evVersion, &kind)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: version %d or evidence %d: %w", versionID, evidenceID, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if evVersion != versionID {
		return nil, fmt.Errorf("store: evidence %d is not of version %d: %w", evidenceID, versionID, ErrInvalid)
	}
	if kind != EvidenceScan {
		return nil, fmt.Errorf("store: evidence %d is a %s report: findings come from scan reports: %w", evidenceID, kind, ErrInvalid)
	}
	// The run of a report stored by AddEvidence has no scanner version.
	if err := insertScanRun(ctx, tx, evidenceID, versionID, ""); err != nil {
		return nil, err
	}
	created, seen := 0, 0
	var critical []map[string]any // new critical findings, for the webhook event
	for i, f := range in {
		err := tx.QueryRowContext(ctx, `INSERT INTO findings
			(model_id, rule, file_sha256, location, severity, message, first_seen_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (model_id, rule, file_sha256, location) DO NOTHING RETURNING id`,
			modelID, f.Rule, f.FileSHA256, f.Location, f.Severity.String(), f.Message, now).Scan(&ids[i])
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, `SELECT id FROM findings
				WHERE model_id = $1 AND rule = $2 AND file_sha256 = $3 AND location = $4`,
				modelID, f.Rule, f.FileSHA256, f.Location).Scan(&ids[i])
		} else if err == nil {
			created++
			if f.Severity.String() == "critical" && len(critical) < maxEventFindings {
				critical = append(critical, map[string]any{"finding": ids[i], "rule": f.Rule, "location": f.Location, "message": f.Message})
			}
		}
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO scan_run_findings (evidence_id, finding_id)
			VALUES ($1, $2) ON CONFLICT (evidence_id, finding_id) DO NOTHING`, evidenceID, ids[i]); err != nil {
			return nil, err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO finding_sightings (finding_id, version_id, evidence_id, seen_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (finding_id, version_id) DO NOTHING`, ids[i], versionID, evidenceID, now)
		if err != nil {
			return nil, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		seen += int(n)
	}
	if created > 0 || seen > 0 {
		log.add("findings.record", objectID("version", versionID), map[string]any{
			"evidence": evidenceID, "new_findings": created, "new_sightings": seen})
	}
	if len(critical) > 0 {
		var team int64
		if err := tx.QueryRowContext(ctx, `SELECT team_id FROM models WHERE id = $1`, modelID).Scan(&team); err != nil {
			return nil, err
		}
		log.event(EventFindingCritical, team, map[string]any{"model": modelID, "version": versionID, "findings": critical})
	}
	return ids, nil
}

func checkFindingInput(f FindingInput) error {
	if err := checkText("rule", f.Rule); err != nil {
		return err
	}
	if err := checkSHA256("finding file sha256", f.FileSHA256); err != nil {
		return err
	}
	if err := checkText("location", f.Location); err != nil {
		return err
	}
	if err := checkText("message", f.Message); err != nil {
		return err
	}
	if _, err := f.Severity.MarshalText(); err != nil {
		return fmt.Errorf("finding %s: %v: %w", f.Rule, err, ErrInvalid)
	}
	return nil
}

// SetFindingState records a state change of a finding; the history keeps
// every change (the table refuses UPDATE and DELETE). An accepted risk
// needs a reason and an expiry in the future (within MaxAcceptance); a
// false positive needs a reason; only an accepted risk takes an expiry.
func (s *Store) SetFindingState(ctx context.Context, a Actor, findingID int64, change FindingState) (FindingState, error) {
	if err := oneOf("finding state", change.State,
		[]string{StateOpen, StateAcceptedRisk, StateFalsePositive, StateFixed}); err != nil {
		return FindingState{}, err
	}
	if err := checkText("reason", change.Reason); err != nil {
		return FindingState{}, err
	}
	now := s.stamp()
	exp := change.ExpiresAt.UTC().Truncate(time.Microsecond)
	switch {
	case change.State == StateAcceptedRisk && change.Reason == "":
		return FindingState{}, fmt.Errorf("accepting a risk needs a reason: %w", ErrInvalid)
	case change.State == StateAcceptedRisk && (!exp.After(now) || exp.Sub(now) > MaxAcceptance):
		return FindingState{}, fmt.Errorf("accepted risk expiry %s: must be in the future and within %s: %w",
			exp.Format(time.RFC3339), MaxAcceptance, ErrInvalid)
	case change.State == StateFalsePositive && change.Reason == "":
		return FindingState{}, fmt.Errorf("marking a false positive needs a reason: %w", ErrInvalid)
	case change.State != StateAcceptedRisk && !change.ExpiresAt.IsZero():
		return FindingState{}, fmt.Errorf("only an accepted risk has an expiry: %w", ErrInvalid)
	}
	st := FindingState{State: change.State, Reason: change.Reason, ExpiresAt: exp, SetBy: a.Name, SetAt: now}
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO finding_states (finding_id, state, reason, expires_at, set_by, set_at)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			findingID, st.State, st.Reason, nullTime(st.ExpiresAt), st.SetBy, fmtTime(st.SetAt)); err != nil {
			return err
		}
		detail := map[string]any{"state": st.State, "reason": st.Reason}
		if !st.ExpiresAt.IsZero() {
			detail["expires"] = fmtTime(st.ExpiresAt)
		}
		log.add("finding.state", objectID("finding", findingID), detail)
		return nil
	})
	if err != nil {
		return FindingState{}, err
	}
	return st, nil
}

// FindingHistory returns a finding's state changes, oldest first.
func (s *Store) FindingHistory(ctx context.Context, findingID int64) ([]FindingState, error) {
	out, err := queryAll(ctx, s.rdb, func(row scanner) (FindingState, error) {
		var st FindingState
		var exp, at dbTime
		err := row.Scan(&st.State, &st.Reason, &exp, &st.SetBy, &at)
		st.ExpiresAt, st.SetAt = exp.T, at.T
		return st, err
	}, `SELECT state, reason, expires_at, set_by, set_at FROM finding_states WHERE finding_id = $1 ORDER BY id`, findingID)
	return out, s.wrap(err)
}

// VersionFindings lists the findings seen in a model version with their
// current state, by id.
func (s *Store) VersionFindings(ctx context.Context, versionID int64) ([]Finding, error) {
	return s.findingsOf(ctx, `finding_sightings s JOIN findings f ON f.id = s.finding_id`, `s.version_id = $1`, versionID)
}

// findingsOf lists, by id, the findings f of source (tables joined to
// findings f) that where selects, with their current state.
func (s *Store) findingsOf(ctx context.Context, source, where string, args ...any) ([]Finding, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT f.id, f.model_id, f.rule, f.file_sha256, f.location, f.severity,
			f.message, f.first_seen_at, fs.state, fs.reason, fs.expires_at, fs.set_by, fs.set_at
		FROM `+source+`
		LEFT JOIN finding_states fs ON fs.id = (SELECT max(id) FROM finding_states WHERE finding_id = f.id)
		WHERE `+where+` ORDER BY f.id`, args...)
	if err != nil {
		return nil, s.wrap(err)
	}
	defer rows.Close()
	now := s.stamp()
	var out []Finding
	for rows.Next() {
		var f Finding
		var sev string
		var first, exp, at dbTime
		var state, reason, by sql.NullString
		if err := rows.Scan(&f.ID, &f.ModelID, &f.Rule, &f.FileSHA256, &f.Location, &sev, &f.Message, &first,
			&state, &reason, &exp, &by, &at); err != nil {
			return nil, s.wrap(err)
		}
		if f.Severity, err = finding.ParseSeverity(sev); err != nil {
			return nil, fmt.Errorf("store: finding %d: %w", f.ID, err)
		}
		f.FirstSeenAt, f.State = first.T, StateOpen
		if state.Valid {
			f.Last = &FindingState{State: state.String, Reason: reason.String, ExpiresAt: exp.T, SetBy: by.String, SetAt: at.T}
			f.State = state.String
			if state.String == StateAcceptedRisk && !now.Before(exp.T) {
				f.State, f.Expired = StateOpen, true
			}
		}
		out = append(out, f)
	}
	return out, s.wrap(rows.Err())
}
