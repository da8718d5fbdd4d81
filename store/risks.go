package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Risk categories: what kind of harm a risk of the register is about.
const (
	RiskSecurity        = "security"
	RiskPrivacy         = "privacy"          // de-anonymization, re-identification, data residency of personal data
	RiskEthicsBias      = "ethics-bias"      // unfair decisions (credit, hiring)
	RiskUsability       = "usability"        // people misreading or misusing the system
	RiskLegalRegulatory = "legal-regulatory" // EU AI Act category, contracts, data residency
	RiskOther           = "other"
)

// RiskCategories lists the categories, in the order forms show them.
func RiskCategories() []string {
	return []string{RiskSecurity, RiskPrivacy, RiskEthicsBias, RiskUsability, RiskLegalRegulatory, RiskOther}
}

// Risk treatments.
const (
	TreatMitigate = "mitigate"
	TreatAccept   = "accept"
	TreatTransfer = "transfer"
	TreatAvoid    = "avoid"
)

// RiskTreatments lists the treatments.
func RiskTreatments() []string {
	return []string{TreatMitigate, TreatAccept, TreatTransfer, TreatAvoid}
}

// Risk statuses.
const (
	RiskOpen        = "open"
	RiskInTreatment = "in-treatment"
	RiskClosed      = "closed"
)

// RiskStatuses lists the statuses.
func RiskStatuses() []string { return []string{RiskOpen, RiskInTreatment, RiskClosed} }

// MaxReviewAhead is how far ahead a review date may be: a risk is looked
// at again at least this often.
const MaxReviewAhead = 3 * 366 * 24 * time.Hour

// earliestReview is the earliest review date taken (a register brought
// from a spreadsheet may be overdue already, not from another century).
var earliestReview = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Risk is an entry of a team's risk register.
type Risk struct {
	ID     int64
	TeamID int64
	// ModelID links the risk to a model of the team; 0 for none.
	ModelID     int64
	Category    string
	Title       string
	Description string
	// OwnerRole is the role that answers for the risk.
	OwnerRole Role
	// Likelihood and Impact are 1 (lowest) to 5 (highest).
	Likelihood, Impact int
	Treatment          string
	Plan               string
	// ReviewBy is the date (midnight UTC) by which the risk is reviewed.
	ReviewBy  time.Time
	Status    string
	CreatedBy string
	CreatedAt time.Time
	UpdatedBy string
	UpdatedAt time.Time
}

// Score is likelihood times impact, 1 to 25.
func (r Risk) Score() int { return r.Likelihood * r.Impact }

// Overdue reports whether the risk is not closed and its review date is
// before the day of now (UTC).
func (r Risk) Overdue(now time.Time) bool {
	today := now.UTC().Truncate(24 * time.Hour)
	return r.Status != RiskClosed && r.ReviewBy.Before(today)
}

// checkRisk checks a risk's fields (not its ids) and sets ReviewBy to its
// day.
func (s *Store) checkRisk(r *Risk) error {
	if err := oneOf("risk category", r.Category, RiskCategories()); err != nil {
		return err
	}
	if err := checkText("risk title", r.Title); err != nil {
		return err
	}
	if err := checkText("risk text", r.Description); err != nil {
		return err
	}
	if err := checkRole(r.OwnerRole); err != nil {
		return err
	}
	if r.Likelihood < 1 || r.Likelihood > 5 || r.Impact < 1 || r.Impact > 5 {
		return fmt.Errorf("likelihood %d, impact %d: each is 1 to 5: %w", r.Likelihood, r.Impact, ErrInvalid)
	}
	if err := oneOf("risk treatment", r.Treatment, RiskTreatments()); err != nil {
		return err
	}
	if err := checkText("risk text", r.Plan); err != nil {
		return err
	}
	if err := oneOf("risk status", r.Status, RiskStatuses()); err != nil {
		return err
	}
	r.ReviewBy = r.ReviewBy.UTC().Truncate(24 * time.Hour)
	if r.ReviewBy.Before(earliestReview) || r.ReviewBy.Sub(s.stamp()) > MaxReviewAhead {
		return fmt.Errorf("review date %s: from 2000 to at most 3 years ahead: %w", r.ReviewBy.Format(time.DateOnly), ErrInvalid)
	}
	return nil
}

// checkRiskModel checks, in tx, that modelID (when not 0) is a model of
// the team: a model of another team is not found.
func checkRiskModel(ctx context.Context, tx *sql.Tx, teamID, modelID int64) error {
	if modelID == 0 {
		return nil
	}
	var team int64
	err := tx.QueryRowContext(ctx, `SELECT team_id FROM models WHERE id = $1`, modelID).Scan(&team)
	if errors.Is(err, sql.ErrNoRows) || err == nil && team != teamID {
		return fmt.Errorf("store: model %d of team %d: %w", modelID, teamID, ErrNotFound)
	}
	return err
}

// riskFields are the fields of a risk that its audit records show.
func riskFields(r Risk) map[string]any {
	return map[string]any{"model": r.ModelID, "category": r.Category, "title": r.Title, "description": r.Description,
		"owner_role": string(r.OwnerRole), "likelihood": r.Likelihood, "impact": r.Impact, "treatment": r.Treatment,
		"plan": r.Plan, "review_by": r.ReviewBy.Format(time.DateOnly), "status": r.Status}
}

// CreateRisk adds a risk to a team's register (r.TeamID; a missing team,
// or a model that is not the team's, is ErrNotFound). One audit record,
// "risk.create", holds every field.
func (s *Store) CreateRisk(ctx context.Context, a Actor, r Risk) (Risk, error) {
	if err := s.checkRisk(&r); err != nil {
		return Risk{}, err
	}
	now := s.stamp()
	r.ID, r.CreatedBy, r.CreatedAt, r.UpdatedBy, r.UpdatedAt = 0, a.Name, now, a.Name, now
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		if err := checkRiskModel(ctx, tx, r.TeamID, r.ModelID); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO risks (team_id, model_id, category, title, description,
				owner_role, likelihood, impact, treatment, plan, review_by, status, created_by, created_at, updated_by, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
			r.TeamID, nullID(r.ModelID), r.Category, r.Title, r.Description, string(r.OwnerRole), r.Likelihood, r.Impact,
			r.Treatment, r.Plan, fmtTime(r.ReviewBy), r.Status, a.Name, fmtTime(now), a.Name, fmtTime(now)).Scan(&r.ID); err != nil {
			return err
		}
		detail := riskFields(r)
		detail["team"] = r.TeamID
		log.add("risk.create", objectID("risk", r.ID), detail)
		return nil
	})
	if err != nil {
		return Risk{}, err
	}
	return r, nil
}

// UpdateRisk sets the fields of the risk r.ID, which must be of team
// r.TeamID (another team's risk is ErrNotFound). Its audit record,
// "risk.update", holds each changed field as [before, after]; a change
// that changes nothing records nothing and returns the risk as stored.
func (s *Store) UpdateRisk(ctx context.Context, a Actor, r Risk) (Risk, error) {
	if err := s.checkRisk(&r); err != nil {
		return Risk{}, err
	}
	now := s.stamp()
	var out Risk
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		old, err := scanRisk(tx.QueryRowContext(ctx, `SELECT `+riskColumns+` FROM risks WHERE id = $1`, r.ID))
		if errors.Is(err, sql.ErrNoRows) || err == nil && old.TeamID != r.TeamID {
			return fmt.Errorf("store: risk %d: %w", r.ID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := checkRiskModel(ctx, tx, r.TeamID, r.ModelID); err != nil {
			return err
		}
		changes := diffFields(riskFields(old), riskFields(r))
		if len(changes) == 0 {
			out = old
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE risks SET model_id = $1, category = $2, title = $3, description = $4,
				owner_role = $5, likelihood = $6, impact = $7, treatment = $8, plan = $9, review_by = $10, status = $11,
				updated_by = $12, updated_at = $13 WHERE id = $14`,
			nullID(r.ModelID), r.Category, r.Title, r.Description, string(r.OwnerRole), r.Likelihood, r.Impact,
			r.Treatment, r.Plan, fmtTime(r.ReviewBy), r.Status, a.Name, fmtTime(now), r.ID); err != nil {
			return err
		}
		log.add("risk.update", objectID("risk", r.ID), map[string]any{"changes": changes})
		out = r
		out.CreatedBy, out.CreatedAt, out.UpdatedBy, out.UpdatedAt = old.CreatedBy, old.CreatedAt, a.Name, now
		return nil
	})
	if err != nil {
		return Risk{}, err
	}
	return out, nil
}

// diffFields returns the fields whose values differ, each as [before,
// after].
func diffFields(before, after map[string]any) map[string]any {
	out := map[string]any{}
	for k, b := range before {
		if a := after[k]; a != b {
			out[k] = []any{b, a}
		}
	}
	return out
}

// nullID is NULL for the id 0.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

const riskColumns = `id, team_id, model_id, category, title, description, owner_role, likelihood, impact, treatment,
	plan, review_by, status, created_by, created_at, updated_by, updated_at`

func scanRisk(row scanner) (Risk, error) {
	var r Risk
	var model sql.NullInt64
	var role string
	var review, created, updated dbTime
	err := row.Scan(&r.ID, &r.TeamID, &model, &r.Category, &r.Title, &r.Description, &role, &r.Likelihood, &r.Impact,
		&r.Treatment, &r.Plan, &review, &r.Status, &r.CreatedBy, &created, &r.UpdatedBy, &updated)
	r.ModelID, r.OwnerRole = model.Int64, Role(role)
	r.ReviewBy, r.CreatedAt, r.UpdatedAt = review.T, created.T, updated.T
	return r, err
}

// Risk returns a risk by id.
func (s *Store) Risk(ctx context.Context, id int64) (Risk, error) {
	r, err := scanRisk(s.rdb.QueryRowContext(ctx, `SELECT `+riskColumns+` FROM risks WHERE id = $1`, id))
	return r, s.wrap(err)
}

// Risks lists a team's risks, the earliest review date first (then by id).
func (s *Store) Risks(ctx context.Context, teamID int64) ([]Risk, error) {
	out, err := queryAll(ctx, s.rdb, scanRisk,
		`SELECT `+riskColumns+` FROM risks WHERE team_id = $1 ORDER BY review_by, id`, teamID)
	return out, s.wrap(err)
}
