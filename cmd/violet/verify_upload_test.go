package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/jobs"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/server"
	"github.com/violet-mlsecops/violet/sign"
	"github.com/violet-mlsecops/violet/source/sourcetest"
	"github.com/violet-mlsecops/violet/store"
)

// uploadServer starts a server in process on a new store, with a team
// "ml" and an ml-engineer token in TokenEnv; it returns its URL and store.
func uploadServer(t *testing.T) (string, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sys := store.Actor{Name: "system"}
	team, err := st.CreateTeam(ctx, sys, "ml")
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(ctx, sys, "ci", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddMember(ctx, sys, store.Membership{TeamID: team.ID, UserID: u.ID, Role: store.RoleMLEngineer}); err != nil {
		t.Fatal(err)
	}
	tok, _, err := st.CreateToken(ctx, sys, store.TokenSpec{Name: "ci", UserID: u.ID, TeamID: team.ID, Role: store.RoleMLEngineer,
		ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(st, server.Options{}))
	t.Cleanup(srv.Close)
	t.Setenv(TokenEnv, tok)
	return srv.URL, st
}

// uploadedVersions returns the digests of the versions of the team's
// model name, and its verify evidence count.
func uploadedVersions(t *testing.T, st *store.Store, name string) ([]string, int) {
	t.Helper()
	ctx := context.Background()
	teams, err := st.Teams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	models, err := st.Models(ctx, teams[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range models {
		if m.Name != name {
			continue
		}
		vs, err := st.Versions(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		n := 0
		for _, v := range vs {
			out = append(out, v.Digest)
			ev, err := st.ListEvidence(ctx, v.ID, store.EvidenceVerify)
			if err != nil {
				t.Fatal(err)
			}
			n += len(ev)
		}
		return out, n
	}
	t.Fatalf("no model %q", name)
	return nil, 0
}

// TestVerifyUploadRemote: violet verify --upload records the verification
// of a remote model under the version a scan job would store: an OCI
// artifact from its layer digests (no layer pulled), a Hugging Face
// repository from the files it fetched.
func TestVerifyUploadRemote(t *testing.T) {
	url, st := uploadServer(t)
	key, pub := testutil.SigningKey(t)
	keyFile := write(t, t.TempDir(), "pub.pem", []byte(pub))
	files := map[string][]byte{"model.safetensors": []byte("weights"), "config.json": []byte(`{"model_type": "bert"}`)}
	dir := t.TempDir()
	for name, data := range files {
		write(t, dir, name, data)
	}
	want, _, err := jobs.HashVersion(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := sign.Hash(context.Background(), dir, sign.DefaultSerialization(), sign.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := sign.NewKeySigner(key)
	bundle, err := sign.SignManifest(m, signer)
	if err != nil {
		t.Fatal(err)
	}

	reg := sourcetest.NewRegistry(t)
	var layers []sourcetest.Layer
	for _, name := range []string{"config.json", "model.safetensors"} {
		layers = append(layers, sourcetest.Layer{MediaType: sourcetest.ModelPackWeightRaw,
			Annotations: map[string]string{"org.cncf.model.filepath": name}, Data: files[name]})
	}
	reg.AttachBundle(t, "signed", reg.PushModel(t, "signed", "v1", "", "", layers), bundle)
	reg.Requests()
	code, _, errOut := violet(t, "verify", "--key", keyFile, "--upload", url, "oci://"+reg.Host+"/signed:v1")
	if code != report.ExitPass || !strings.Contains(errOut, "Uploaded the verify report of signed") {
		t.Fatalf("oci: exit %d: %s", code, errOut)
	}
	for _, r := range reg.Requests() {
		for name, data := range files {
			if strings.Contains(r, "/blobs/sha256:"+sourcetest.SHA256(data)) {
				t.Errorf("the layer of %s was pulled: %s", name, r)
			}
		}
	}
	if digests, n := uploadedVersions(t, st, "signed"); len(digests) != 1 || digests[0] != want || n != 1 {
		t.Errorf("oci: versions %v (want %s), %d verify reports", digests, want, n)
	}

	hfFiles := map[string][]byte{"model.safetensors": files["model.safetensors"], "config.json": files["config.json"], "model.sig": bundle}
	hf := sourcetest.NewHF(t, "org/signed-hf", hfFiles)
	code, _, errOut = violet(t, "verify", "--key", keyFile, "--upload", url, "--hf-endpoint", hf.URL, "hf://org/signed-hf")
	if code != report.ExitPass || !strings.Contains(errOut, "Uploaded the verify report of signed-hf") {
		t.Fatalf("hf: exit %d: %s", code, errOut)
	}
	if digests, n := uploadedVersions(t, st, "signed-hf"); len(digests) != 1 || digests[0] != want || n != 1 {
		t.Errorf("hf: versions %v (want %s), %d verify reports", digests, want, n)
	}
	if _, err := os.Stat(filepath.Join(dir, "model.sig")); err == nil {
		t.Fatal("the local folder was changed")
	}
}
