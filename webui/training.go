package webui

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// teamTraining is one team's courses and who stands where.
type teamTraining struct {
	Team      store.Team
	Courses   []store.Course
	Status    []store.TrainingDue
	Overdue   int
	CanManage bool
}

// trainingData is the training page.
type trainingData struct {
	Teams  []teamTraining
	Topics []string
	Roles  []store.Role
	Today  string
}

func (u *ui) trainingOf(ctx context.Context, v *viewer) (trainingData, error) {
	d := trainingData{Topics: store.CourseTopics, Roles: store.Roles(), Today: u.opts.Now().UTC().Format(time.DateOnly)}
	for _, id := range slices.Sorted(maps.Keys(v.teamNames)) {
		if !v.may(id, store.PermRead) {
			continue
		}
		t := teamTraining{Team: store.Team{ID: id, Name: v.teamNames[id]}, CanManage: v.may(id, store.PermTraining)}
		var err error
		if t.Courses, err = u.st.Courses(ctx, id); err != nil {
			return d, err
		}
		if t.Status, err = u.st.TrainingStatus(ctx, id); err != nil {
			return d, err
		}
		for _, s := range t.Status {
			if s.Overdue {
				t.Overdue++
			}
		}
		d.Teams = append(d.Teams, t)
	}
	return d, nil
}

// trainingPage is the page of the teams' courses and completions.
func (u *ui) trainingPage() teamPage {
	return teamPage{"training", "Training", "/training", func(ctx context.Context, v *viewer) (any, error) { return u.trainingOf(ctx, v) }}
}

func (u *ui) training(w http.ResponseWriter, r *http.Request, v *viewer) {
	u.showTeamPage(w, r, v, u.trainingPage(), http.StatusOK, "")
}

// trainingPost adds a course (action "course") or records a completion
// (action "complete") in a team where the viewer may.
func (u *ui) trainingPost(w http.ResponseWriter, r *http.Request, v *viewer) {
	team, ok := u.formTeam(w, r, v, store.PermTraining, "Your role in this team may not keep its training records.")
	if !ok {
		return
	}
	var err error
	a := actor(r, v)
	switch r.PostForm.Get("action") {
	case "course":
		days, _ := strconv.Atoi(r.PostForm.Get("valid_days"))
		_, err = u.st.CreateCourse(r.Context(), a, store.Course{TeamID: team, Title: strings.TrimSpace(r.PostForm.Get("title")),
			Topic: r.PostForm.Get("topic"), Roles: r.PostForm["roles"], ValidDays: days})
	case "complete":
		course, _ := strconv.ParseInt(r.PostForm.Get("course"), 10, 64)
		user, _ := strconv.ParseInt(r.PostForm.Get("user"), 10, 64)
		var c store.Course
		if c, err = u.st.Course(r.Context(), course); err == nil && c.TeamID != team {
			err = store.ErrNotFound
		}
		if err == nil {
			var day time.Time
			if day, err = time.Parse(time.DateOnly, r.PostForm.Get("completed_on")); err != nil {
				err = errors.Join(store.ErrInvalid, errors.New("give the date of completion"))
			} else {
				_, err = u.st.RecordCompletion(r.Context(), a, course, user, day)
			}
		}
	default:
		err = errors.Join(store.ErrInvalid, errors.New("unknown action"))
	}
	u.answerPost(w, r, v, u.trainingPage(), err)
}

// teamReviews is one team's procurement reviews.
type teamReviews struct {
	Team       store.Team
	Reviews    []reviewView
	Models     []store.Model
	CanProcure bool
}

// reviewView is a review with its models' names.
type reviewView struct {
	store.ProcurementReview
	ModelNames []string
}

// procurementData is the procurement page.
type procurementData struct {
	Teams     []teamReviews
	Kinds     []string
	Questions []string
}

func (u *ui) procurementOf(ctx context.Context, v *viewer) (procurementData, error) {
	d := procurementData{Kinds: store.ProcurementKinds, Questions: store.ProcurementQuestions}
	for _, id := range slices.Sorted(maps.Keys(v.teamNames)) {
		if !v.may(id, store.PermRead) {
			continue
		}
		t := teamReviews{Team: store.Team{ID: id, Name: v.teamNames[id]}, CanProcure: v.may(id, store.PermProcurement)}
		var err error
		if t.Models, err = u.st.Models(ctx, id); err != nil {
			return d, err
		}
		names := map[int64]string{}
		for _, m := range t.Models {
			names[m.ID] = m.Name
		}
		reviews, err := u.st.ProcurementReviews(ctx, id)
		if err != nil {
			return d, err
		}
		for _, r := range reviews {
			rv := reviewView{ProcurementReview: r}
			for _, m := range r.Models {
				rv.ModelNames = append(rv.ModelNames, names[m])
			}
			t.Reviews = append(t.Reviews, rv)
		}
		d.Teams = append(d.Teams, t)
	}
	return d, nil
}

// procurementPage is the page of the teams' procurement reviews.
func (u *ui) procurementPage() teamPage {
	return teamPage{"procurement", "Procurement", "/procurement", func(ctx context.Context, v *viewer) (any, error) { return u.procurementOf(ctx, v) }}
}

func (u *ui) procurement(w http.ResponseWriter, r *http.Request, v *viewer) {
	u.showTeamPage(w, r, v, u.procurementPage(), http.StatusOK, "")
}

// procurementPost opens a review (action "open") or decides one (action
// "decide") in a team where the viewer may.
func (u *ui) procurementPost(w http.ResponseWriter, r *http.Request, v *viewer) {
	team, ok := u.formTeam(w, r, v, store.PermProcurement, "Only procurement reviews third-party AI.")
	if !ok {
		return
	}
	var err error
	a := actor(r, v)
	switch r.PostForm.Get("action") {
	case "open":
		rev := store.ProcurementReview{TeamID: team, Vendor: strings.TrimSpace(r.PostForm.Get("vendor")),
			Product: strings.TrimSpace(r.PostForm.Get("product")), Kind: r.PostForm.Get("kind"), Answers: map[string]string{}}
		for _, q := range store.ProcurementQuestions {
			if ans := strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get(q), "\r\n", "\n")); ans != "" {
				rev.Answers[q] = ans
			}
		}
		for _, m := range r.PostForm["models"] {
			id, _ := strconv.ParseInt(m, 10, 64)
			rev.Models = append(rev.Models, id)
		}
		_, err = u.st.CreateProcurementReview(r.Context(), a, rev)
	case "decide":
		id, _ := strconv.ParseInt(r.PostForm.Get("review"), 10, 64)
		var rev store.ProcurementReview
		if rev, err = u.st.ProcurementReview(r.Context(), id); err == nil && rev.TeamID != team {
			err = store.ErrNotFound
		}
		if err == nil {
			_, err = u.st.DecideProcurementReview(r.Context(), a, id, r.PostForm.Get("decision"),
				strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("conditions"), "\r\n", "\n")))
		}
	default:
		err = errors.Join(store.ErrInvalid, errors.New("unknown action"))
	}
	u.answerPost(w, r, v, u.procurementPage(), err)
}
