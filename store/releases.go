package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Release decisions.
const (
	DecisionApprove = "approve"
	DecisionReject  = "reject"
)

// Release is a release request of a model version: the roles in Required
// must approve it (package release judges the decisions).
type Release struct {
	ID        int64
	VersionID int64
	ModelID   int64
	TeamID    int64
	// Model and Digest name the version.
	Model  string
	Digest string
	Title  string
	// Tier is the risk tier (low, medium, high); ThirdParty marks a model
	// the team did not train.
	Tier       string
	ThirdParty bool
	// Required are the roles that must approve, sorted, fixed when the
	// release was requested.
	Required    []string
	RequestedBy string
	RequestedAt time.Time
}

// ReleaseDecision is one decision on a release.
type ReleaseDecision struct {
	ID        int64
	ReleaseID int64
	// Role is the role decided for; the decider holds it in the team.
	Role     string
	Decision string
	Reason   string
	// Digest is the version the decider decided about: the release's.
	Digest string
	// DecidedBy is the decider's login.
	DecidedBy string
	DecidedAt time.Time
	// Signature is the decider's attestation of the decision (JSON), nil
	// when unsigned; the caller checked that it signs this decision.
	Signature []byte
}

// CreateRelease requests the release of a version, with the roles that
// must approve it. A third-party model's release needs an approved
// procurement review that covers the model.
func (s *Store) CreateRelease(ctx context.Context, a Actor, r Release) (Release, error) {
	if err := checkText("release title", r.Title); err != nil {
		return Release{}, err
	}
	if err := oneOf("tier", r.Tier, []string{"low", "medium", "high"}); err != nil {
		return Release{}, err
	}
	if len(r.Required) == 0 {
		return Release{}, fmt.Errorf("a release needs at least one required role: %w", ErrInvalid)
	}
	for _, role := range r.Required {
		if !isRole(role) {
			return Release{}, fmt.Errorf("required role %q: %w", clip(role), ErrInvalid)
		}
	}
	r.Required = slices.Compact(slices.Sorted(slices.Values(r.Required)))
	r.RequestedBy, r.RequestedAt = a.Name, s.stamp()
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		if err := tx.QueryRowContext(ctx, `SELECT m.id, m.team_id, m.name, v.digest FROM model_versions v
			JOIN models m ON m.id = v.model_id WHERE v.id = $1`, r.VersionID).Scan(&r.ModelID, &r.TeamID, &r.Model, &r.Digest); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: version %d: %w", r.VersionID, ErrNotFound)
			}
			return err
		}
		third := 0
		if r.ThirdParty {
			third = 1
			var approved int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM procurement_models pm
				JOIN procurement_reviews pr ON pr.id = pm.review_id
				WHERE pm.model_id = $1 AND pr.decision IN ('approved', 'approved-with-conditions')`, r.ModelID).Scan(&approved); err != nil {
				return err
			}
			if approved == 0 {
				return fmt.Errorf("%s is a third-party model: its release needs an approved procurement review of it: %w", r.Model, ErrInvalid)
			}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO releases
			(version_id, title, tier, third_party, required_roles, requested_by, requested_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, r.VersionID, r.Title, r.Tier, third,
			strings.Join(r.Required, " "), r.RequestedBy, fmtTime(r.RequestedAt)).Scan(&r.ID); err != nil {
			return err
		}
		log.add("release.create", objectID("release", r.ID), map[string]any{"version": r.VersionID, "digest": r.Digest,
			"tier": r.Tier, "third_party": r.ThirdParty, "required": r.Required})
		return releaseWaiting(ctx, tx, log, r)
	})
	if err != nil {
		return Release{}, err
	}
	return r, nil
}

func isRole(r string) bool {
	return slices.Contains(Roles(), Role(r))
}

// releaseSelect selects Release's columns; scanRelease reads them.
const releaseSelect = `SELECT r.id, r.version_id, m.id, m.team_id, m.name, v.digest, r.title, r.tier, r.third_party,
		r.required_roles, r.requested_by, r.requested_at
	FROM releases r JOIN model_versions v ON v.id = r.version_id JOIN models m ON m.id = v.model_id`

func scanRelease(row scanner) (Release, error) {
	var r Release
	var third int
	var required string
	var at dbTime
	err := row.Scan(&r.ID, &r.VersionID, &r.ModelID, &r.TeamID, &r.Model, &r.Digest, &r.Title, &r.Tier, &third,
		&required, &r.RequestedBy, &at)
	r.ThirdParty, r.Required, r.RequestedAt = third == 1, strings.Fields(required), at.T
	return r, err
}

// Release returns a release request.
func (s *Store) Release(ctx context.Context, id int64) (Release, error) {
	r, err := scanRelease(s.rdb.QueryRowContext(ctx, releaseSelect+` WHERE r.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Release{}, fmt.Errorf("store: release %d: %w", id, ErrNotFound)
	}
	return r, s.wrap(err)
}

// Releases lists a team's release requests, newest first; digest, when
// not "", keeps those of that version digest.
func (s *Store) Releases(ctx context.Context, teamID int64, digest string) ([]Release, error) {
	q, args := releaseSelect+` WHERE m.team_id = $1`, []any{teamID}
	if digest != "" {
		q, args = q+` AND v.digest = $2`, append(args, digest)
	}
	out, err := queryAll(ctx, s.rdb, scanRelease, q+` ORDER BY r.id DESC`, args...)
	return out, s.wrap(err)
}

// DecideRelease records the decision of user userID on a release. The
// user must hold d.Role in the release's team, the role must be one the
// release requires, the decision must be about the release's digest, and
// one person decides for one role of a release (a second role is
// ErrConflict: required approvals come from as many people).
func (s *Store) DecideRelease(ctx context.Context, a Actor, userID int64, d ReleaseDecision) (ReleaseDecision, error) {
	if err := oneOf("decision", d.Decision, []string{DecisionApprove, DecisionReject}); err != nil {
		return ReleaseDecision{}, err
	}
	if err := checkText("reason", d.Reason); err != nil {
		return ReleaseDecision{}, err
	}
	if strings.TrimSpace(d.Reason) == "" {
		return ReleaseDecision{}, fmt.Errorf("a decision needs a reason: %w", ErrInvalid)
	}
	if len(d.Signature) > MaxEvidenceSize {
		return ReleaseDecision{}, fmt.Errorf("signature: %w", ErrTooLarge)
	}
	r, err := s.Release(ctx, d.ReleaseID)
	if err != nil {
		return ReleaseDecision{}, err
	}
	switch {
	case !slices.Contains(r.Required, d.Role):
		return ReleaseDecision{}, fmt.Errorf("release %d does not require the role %q (it requires %s): %w",
			r.ID, clip(d.Role), strings.Join(r.Required, ", "), ErrInvalid)
	case d.Digest != r.Digest:
		return ReleaseDecision{}, fmt.Errorf("the decision is about %s; release %d is of %s: %w", clip(d.Digest), r.ID, r.Digest, ErrInvalid)
	}
	d.DecidedAt = s.stamp()
	err = s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		var holds int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM memberships WHERE team_id = $1 AND user_id = $2 AND role = $3`,
			r.TeamID, userID, d.Role).Scan(&holds); err != nil {
			return err
		}
		if holds == 0 {
			return fmt.Errorf("the user does not hold the role %s in the release's team: %w", d.Role, ErrInvalid)
		}
		if err := tx.QueryRowContext(ctx, `SELECT login FROM users WHERE id = $1`, userID).Scan(&d.DecidedBy); err != nil {
			return err
		}
		var other sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT min(role) FROM release_decisions
			WHERE release_id = $1 AND decided_by = $2 AND role <> $3`, r.ID, d.DecidedBy, d.Role).Scan(&other); err != nil {
			return err
		}
		if other.Valid {
			return fmt.Errorf("%s decided for the role %s on release %d already: one person gives one role's decision: %w",
				d.DecidedBy, other.String, r.ID, ErrConflict)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO release_decisions
			(release_id, role, decision, reason, digest, decided_by, actor, decided_at, signature)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, r.ID, d.Role, d.Decision, d.Reason, d.Digest,
			d.DecidedBy, a.Name, fmtTime(d.DecidedAt), nullBytes(d.Signature)).Scan(&d.ID); err != nil {
			return err
		}
		log.add("release."+d.Decision, objectID("release", r.ID), map[string]any{"decision": d.ID, "role": d.Role,
			"digest": d.Digest, "by": d.DecidedBy, "reason": d.Reason, "signed": len(d.Signature) > 0})
		if d.Decision == DecisionApprove {
			return releaseWaiting(ctx, tx, log, r)
		}
		return nil
	})
	if err != nil {
		return ReleaseDecision{}, err
	}
	return d, nil
}

// nullBytes is b, or NULL when empty.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// ReleaseDecisions lists a release's decisions, oldest first.
func (s *Store) ReleaseDecisions(ctx context.Context, releaseID int64) ([]ReleaseDecision, error) {
	out, err := queryAll(ctx, s.rdb, scanReleaseDecision, `SELECT `+decisionColumns+`
		FROM release_decisions d WHERE d.release_id = $1 ORDER BY d.id`, releaseID)
	return out, s.wrap(err)
}

// teamReleaseDecisions lists the decisions on every release of a team, by
// release id, oldest first: one query, where the metrics need them all.
func (s *Store) teamReleaseDecisions(ctx context.Context, teamID int64) (map[int64][]ReleaseDecision, error) {
	all, err := queryAll(ctx, s.rdb, scanReleaseDecision, `SELECT `+decisionColumns+`
		FROM release_decisions d JOIN releases r ON r.id = d.release_id
		JOIN model_versions v ON v.id = r.version_id JOIN models m ON m.id = v.model_id
		WHERE m.team_id = $1 ORDER BY d.id`, teamID)
	if err != nil {
		return nil, s.wrap(err)
	}
	out := map[int64][]ReleaseDecision{}
	for _, d := range all {
		out[d.ReleaseID] = append(out[d.ReleaseID], d)
	}
	return out, nil
}

const decisionColumns = `d.id, d.release_id, d.role, d.decision, d.reason, d.digest, d.decided_by, d.decided_at, d.signature`

func scanReleaseDecision(row scanner) (ReleaseDecision, error) {
	var d ReleaseDecision
	var at dbTime
	err := row.Scan(&d.ID, &d.ReleaseID, &d.Role, &d.Decision, &d.Reason, &d.Digest, &d.DecidedBy, &at, &d.Signature)
	d.DecidedAt = at.T
	return d, err
}
