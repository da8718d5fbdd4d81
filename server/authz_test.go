package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// bomOf is a CycloneDX BOM listing files, as violet bom writes them.
func bomOf(name string, files []store.File) map[string]any {
	var comps []map[string]any
	for _, f := range files {
		comps = append(comps, map[string]any{"type": "file", "bom-ref": "file:" + f.Path, "name": f.Path,
			"hashes":     []map[string]string{{"alg": "SHA-256", "content": f.SHA256}},
			"properties": []map[string]string{{"name": "violet:file:size", "value": fmt.Sprint(f.Size)}}})
	}
	return map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
		"metadata":   map[string]any{"component": map[string]any{"type": "machine-learning-model", "name": name}},
		"components": comps}
}

// TestAuthorizationMatrix: every operation × every role × a token of the
// model's team, of another team, no token and a bad token. The roles each
// operation admits are written out here, not taken from RoleTable.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t, "", Options{AuthFailures: RateLimit{Burst: 100000, Every: time.Millisecond},
		Uploads: RateLimit{Burst: 100000, Every: time.Millisecond}})
	alpha, beta := e.team("alpha"), e.team("beta")
	tokens := map[string]map[store.Role]string{"own": {}, "other": {}}
	for _, r := range store.Roles() {
		tokens["own"][r] = e.token(alpha, "alpha-"+string(r), r)
		tokens["other"][r] = e.token(beta, "beta-"+string(r), r)
	}
	dir, files := modelDir(t)
	own := tokens["own"][store.RoleAdmin]
	e.putModel(own, "m", files)
	e.putModel(tokens["other"][store.RoleAdmin], "beta-model", files)
	vp := versionPath("m", files)
	scanReport := scanJSON(t, dir)
	e.must(http.StatusCreated, e.do("POST", vp+"/evidence?kind=scan", own, scanReport))
	var findings pageJSON[findingJSON]
	e.must(http.StatusOK, e.do("GET", vp+"/findings", own, nil)).decode(t, &findings)
	if len(findings.Items) == 0 {
		t.Fatal("the malicious sample gave no finding")
	}
	fp := fmt.Sprintf("%s/findings/%d", vp, findings.Items[0].ID)

	const (
		all    = "admin ml-engineer security sme legal-compliance hr procurement viewer"
		write  = "admin ml-engineer security"
		triage = "admin security"
		admin  = "admin"
	)
	n := 0
	unique := func(prefix string) string { n++; return fmt.Sprintf("%s-%d", prefix, n) }
	cases := []struct {
		method, path string
		roles        string
		// modelScoped: a token of another team gets 404.
		modelScoped bool
		ok          int
		body        func() any
	}{
		{"GET", "/api/v1/teams", admin, false, 200, nil},
		{"POST", "/api/v1/teams", admin, false, 201, func() any { return map[string]string{"name": unique("team")} }},
		{"POST", "/api/v1/teams/alpha/members", admin, false, 201, func() any {
			login := unique("member")
			e.must(201, e.do("POST", "/api/v1/users", own, map[string]string{"login": login, "team": "beta", "role": "viewer"}))
			return map[string]string{"login": login, "role": "sme"}
		}},
		{"POST", "/api/v1/users", admin, false, 201, func() any {
			return map[string]string{"login": unique("user"), "team": "alpha", "role": "viewer"}
		}},
		{"POST", "/api/v1/tokens", admin, false, 201, func() any {
			return map[string]any{"login": "alpha-viewer", "team": "alpha", "role": "viewer", "name": unique("ci"), "expires_in_days": 30}
		}},
		{"GET", "/api/v1/models", all, false, 200, nil},
		{"POST", "/api/v1/models", write, false, 201, func() any {
			return map[string]string{"name": unique("model"), "source_kind": "huggingface", "source_ref": "org/name"}
		}},
		{"GET", "/api/v1/models/m", all, true, 200, nil},
		{"GET", "/api/v1/models/m/versions", all, true, 200, nil},
		{"PUT", vp, write, true, 200, func() any { return map[string]any{"label": "v1", "files": files} }},
		{"GET", vp + "/evidence", all, true, 200, nil},
		{"POST", vp + "/evidence?kind=scan", write, true, 200, func() any { return scanReport }},
		{"GET", vp + "/findings", all, true, 200, nil},
		{"GET", fp + "/history", all, true, 200, nil},
		{"PUT", fp + "/state", triage, true, 201, func() any { return map[string]string{"state": "fixed"} }},
		{"PUT", "/api/v1/bom", write, false, 201, func() any {
			return map[string]any{"projectName": unique("bom"), "projectVersion": "1.0", "bom": bomOf("x", files)}
		}},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		for _, rt := range Routes() {
			if rt.Method == c.method && matches(rt.Pattern, strings.Split(c.path, "?")[0]) {
				covered[rt.Method+" "+rt.Pattern] = true
			}
		}
		body := func() any {
			if c.body == nil {
				return nil
			}
			return c.body()
		}
		for _, role := range store.Roles() {
			allowed := slices.Contains(strings.Fields(c.roles), string(role))
			for _, who := range []string{"own", "other", "none", "bad"} {
				token, want := tokens["own"][role], c.ok
				switch who {
				case "other":
					token = tokens["other"][role]
					if c.modelScoped {
						want = http.StatusNotFound
					}
				case "none":
					token, want = "", http.StatusUnauthorized
				case "bad":
					token, want = store.TokenPrefix+"not-a-token", http.StatusUnauthorized
				}
				if !allowed && (who == "own" || who == "other") {
					want = http.StatusForbidden
				}
				r := e.do(c.method, c.path, token, body())
				if r.status != want {
					t.Errorf("%s %s as %s of %s team: %d, want %d: %s", c.method, c.path, role, who, r.status, want, r.body)
				}
			}
		}
	}
	for _, rt := range Routes() {
		if rt.Perm != PermPublic && !covered[rt.Method+" "+rt.Pattern] {
			t.Errorf("the matrix does not cover %s %s", rt.Method, rt.Pattern)
		}
	}
	// A token of another team never sees the team's models in a list.
	r := e.must(200, e.do("GET", "/api/v1/models?limit=500", tokens["other"][store.RoleAdmin], nil))
	if r.contains(`"name":"m"`) {
		t.Errorf("team beta lists team alpha's model: %s", r.body)
	}
}

// matches reports whether path fits a mux pattern's segments.
func matches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if !strings.HasPrefix(ps[i], "{") && ps[i] != xs[i] {
			return false
		}
	}
	return true
}
