package server

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// TestTrainingAndProcurementAPI: HR keeps the training records and sees
// who is overdue; procurement reviews a vendor's model, and a release of
// that third-party model can be requested only once the review approves.
func TestTrainingAndProcurementAPI(t *testing.T) {
	e := newEnv(t, "", Options{})
	team := e.team("ml")
	hr := e.token(team, "hr", store.RoleHR)
	proc := e.token(team, "buyer", store.RoleProcurement)
	ml := e.token(team, "eng", store.RoleMLEngineer)

	var course courseJSON
	e.must(http.StatusCreated, e.do("POST", "/api/v1/training/courses", hr, map[string]any{"title": "AI threat landscape",
		"topic": "threat-landscape", "roles": []string{"ml-engineer"}, "valid_days": 365})).decode(t, &course)
	var due pageJSON[trainingDueJSON]
	e.must(http.StatusOK, e.do("GET", "/api/v1/training/status?overdue=true", ml, nil)).decode(t, &due)
	if len(due.Items) != 1 || due.Items[0].Login != "eng" || !due.Items[0].Overdue {
		t.Fatalf("overdue %+v", due.Items)
	}
	e.must(http.StatusCreated, e.do("POST", fmt.Sprintf("/api/v1/training/courses/%d/completions", course.ID), hr,
		map[string]any{"login": "eng", "completed_at": time.Now().Add(-24 * time.Hour)}))
	e.must(http.StatusOK, e.do("GET", "/api/v1/training/status?overdue=true", ml, nil)).decode(t, &due)
	if len(due.Items) != 0 {
		t.Fatalf("still overdue: %+v", due.Items)
	}
	// A completion in the future, or of a stranger: refused.
	e.must(http.StatusUnprocessableEntity, e.do("POST", fmt.Sprintf("/api/v1/training/courses/%d/completions", course.ID), hr,
		map[string]any{"login": "eng", "completed_at": time.Now().Add(48 * time.Hour)}))
	e.must(http.StatusUnprocessableEntity, e.do("POST", fmt.Sprintf("/api/v1/training/courses/%d/completions", course.ID), hr,
		map[string]any{"login": "nobody", "completed_at": time.Now()}))

	// A vendor's model: its release waits for procurement.
	_, files := modelDir(t)
	e.putModel(ml, "vendor-llm", files)
	digest := RootDigest(files)
	rel := map[string]any{"model": "vendor-llm", "digest": digest, "title": "vendor LLM to prod", "tier": "low", "third_party": true}
	r := e.must(http.StatusUnprocessableEntity, e.do("POST", "/api/v1/releases", ml, rel))
	if !r.contains("procurement review") {
		t.Errorf("refusal %s", r.body)
	}
	var review reviewJSON
	e.must(http.StatusCreated, e.do("POST", "/api/v1/procurement/reviews", proc, map[string]any{"vendor": "Acme AI", "product": "acme-llm-70b",
		"kind": "vendor-model", "models": []string{"vendor-llm"}, "answers": map[string]string{"hosting_region": "eu-west-1",
			"data_use": "not used for training", "incident_notification": "72 hours"}})).decode(t, &review)
	if review.Decision != "pending" || len(review.Models) != 1 || review.Answers["hosting_region"] != "eu-west-1" {
		t.Fatalf("review %+v", review)
	}
	e.must(http.StatusUnprocessableEntity, e.do("POST", "/api/v1/procurement/reviews", proc, map[string]any{"vendor": "x", "product": "y",
		"kind": "llm-api", "answers": map[string]string{"favourite_color": "blue"}}))
	e.must(http.StatusUnprocessableEntity, e.do("PUT", fmt.Sprintf("/api/v1/procurement/reviews/%d/decision", review.ID), proc,
		map[string]any{"decision": "approved-with-conditions"}))
	e.must(http.StatusOK, e.do("PUT", fmt.Sprintf("/api/v1/procurement/reviews/%d/decision", review.ID), proc,
		map[string]any{"decision": "approved-with-conditions", "conditions": "EU hosting only"})).decode(t, &review)
	if review.DecidedBy == "" || review.Conditions != "EU hosting only" {
		t.Fatalf("decided %+v", review)
	}
	var created releaseJSON
	e.must(http.StatusCreated, e.do("POST", "/api/v1/releases", ml, rel)).decode(t, &created)
	if fmt.Sprint(created.Required) != "[procurement security]" {
		t.Fatalf("required %v", created.Required)
	}
}
