package server

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// TestOpenAPIRoutes: every operation the OpenAPI document names is served
// by the mux, with the permission the document states, and every route the
// server serves is in the document.
func TestOpenAPIRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	documented := map[string]Permission{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op struct {
				Perm     Permission `json:"x-violet-permission"`
				Security []any      `json:"security"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			if op.Perm == PermPublic && op.Security == nil {
				t.Errorf("%s %s: neither a permission nor public (security: [])", method, path)
			}
			documented[strings.ToUpper(method)+" "+path] = op.Perm
		}
	}
	served := map[string]Permission{}
	for _, rt := range Routes() {
		served[rt.Method+" "+rt.Pattern] = rt.Perm
	}
	for k, perm := range documented {
		if p, ok := served[k]; !ok {
			t.Errorf("the document names %s, which the server does not serve", k)
		} else if p != perm {
			t.Errorf("%s: the document says permission %q, the server %q", k, perm, p)
		}
	}
	for k := range served {
		if _, ok := documented[k]; !ok {
			t.Errorf("the server serves %s, which the document does not name", k)
		}
	}

	// And the mux routes each of them: without a token, a protected
	// operation is 401 (not the mux's 404 or 405), a public one 2xx or 503.
	e := newEnv(t, "", Options{AuthFailures: RateLimit{Burst: 1000, Every: time.Millisecond}})
	param := regexp.MustCompile(`\{[a-z]+\}`)
	for k, perm := range documented {
		method, path, _ := strings.Cut(k, " ")
		r := e.do(method, param.ReplaceAllString(path, "x"), "", nil)
		switch {
		case perm == PermPublic && (r.status == http.StatusOK || r.status == http.StatusServiceUnavailable):
		case perm != PermPublic && r.status == http.StatusUnauthorized && r.code() == "unauthorized":
		default:
			t.Errorf("%s: %d %s", k, r.status, r.body)
		}
	}
	if r := e.do("GET", "/api/v1/nothing", e.admin, nil); r.status != http.StatusNotFound || r.code() != "not_found" {
		t.Errorf("an unknown path: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/v1/models", e.admin, nil); r.status != http.StatusMethodNotAllowed || r.code() != "method_not_allowed" {
		t.Errorf("a wrong method: %d %s", r.status, r.body)
	}
	r := e.must(http.StatusOK, e.do("GET", "/api/v1/openapi.json", "", nil))
	if !slices.Equal(r.body, OpenAPI) {
		t.Error("the served document is not the embedded one")
	}
}

// TestOpenAPIEventTypes: every list of webhook event types in the
// document is the store's, in its order: a subscriber reading the
// document sees every event the server accepts and sends.
func TestOpenAPIEventTypes(t *testing.T) {
	var doc any
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	found := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if enum, ok := v["enum"].([]any); ok && slices.Contains(enum, any(store.EventFindingCritical)) {
				found++
				got := make([]string, len(enum))
				for i, e := range enum {
					got[i], _ = e.(string)
				}
				if !slices.Equal(got, store.WebhookEvents) {
					t.Errorf("event types %v, want %v", got, store.WebhookEvents)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	if found == 0 {
		t.Fatal("the document lists no event type")
	}
}
