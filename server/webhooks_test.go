package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/store"
)

// TestWebhooksAPI: an admin adds a webhook (its secret never comes back),
// bad input is 422, an incident queues a delivery that the deliveries
// list shows, DELETE disables it, and another team's webhook is 404.
func TestWebhooksAPI(t *testing.T) {
	e := newEnv(t, "", Options{})
	alpha, beta := e.team("alpha"), e.team("beta")
	admin, other := e.token(alpha, "alpha-admin", store.RoleAdmin), e.token(beta, "beta-admin", store.RoleAdmin)
	sec := e.token(alpha, "alpha-sec", store.RoleSecurity)
	secret := "a shared secret of the API test"
	var w webhookJSON
	r := e.must(http.StatusCreated, e.do("POST", "/api/v1/webhooks", admin, map[string]any{"url": "https://hooks.example/a",
		"format": "teams", "events": []string{"incident.opened", "drill.scheduled"}, "secret": secret}))
	r.decode(t, &w)
	if w.Format != "teams" || len(w.Events) != 2 || w.Disabled || r.contains(secret) {
		t.Fatalf("created %s", r.body)
	}
	for name, body := range map[string]map[string]any{
		"scheme":  {"url": "file:///etc/passwd", "events": []string{"incident.opened"}, "secret": secret},
		"event":   {"url": "https://h.example/", "events": []string{"model.deleted"}, "secret": secret},
		"secret":  {"url": "https://h.example/", "events": []string{"incident.opened"}, "secret": "short"},
		"format":  {"url": "https://h.example/", "format": "xml", "events": []string{"incident.opened"}, "secret": secret},
		"nothing": {},
	} {
		if r := e.do("POST", "/api/v1/webhooks", admin, body); r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	var list []webhookJSON
	r = e.must(http.StatusOK, e.do("GET", "/api/v1/webhooks", admin, nil))
	r.decode(t, &list)
	if len(list) != 1 || list[0].ID != w.ID || r.contains(secret) {
		t.Fatalf("list %s", r.body)
	}
	e.must(http.StatusCreated, e.do("POST", "/api/v1/incidents", sec, map[string]any{"type": "other", "severity": "low", "title": "t"}))
	hp := "/api/v1/webhooks/" + itoa(w.ID)
	var ds []deliveryJSON
	e.must(http.StatusOK, e.do("GET", hp+"/deliveries", admin, nil)).decode(t, &ds)
	if len(ds) != 1 || ds[0].EventType != "incident.opened" || len(ds[0].EventID) != 32 || ds[0].DeliveredAt != nil {
		t.Fatalf("deliveries %+v", ds)
	}
	e.must(http.StatusNotFound, e.do("GET", hp+"/deliveries", other, nil))
	e.must(http.StatusNotFound, e.do("DELETE", hp, other, nil))
	e.must(http.StatusNotFound, e.do("DELETE", "/api/v1/webhooks/abc", admin, nil))
	e.must(http.StatusOK, e.do("DELETE", hp, admin, nil)).decode(t, &w)
	if !w.Disabled {
		t.Fatal("not disabled")
	}
	e.must(http.StatusCreated, e.do("POST", "/api/v1/incidents", sec, map[string]any{"type": "other", "severity": "low", "title": "u"}))
	e.must(http.StatusOK, e.do("GET", hp+"/deliveries", admin, nil)).decode(t, &ds)
	if len(ds) != 1 {
		t.Fatalf("a disabled webhook got a delivery: %+v", ds)
	}
	if strings.Contains(string(e.must(http.StatusOK, e.do("GET", "/api/v1/webhooks", other, nil)).body), "hooks.example") {
		t.Fatal("another team sees the webhook")
	}
}
