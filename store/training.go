package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Course topics.
var CourseTopics = []string{"threat-landscape", "regulatory", "ethical-ai", "incident-response", "role-specific"}

// Course is a training course of a team, with the roles that must take it.
type Course struct {
	ID     int64
	TeamID int64
	Title  string
	Topic  string
	// Roles must take it; a completion is valid for ValidDays.
	Roles     []string
	ValidDays int
	CreatedBy string
	CreatedAt time.Time
}

// Completion is one completion of a course by a user.
type Completion struct {
	ID          int64
	CourseID    int64
	UserID      int64
	CompletedAt time.Time
	ExpiresAt   time.Time
	RecordedBy  string
}

// TrainingDue is where a member who must take a course stands.
type TrainingDue struct {
	Course Course
	UserID int64
	Login  string
	// Role is the member's role that the course is due for.
	Role string
	// Last is the latest completion; nil when never completed.
	Last *Completion
	// Overdue is true when never completed or the last one expired.
	Overdue bool
}

// CreateCourse adds a course to a team.
func (s *Store) CreateCourse(ctx context.Context, a Actor, c Course) (Course, error) {
	if err := checkText("course title", c.Title); err != nil {
		return Course{}, err
	}
	if err := oneOf("topic", c.Topic, CourseTopics); err != nil {
		return Course{}, err
	}
	if len(c.Roles) == 0 || c.ValidDays < 1 || c.ValidDays > 1830 {
		return Course{}, fmt.Errorf("a course needs roles and a validity of 1 to 1830 days: %w", ErrInvalid)
	}
	for _, r := range c.Roles {
		if !isRole(r) {
			return Course{}, fmt.Errorf("role %q: %w", clip(r), ErrInvalid)
		}
	}
	c.Roles = slices.Compact(slices.Sorted(slices.Values(c.Roles)))
	c.CreatedBy, c.CreatedAt = a.Name, s.stamp()
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO courses (team_id, title, topic, roles, valid_days, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (team_id, title) DO NOTHING RETURNING id`,
			c.TeamID, c.Title, c.Topic, strings.Join(c.Roles, " "), c.ValidDays, c.CreatedBy, fmtTime(c.CreatedAt)).Scan(&c.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("course %q: %w", clip(c.Title), ErrExists)
		}
		if err != nil {
			return err
		}
		log.add("course.create", objectID("course", c.ID), map[string]any{"team": c.TeamID, "title": c.Title, "roles": c.Roles})
		return nil
	})
	if err != nil {
		return Course{}, err
	}
	return c, nil
}

func scanCourse(row scanner) (Course, error) {
	var c Course
	var roles string
	var at dbTime
	err := row.Scan(&c.ID, &c.TeamID, &c.Title, &c.Topic, &roles, &c.ValidDays, &c.CreatedBy, &at)
	c.Roles, c.CreatedAt = strings.Fields(roles), at.T
	return c, err
}

const courseSelect = `SELECT id, team_id, title, topic, roles, valid_days, created_by, created_at FROM courses`

// Courses lists a team's courses by title.
func (s *Store) Courses(ctx context.Context, teamID int64) ([]Course, error) {
	out, err := queryAll(ctx, s.rdb, scanCourse, courseSelect+` WHERE team_id = $1 ORDER BY title`, teamID)
	return out, s.wrap(err)
}

// Course returns a course.
func (s *Store) Course(ctx context.Context, id int64) (Course, error) {
	c, err := scanCourse(s.rdb.QueryRowContext(ctx, courseSelect+` WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Course{}, fmt.Errorf("store: course %d: %w", id, ErrNotFound)
	}
	return c, s.wrap(err)
}

// RecordCompletion records that a member of the course's team completed
// it at completedAt (not in the future); it is valid for the course's
// days.
func (s *Store) RecordCompletion(ctx context.Context, a Actor, courseID, userID int64, completedAt time.Time) (Completion, error) {
	now := s.stamp()
	completedAt = completedAt.UTC().Truncate(time.Microsecond)
	if completedAt.After(now) || completedAt.IsZero() {
		return Completion{}, fmt.Errorf("completion date %s: not in the future: %w", completedAt.Format(time.DateOnly), ErrInvalid)
	}
	c, err := s.Course(ctx, courseID)
	if err != nil {
		return Completion{}, err
	}
	done := Completion{CourseID: courseID, UserID: userID, CompletedAt: completedAt,
		ExpiresAt: completedAt.AddDate(0, 0, c.ValidDays), RecordedBy: a.Name}
	err = s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		var member int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM memberships WHERE team_id = $1 AND user_id = $2`,
			c.TeamID, userID).Scan(&member); err != nil {
			return err
		}
		if member == 0 {
			return fmt.Errorf("user %d is not a member of the course's team: %w", userID, ErrInvalid)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO training_completions (course_id, user_id, completed_at, expires_at, recorded_by)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, courseID, userID, fmtTime(done.CompletedAt), fmtTime(done.ExpiresAt),
			done.RecordedBy).Scan(&done.ID); err != nil {
			return err
		}
		log.add("training.complete", objectID("course", courseID), map[string]any{"user": userID,
			"completed_at": fmtTime(done.CompletedAt), "expires_at": fmtTime(done.ExpiresAt)})
		return nil
	})
	if err != nil {
		return Completion{}, err
	}
	return done, nil
}

// TrainingStatus lists, for each course of a team, each member who holds
// a role that must take it, with their latest completion: by course title
// and login.
func (s *Store) TrainingStatus(ctx context.Context, teamID int64) ([]TrainingDue, error) {
	courses, err := s.Courses(ctx, teamID)
	if err != nil {
		return nil, err
	}
	type member struct {
		id    int64
		login string
		role  string
	}
	members, err := queryAll(ctx, s.rdb, func(row scanner) (member, error) {
		var m member
		return m, row.Scan(&m.id, &m.login, &m.role)
	}, `SELECT u.id, u.login, m.role FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.team_id = $1 AND u.disabled_at IS NULL ORDER BY u.login`, teamID)
	if err != nil {
		return nil, s.wrap(err)
	}
	now := s.stamp()
	var out []TrainingDue
	for _, c := range courses {
		seen := map[int64]bool{}
		for _, m := range members {
			if seen[m.id] || !slices.Contains(c.Roles, m.role) {
				continue
			}
			seen[m.id] = true
			due := TrainingDue{Course: c, UserID: m.id, Login: m.login, Role: m.role, Overdue: true}
			last, err := scanCompletion(s.rdb.QueryRowContext(ctx, `SELECT id, course_id, user_id, completed_at, expires_at, recorded_by
				FROM training_completions WHERE course_id = $1 AND user_id = $2 ORDER BY completed_at DESC, id DESC LIMIT 1`, c.ID, m.id))
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return nil, s.wrap(err)
			default:
				due.Last, due.Overdue = &last, !now.Before(last.ExpiresAt)
			}
			out = append(out, due)
		}
	}
	return out, nil
}

func scanCompletion(row scanner) (Completion, error) {
	var c Completion
	var done, exp dbTime
	err := row.Scan(&c.ID, &c.CourseID, &c.UserID, &done, &exp, &c.RecordedBy)
	c.CompletedAt, c.ExpiresAt = done.T, exp.T
	return c, err
}

// Procurement review kinds, decisions and the questions of the
// questionnaire.
var (
	ProcurementKinds     = []string{"llm-api", "vendor-model", "hub-model", "dataset", "other"}
	ProcurementDecisions = []string{"pending", "approved", "approved-with-conditions", "rejected"}
	// ProcurementQuestions are the questionnaire's keys, in order.
	ProcurementQuestions = []string{"data_use", "retention", "hosting_region", "security_attestations",
		"provenance_signing", "incident_notification"}
)

// ProcurementReview is the review of a third-party AI product.
type ProcurementReview struct {
	ID      int64
	TeamID  int64
	Vendor  string
	Product string
	Kind    string
	// Answers are the questionnaire's answers, by question.
	Answers    map[string]string
	Decision   string
	Conditions string
	DecidedBy  string
	DecidedAt  time.Time
	CreatedBy  string
	CreatedAt  time.Time
	// Models are the ids of the team's models the review covers.
	Models []int64
}

// Approved reports whether the decision lets the product be used.
func (r ProcurementReview) Approved() bool {
	return r.Decision == "approved" || r.Decision == "approved-with-conditions"
}

// CreateProcurementReview records a pending review of a vendor's product
// for a team, covering some of its models.
func (s *Store) CreateProcurementReview(ctx context.Context, a Actor, r ProcurementReview) (ProcurementReview, error) {
	if err := checkText("vendor", r.Vendor); err != nil {
		return ProcurementReview{}, err
	}
	if err := checkText("product", r.Product); err != nil {
		return ProcurementReview{}, err
	}
	if err := oneOf("kind", r.Kind, ProcurementKinds); err != nil {
		return ProcurementReview{}, err
	}
	for q, ans := range r.Answers {
		if err := oneOf("question", q, ProcurementQuestions); err != nil {
			return ProcurementReview{}, err
		}
		if err := checkText("reason", ans); err != nil {
			return ProcurementReview{}, err
		}
	}
	answers, err := json.Marshal(r.Answers)
	if err != nil {
		return ProcurementReview{}, err
	}
	r.Decision, r.Conditions, r.CreatedBy, r.CreatedAt = "pending", "", a.Name, s.stamp()
	r.Models = slices.Compact(slices.Sorted(slices.Values(r.Models)))
	err = s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO procurement_reviews
			(team_id, vendor, product, kind, answers, decision, conditions, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, r.TeamID, r.Vendor, r.Product, r.Kind, string(answers),
			r.Decision, r.Conditions, r.CreatedBy, fmtTime(r.CreatedAt)).Scan(&r.ID); err != nil {
			return err
		}
		for _, m := range r.Models {
			var team int64
			if err := tx.QueryRowContext(ctx, `SELECT team_id FROM models WHERE id = $1`, m).Scan(&team); err != nil || team != r.TeamID {
				return fmt.Errorf("model %d is not a model of the review's team: %w", m, ErrInvalid)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO procurement_models (review_id, model_id) VALUES ($1, $2)`, r.ID, m); err != nil {
				return err
			}
		}
		log.add("procurement.create", objectID("procurement", r.ID), map[string]any{"team": r.TeamID, "vendor": r.Vendor,
			"product": r.Product, "kind": r.Kind, "models": r.Models})
		return nil
	})
	if err != nil {
		return ProcurementReview{}, err
	}
	return r, nil
}

// DecideProcurementReview records the decision of a review: approved,
// approved-with-conditions (with the conditions) or rejected. A later
// decision replaces it; the audit log keeps each.
func (s *Store) DecideProcurementReview(ctx context.Context, a Actor, id int64, decision, conditions string) (ProcurementReview, error) {
	if err := oneOf("decision", decision, ProcurementDecisions[1:]); err != nil {
		return ProcurementReview{}, err
	}
	if err := checkText("reason", conditions); err != nil {
		return ProcurementReview{}, err
	}
	if decision == "approved-with-conditions" && strings.TrimSpace(conditions) == "" {
		return ProcurementReview{}, fmt.Errorf("an approval with conditions names them: %w", ErrInvalid)
	}
	now := s.stamp()
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		res, err := tx.ExecContext(ctx, `UPDATE procurement_reviews SET decision = $1, conditions = $2, decided_by = $3, decided_at = $4
			WHERE id = $5`, decision, conditions, a.Name, fmtTime(now), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("store: procurement review %d: %w", id, ErrNotFound)
		}
		log.add("procurement.decide", objectID("procurement", id), map[string]any{"decision": decision, "conditions": conditions})
		return nil
	})
	if err != nil {
		return ProcurementReview{}, err
	}
	return s.ProcurementReview(ctx, id)
}

const reviewSelect = `SELECT id, team_id, vendor, product, kind, answers, decision, conditions, decided_by, decided_at,
		created_by, created_at FROM procurement_reviews`

func (s *Store) scanReviews(ctx context.Context, where string, args ...any) ([]ProcurementReview, error) {
	out, err := queryAll(ctx, s.rdb, func(row scanner) (ProcurementReview, error) {
		var r ProcurementReview
		var answers string
		var by sql.NullString
		var decided, created dbTime
		err := row.Scan(&r.ID, &r.TeamID, &r.Vendor, &r.Product, &r.Kind, &answers, &r.Decision, &r.Conditions, &by,
			&decided, &r.CreatedBy, &created)
		if err == nil {
			err = json.Unmarshal([]byte(answers), &r.Answers)
		}
		r.DecidedBy, r.DecidedAt, r.CreatedAt = by.String, decided.T, created.T
		return r, err
	}, reviewSelect+` WHERE `+where+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, s.wrap(err)
	}
	for i := range out {
		if out[i].Models, err = queryAll(ctx, s.rdb, func(row scanner) (int64, error) {
			var id int64
			return id, row.Scan(&id)
		}, `SELECT model_id FROM procurement_models WHERE review_id = $1 ORDER BY model_id`, out[i].ID); err != nil {
			return nil, s.wrap(err)
		}
	}
	return out, nil
}

// ProcurementReviews lists a team's procurement reviews, newest first.
func (s *Store) ProcurementReviews(ctx context.Context, teamID int64) ([]ProcurementReview, error) {
	return s.scanReviews(ctx, `team_id = $1`, teamID)
}

// ProcurementReview returns a procurement review.
func (s *Store) ProcurementReview(ctx context.Context, id int64) (ProcurementReview, error) {
	rs, err := s.scanReviews(ctx, `id = $1`, id)
	if err != nil {
		return ProcurementReview{}, err
	}
	if len(rs) == 0 {
		return ProcurementReview{}, fmt.Errorf("store: procurement review %d: %w", id, ErrNotFound)
	}
	return rs[0], nil
}

// ProcurementApproved reports whether a review that covers the model is
// approved (with or without conditions).
func (s *Store) ProcurementApproved(ctx context.Context, modelID int64) (bool, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM procurement_models pm JOIN procurement_reviews r ON r.id = pm.review_id
		WHERE pm.model_id = $1 AND r.decision IN ('approved', 'approved-with-conditions')`, modelID).Scan(&n)
	return n > 0, s.wrap(err)
}
