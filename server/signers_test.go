package server

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/store"
)

// publicKeyPEM is a new ECDSA P-256 public key, PEM.
func publicKeyPEM(t *testing.T) string {
	_, pub := testutil.SigningKey(t)
	return pub
}

// TestSignersAPI: a security engineer trusts a key (material that does not
// read as its kind is 422, a name taken 409), every member lists the
// team's signers, another team neither sees nor removes them, and a
// removed signer is gone from the list.
func TestSignersAPI(t *testing.T) {
	e := newEnv(t, "", Options{})
	alpha, beta := e.team("alpha"), e.team("beta")
	sec, viewer := e.token(alpha, "alpha-sec", store.RoleSecurity), e.token(alpha, "alpha-viewer", store.RoleViewer)
	other := e.token(beta, "beta-admin", store.RoleAdmin)
	pub := publicKeyPEM(t)
	var k signerJSON
	e.must(http.StatusCreated, e.do("POST", "/api/v1/signers", sec, map[string]string{"name": "release key", "kind": "key",
		"material": pub})).decode(t, &k)
	if k.Name != "release key" || k.Kind != "key" || k.Material != pub || k.CreatedBy == "" {
		t.Fatalf("created %+v", k)
	}
	e.must(http.StatusConflict, e.do("POST", "/api/v1/signers", sec, map[string]string{"name": "release key", "kind": "key",
		"material": pub}))
	for name, body := range map[string]map[string]string{
		"not a key":            {"name": "a", "kind": "key", "material": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"},
		"no certificate":       {"name": "b", "kind": "ca", "material": pub},
		"not a trusted root":   {"name": "c", "kind": "sigstore", "material": "{}", "identity": "a@example.com", "issuer": "https://i.example"},
		"sigstore no identity": {"name": "d", "kind": "sigstore", "material": "{}"},
		"kind":                 {"name": "e", "kind": "password", "material": pub},
		"no name":              {"kind": "key", "material": pub},
	} {
		if r := e.do("POST", "/api/v1/signers", sec, body); r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	var list []signerJSON
	e.must(http.StatusOK, e.do("GET", "/api/v1/signers", viewer, nil)).decode(t, &list)
	if len(list) != 1 || list[0].ID != k.ID {
		t.Fatalf("list %+v", list)
	}
	e.must(http.StatusOK, e.do("GET", "/api/v1/signers", other, nil)).decode(t, &list)
	if len(list) != 0 {
		t.Fatalf("another team sees %+v", list)
	}
	sp := "/api/v1/signers/" + itoa(k.ID)
	e.must(http.StatusNotFound, e.do("DELETE", sp, other, nil))
	e.must(http.StatusForbidden, e.do("DELETE", sp, viewer, nil))
	e.must(http.StatusNoContent, e.do("DELETE", sp, sec, nil))
	e.must(http.StatusOK, e.do("GET", "/api/v1/signers", viewer, nil)).decode(t, &list)
	if len(list) != 0 {
		t.Fatalf("after removal %+v", list)
	}
}

// TestRequestJobKinds: POST .../scans queues scan, verify and bom jobs;
// with a version it fetches the location the version's last scan pinned
// (a scan becomes a rescan), and a version no scan fetched needs a
// location.
func TestRequestJobKinds(t *testing.T) {
	var queued []store.ScanRequest
	enqueue := func(_ *sql.Tx, r store.ScanRequest) (int64, error) {
		queued = append(queued, r)
		return int64(len(queued)), nil
	}
	e := newEnv(t, "", Options{Enqueue: enqueue, ScanRoots: []string{"/models"}})
	alpha := e.team("alpha")
	tok := e.token(alpha, "alpha-eng", store.RoleMLEngineer)
	_, files := modelDir(t)
	e.putModel(tok, "m", files)
	m := mustModel(t, e, alpha, "m")
	versions, err := e.st.Versions(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	digest := versions[0].Digest
	var r scanRequestJSON
	e.must(http.StatusAccepted, e.do("POST", "/api/v1/models/m/scans", tok, map[string]string{"location": "/models/m", "kind": "bom"})).decode(t, &r)
	if r.Kind != "bom" || r.Version != nil {
		t.Fatalf("bom %+v", r)
	}
	e.must(http.StatusUnprocessableEntity, e.do("POST", "/api/v1/models/m/scans", tok, map[string]string{"location": "/models/m", "kind": "rescan"}))
	e.must(http.StatusNotFound, e.do("POST", "/api/v1/models/m/scans", tok, map[string]string{"version": "sha256:00", "kind": "verify"}))
	if r := e.do("POST", "/api/v1/models/m/scans", tok, map[string]string{"version": digest, "kind": "verify"}); r.status != http.StatusUnprocessableEntity || r.code() != "no_location" {
		t.Fatalf("no location: %d %s", r.status, r.body)
	}
	// Once a scan job pinned the version's location, a version is enough.
	sr, err := e.st.RequestScan(context.Background(), system, m.ID, 0, store.ScanKindScan, "/models/m", enqueue)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CompleteScan(context.Background(), system, sr.ID, store.ScanResult{VersionID: versions[0].ID,
		Report: []byte(`{}`), Pinned: "/models/m/pinned"}, nil); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusAccepted, e.do("POST", "/api/v1/models/m/scans", tok, map[string]string{"version": digest, "kind": "verify"})).decode(t, &r)
	if r.Kind != "verify" || r.Location != "/models/m/pinned" || r.Version == nil || *r.Version != versions[0].ID {
		t.Fatalf("verify of a version %+v", r)
	}
	e.must(http.StatusAccepted, e.do("POST", "/api/v1/models/m/scans", tok, map[string]string{"version": digest})).decode(t, &r)
	if r.Kind != "rescan" {
		t.Fatalf("scan of a version %+v", r)
	}
	// The location policy holds for a version's location too.
	e.must(http.StatusUnprocessableEntity, e.do("POST", "/api/v1/models/m/scans", tok, map[string]string{"version": digest,
		"location": "/etc", "kind": "bom"}))
}

// TestVerifyReportBinding: a verify report that says the model verified
// binds to the version only when its signed manifest names the version's
// files (with their SHA-256 for whole-file manifests; by path for shards);
// a report that did not verify binds nothing more.
func TestVerifyReportBinding(t *testing.T) {
	e := newEnv(t, "", Options{})
	alpha := e.team("alpha")
	tok := e.token(alpha, "alpha-eng", store.RoleMLEngineer)
	files := []store.File{{Path: "model.safetensors", SHA256: sha256Hex([]byte("w")), Size: 1},
		{Path: "config.json", SHA256: sha256Hex([]byte("{}")), Size: 2}}
	e.putModel(tok, "m", files)
	path := versionPath("m", files) + "/evidence?kind=verify"
	report := func(verified bool, resources ...string) []byte {
		return []byte(`{"model":"m","signature":"model.sig","verified":` + strconv.FormatBool(verified) +
			`,"signer":"hint","manifest":{"resources":[` + strings.Join(resources, ",") + `]}}`)
	}
	res := func(name, alg, digest string) string {
		return `{"name":"` + name + `","algorithm":"` + alg + `","digest":"` + digest + `"}`
	}
	w, c := files[0], files[1]
	e.must(http.StatusCreated, e.do("POST", path, tok, report(true, res(c.Path, "sha256", c.SHA256), res(w.Path, "sha256", w.SHA256))))
	// Signed with an ignore path: fewer files than the version, still its own.
	e.must(http.StatusCreated, e.do("POST", path, tok, report(true, res(w.Path, "sha256", w.SHA256))))
	e.must(http.StatusCreated, e.do("POST", path, tok, report(true, res(w.Path+":0:1", "sha256-sharded-1", sha256Hex([]byte("x"))))))
	for name, body := range map[string][]byte{
		"another digest": report(true, res(w.Path, "sha256", sha256Hex([]byte("other")))),
		"another file":   report(true, res("other.bin", "sha256", w.SHA256)),
		"another shard":  report(true, res("other.bin:0:1", "sha256-sharded-1", w.SHA256)),
	} {
		if r := e.do("POST", path, tok, body); r.status != http.StatusUnprocessableEntity || r.code() != "evidence_mismatch" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	// A report that did not verify may name anything: it signs for nothing.
	e.must(http.StatusCreated, e.do("POST", path, tok, report(false, res("other.bin", "sha256", w.SHA256))))
}
