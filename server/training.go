package server

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// The JSON shapes of training and procurement (openapi.json).
type (
	courseJSON struct {
		ID        int64     `json:"id"`
		Title     string    `json:"title"`
		Topic     string    `json:"topic"`
		Roles     []string  `json:"roles"`
		ValidDays int       `json:"valid_days"`
		CreatedBy string    `json:"created_by"`
		CreatedAt time.Time `json:"created_at"`
	}
	trainingDueJSON struct {
		Course      string     `json:"course"`
		CourseID    int64      `json:"course_id"`
		Login       string     `json:"login"`
		CompletedAt *time.Time `json:"completed_at,omitempty"`
		ExpiresAt   *time.Time `json:"expires_at,omitempty"`
		Overdue     bool       `json:"overdue"`
	}
	reviewJSON struct {
		ID         int64             `json:"id"`
		Vendor     string            `json:"vendor"`
		Product    string            `json:"product"`
		Kind       string            `json:"kind"`
		Answers    map[string]string `json:"answers"`
		Decision   string            `json:"decision"`
		Conditions string            `json:"conditions,omitempty"`
		DecidedBy  string            `json:"decided_by,omitempty"`
		DecidedAt  *time.Time        `json:"decided_at,omitempty"`
		Models     []string          `json:"models"`
		CreatedBy  string            `json:"created_by"`
		CreatedAt  time.Time         `json:"created_at"`
	}
)

func toCourse(c store.Course) courseJSON {
	return courseJSON{c.ID, c.Title, c.Topic, c.Roles, c.ValidDays, c.CreatedBy, c.CreatedAt}
}

func (s *Server) listCourses(c *call) error {
	list, err := s.st.Courses(c.ctx, c.token.TeamID)
	if err != nil {
		return err
	}
	return paginate(c, list, toCourse)
}

func (s *Server) createCourse(c *call) error {
	var in struct {
		Title     string   `json:"title"`
		Topic     string   `json:"topic"`
		Roles     []string `json:"roles"`
		ValidDays int      `json:"valid_days"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	course, err := s.st.CreateCourse(c.ctx, c.actor, store.Course{TeamID: c.token.TeamID, Title: in.Title, Topic: in.Topic,
		Roles: in.Roles, ValidDays: in.ValidDays})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, toCourse(course))
	return nil
}

// course is the request's {course} of the token's team; another team's
// is 404.
func (s *Server) course(c *call) (store.Course, error) {
	id, err := strconv.ParseInt(c.r.PathValue("course"), 10, 64)
	if err == nil && id > 0 {
		course, err := s.st.Course(c.ctx, id)
		if err == nil && course.TeamID == c.token.TeamID {
			return course, nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.Course{}, err
		}
	}
	return store.Course{}, fail(http.StatusNotFound, "not_found", "course %q: not found", clipText(c.r.PathValue("course")))
}

// recordCompletion records {"login","completed_at"} for a course.
func (s *Server) recordCompletion(c *call) error {
	course, err := s.course(c)
	if err != nil {
		return err
	}
	var in struct {
		Login       string    `json:"login"`
		CompletedAt time.Time `json:"completed_at"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	u, err := s.st.UserByLogin(c.ctx, in.Login)
	if errors.Is(err, store.ErrNotFound) {
		return fail(http.StatusUnprocessableEntity, "invalid", "user %q: not a member of the team", clipText(in.Login))
	}
	if err != nil {
		return err
	}
	done, err := s.st.RecordCompletion(c.ctx, c.actor, course.ID, u.ID, in.CompletedAt)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, trainingDueJSON{Course: course.Title, CourseID: course.ID, Login: u.Login,
		CompletedAt: &done.CompletedAt, ExpiresAt: &done.ExpiresAt})
	return nil
}

// trainingStatus lists who must take which course and where they stand;
// ?overdue=true keeps those overdue.
func (s *Server) trainingStatus(c *call) error {
	list, err := s.st.TrainingStatus(c.ctx, c.token.TeamID)
	if err != nil {
		return err
	}
	if c.r.URL.Query().Get("overdue") == "true" {
		list = slices.DeleteFunc(list, func(d store.TrainingDue) bool { return !d.Overdue })
	}
	return paginate(c, list, func(d store.TrainingDue) trainingDueJSON {
		out := trainingDueJSON{Course: d.Course.Title, CourseID: d.Course.ID, Login: d.Login, Overdue: d.Overdue}
		if d.Last != nil {
			out.CompletedAt, out.ExpiresAt = &d.Last.CompletedAt, &d.Last.ExpiresAt
		}
		return out
	})
}

// toReview names a review's models.
func (s *Server) toReview(c *call, r store.ProcurementReview) (reviewJSON, error) {
	out := reviewJSON{ID: r.ID, Vendor: r.Vendor, Product: r.Product, Kind: r.Kind, Answers: r.Answers, Decision: r.Decision,
		Conditions: r.Conditions, DecidedBy: r.DecidedBy, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, Models: []string{}}
	if out.Answers == nil {
		out.Answers = map[string]string{}
	}
	if !r.DecidedAt.IsZero() {
		out.DecidedAt = &r.DecidedAt
	}
	for _, id := range r.Models {
		m, err := s.st.Model(c.ctx, id)
		if err != nil {
			return out, err
		}
		out.Models = append(out.Models, m.Name)
	}
	return out, nil
}

func (s *Server) listReviews(c *call) error {
	list, err := s.st.ProcurementReviews(c.ctx, c.token.TeamID)
	if err != nil {
		return err
	}
	out := make([]reviewJSON, 0, len(list))
	for _, r := range list {
		j, err := s.toReview(c, r)
		if err != nil {
			return err
		}
		out = append(out, j)
	}
	return paginate(c, out, func(r reviewJSON) reviewJSON { return r })
}

// createReview records a pending review:
// {"vendor","product","kind","answers":{question: answer},"models":[names]}.
func (s *Server) createReview(c *call) error {
	var in struct {
		Vendor  string            `json:"vendor"`
		Product string            `json:"product"`
		Kind    string            `json:"kind"`
		Answers map[string]string `json:"answers"`
		Models  []string          `json:"models"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	r := store.ProcurementReview{TeamID: c.token.TeamID, Vendor: in.Vendor, Product: in.Product, Kind: in.Kind, Answers: in.Answers}
	for _, name := range in.Models {
		m, err := s.modelByName(c, name, false)
		if err != nil {
			return err
		}
		r.Models = append(r.Models, m.ID)
	}
	r, err := s.st.CreateProcurementReview(c.ctx, c.actor, r)
	if err != nil {
		return err
	}
	out, err := s.toReview(c, r)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, out)
	return nil
}

// decideReview records {"decision","conditions"} on a review of the
// token's team.
func (s *Server) decideReview(c *call) error {
	r, err := teamOwned(c, "review", s.st.ProcurementReview, func(r store.ProcurementReview) int64 { return r.TeamID })
	if err != nil {
		return err
	}
	var in struct {
		Decision   string `json:"decision"`
		Conditions string `json:"conditions"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if r, err = s.st.DecideProcurementReview(c.ctx, c.actor, r.ID, in.Decision, in.Conditions); err != nil {
		return err
	}
	out, err := s.toReview(c, r)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}
