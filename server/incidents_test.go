package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/violet-mlsecops/violet/store"
)

// TestIncidentAPI: the blast radius of a signing key (from verify reports)
// and of a file, an incident opened with it, its timeline and marks, and a
// drill from schedule to close, over the API.
func TestIncidentAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, Options{})
		alpha := e.team("alpha")
		sec := e.token(alpha, "sec", store.RoleSecurity)
		legal := e.token(alpha, "legal", store.RoleLegalCompliance)
		_, files := modelDir(t)
		e.putModel(sec, "m", files)
		other := []store.File{{Path: "w.bin", SHA256: sha256Hex([]byte("w")), Size: 1}}
		e.putModel(sec, "n", other)
		const key = "3f1c0ffee3f1c0ffee3f1c0ffee3f1c0ffee3f1c0ffee3f1c0ffee3f1c0ffee0"
		// m verified with the key; n's signature did not verify: the key
		// signed only m.
		e.must(http.StatusCreated, e.do("POST", versionPath("m", files)+"/evidence?kind=verify", sec,
			[]byte(`{"model":"m","signature":"m.sig","verified":true,"signer":"`+key+`"}`)))
		e.must(http.StatusCreated, e.do("POST", versionPath("n", other)+"/evidence?kind=verify", sec,
			[]byte(`{"model":"n","signature":"n.sig","verified":false,"signer":"`+key+`","signature_error":"bad"}`)))
		e.must(http.StatusUnprocessableEntity, e.do("POST", versionPath("n", other)+"/evidence?kind=verify", sec,
			[]byte(`{"verified":"yes"}`)))

		var page pageJSON[affectedJSON]
		e.must(http.StatusOK, e.do("GET", "/api/v1/blast-radius?signer="+key, legal, nil)).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].Model != "m" || page.Items[0].Why != store.AffectedSigner {
			t.Fatalf("signed by the key: %+v", page.Items)
		}
		pkl := files[slices.IndexFunc(files, func(f store.File) bool { return f.Path == "model.pkl" })].SHA256
		e.must(http.StatusOK, e.do("GET", "/api/v1/blast-radius?file="+pkl, sec, nil)).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].How != "model.pkl" {
			t.Fatalf("holding the pickle: %+v", page.Items)
		}
		for _, q := range []string{"", "?file=" + pkl + "&signer=" + key, "?nope=1", "?file=ABC", "?version=1"} {
			if r := e.do("GET", "/api/v1/blast-radius"+q, sec, nil); r.status != http.StatusBadRequest || r.code() != "invalid_parameter" {
				t.Errorf("blast-radius%s: %d %s", q, r.status, r.body)
			}
		}

		var inc incidentJSON
		e.must(http.StatusCreated, e.do("POST", "/api/v1/incidents", sec, map[string]any{
			"type": "leaked-signing-key", "severity": "high", "title": "CI key in a public gist",
			"began_at": "2026-01-01T00:00:00Z", "blast_radius": []map[string]string{{"signer": key}, {"file": pkl}}})).decode(t, &inc)
		if inc.State != "open" || inc.DetectedAt == nil || inc.TimeToDetect == nil || len(inc.Affected) != 2 || inc.OpenedBy != "sec" {
			t.Fatalf("opened %+v", inc)
		}
		ip := "/api/v1/incidents/" + itoa(inc.ID)
		e.must(http.StatusCreated, e.do("POST", ip+"/events", legal, map[string]string{"text": "no personal data involved"}))
		e.must(http.StatusOK, e.do("PUT", ip+"/state", sec, map[string]string{"state": "contained"})).decode(t, &inc)
		if inc.State != "contained" || inc.TimeToContain == nil {
			t.Fatalf("contained %+v", inc)
		}
		e.must(http.StatusOK, e.do("PUT", ip+"/state", sec, map[string]string{"state": "resolved"}))
		r := e.must(http.StatusConflict, e.do("PUT", ip+"/state", sec, map[string]string{"state": "contained"}))
		if r.code() != "conflict" {
			t.Errorf("contain a resolved incident: %s", r.body)
		}
		e.must(http.StatusUnprocessableEntity, e.do("PUT", ip+"/state", sec, map[string]string{"state": "forgotten"}))
		e.must(http.StatusUnprocessableEntity, e.do("POST", "/api/v1/incidents", sec, map[string]any{
			"type": "ransomware", "severity": "high", "title": "t"}))
		e.must(http.StatusOK, e.do("GET", ip, legal, nil)).decode(t, &inc)
		var texts []string
		for _, ev := range inc.Timeline {
			texts = append(texts, ev.Who+": "+ev.Text)
		}
		if !slices.Contains(texts, "legal: no personal data involved") || !slices.Contains(texts, "sec: marked contained") {
			t.Errorf("timeline %q", texts)
		}

		var scenarios pageJSON[scenarioJSON]
		e.must(http.StatusOK, e.do("GET", "/api/v1/drill-scenarios", legal, nil)).decode(t, &scenarios)
		if len(scenarios.Items) < 4 {
			t.Fatalf("scenarios %+v", scenarios.Items)
		}
		var d drillJSON
		e.must(http.StatusCreated, e.do("POST", "/api/v1/drills", sec, map[string]any{"scenario": "prompt-injection-leak",
			"scheduled_at": "2026-03-01T09:00:00Z", "participants": []map[string]string{{"role": "legal-compliance", "login": "legal"}}})).decode(t, &d)
		e.must(http.StatusUnprocessableEntity, e.do("POST", "/api/v1/drills", sec, map[string]any{"scenario": "prompt-injection-leak",
			"scheduled_at": "2026-03-01T09:00:00Z", "participants": []map[string]string{{"role": "hr", "login": "legal"}}}))
		dp := "/api/v1/drills/" + itoa(d.ID)
		e.must(http.StatusConflict, e.do("POST", dp+"/close", sec, map[string]any{"findings": "too early"}))
		var di incidentJSON
		e.must(http.StatusOK, e.do("POST", dp+"/start", sec, nil)).decode(t, &di)
		if di.Drill != d.ID || di.DetectedAt != nil || di.Type != "prompt-injection-leakage" {
			t.Fatalf("the drill's incident %+v", di)
		}
		e.must(http.StatusOK, e.do("PUT", "/api/v1/incidents/"+itoa(di.ID)+"/state", sec, map[string]string{"state": "detected"}))
		e.must(http.StatusOK, e.do("POST", dp+"/close", sec, map[string]any{"findings": "legal joined late",
			"follow_ups": []string{"add legal to the on-call rota"}})).decode(t, &d)
		if d.ClosedAt == nil || len(d.FollowUps) != 1 || d.Incident != di.ID {
			t.Fatalf("closed %+v", d)
		}
		e.must(http.StatusOK, e.do("GET", "/api/v1/incidents/"+itoa(di.ID), sec, nil)).decode(t, &di)
		if di.State != "resolved" || di.TimeToDetect == nil {
			t.Errorf("after the close %+v", di)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// FuzzVerifySigners: the reader of verify reports never panics, and names
// a signer only for a report that says its signature verified.
func FuzzVerifySigners(f *testing.F) {
	f.Add([]byte(`{"model":"m","verified":true,"signer":"abc"}`))
	f.Add([]byte(`{"verified":false,"signer":"abc","signature_error":"x"}`))
	f.Add([]byte(`{"verified":true,"verified":false,"signer":"abc"}`))
	f.Add([]byte(`[1]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		signers, err := VerifySigners(data)
		if err != nil || len(signers) == 0 {
			return
		}
		var r struct {
			Verified bool   `json:"verified"`
			Signer   string `json:"signer"`
		}
		if json.Unmarshal(data, &r) != nil || !r.Verified || signers[0] != r.Signer || r.Signer == "" {
			t.Fatalf("%q: signers %q", data, signers)
		}
	})
}
