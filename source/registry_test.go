package source

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/source/sourcetest"
)

// authRegistry puts a registry behind the Bearer token flow of Docker
// Hub and its kin: /v2/ answers 401 with a challenge naming a token
// realm, which gives a token for the right user and password.
func authRegistry(t *testing.T, reg *sourcetest.Registry) (host string, scopes *[]string) {
	var seen []string
	var realm string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "pw" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			seen = append(seen, r.URL.Query().Get("scope")+" "+r.URL.Query().Get("service"))
			_, _ = w.Write([]byte(`{"token":"tok-123"}`))
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok-123" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`",service="test-registry",scope="repository:private/m:pull"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r.Header.Del("Authorization")
		reg.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	realm = srv.URL + "/token"
	return strings.TrimPrefix(srv.URL, "http://"), &seen
}

func TestOCIBearerAuth(t *testing.T) {
	reg := sourcetest.NewRegistry(t)
	reg.PushModel(t, "private/m", "v1", "", "", []sourcetest.Layer{{MediaType: sourcetest.ModelPackWeightRaw, Annotations: map[string]string{AnnotationFilepath: "m.bin"}, Data: []byte("w")}})
	host, scopes := authRegistry(t, reg)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx := context.Background()
	loc := "oci://" + host + "/private/m:v1"
	if _, err := Open(ctx, loc, Options{Limits: Limits{Retries: -1}}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("without credentials: %v", err)
	}
	src, err := Open(ctx, loc, Options{OCIUsername: "alice", OCIPassword: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Fetch(ctx, src, t.TempDir(), Limits{}); err != nil {
		t.Fatal(err)
	}
	if len(*scopes) == 0 || (*scopes)[0] != "repository:private/m:pull test-registry" {
		t.Errorf("token requests %v", *scopes)
	}
	// The Docker configuration's auths entry serves as well.
	cfg := `{"auths":{"` + host + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("alice:pw")) + `"}}}`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	if _, err := Open(ctx, loc, Options{}); err != nil {
		t.Errorf("with the Docker configuration: %v", err)
	}
}

// TestOCICredentialHelper: credentials come from the credential helper
// that the Docker configuration names for the registry (credHelpers), as
// docker login leaves them on a desktop: the helper program is run with
// the registry's host on its standard input.
func TestOCICredentialHelper(t *testing.T) {
	reg := sourcetest.NewRegistry(t)
	reg.PushModel(t, "private/m", "v1", "", "", []sourcetest.Layer{{MediaType: sourcetest.ModelPackWeightRaw, Annotations: map[string]string{AnnotationFilepath: "m.bin"}, Data: []byte("w")}})
	host, _ := authRegistry(t, reg)
	bin := t.TempDir()
	asked := filepath.Join(bin, "asked")
	helper := "#!/bin/sh\n[ \"$1\" = get ] || exit 1\ncat > " + asked + "\necho '{\"ServerURL\":\"" + host + "\",\"Username\":\"alice\",\"Secret\":\"pw\"}'\n"
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-violettest"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"credHelpers":{"`+host+`":"violettest"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	src, err := Open(context.Background(), "oci://"+host+"/private/m:v1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Fetch(context.Background(), src, t.TempDir(), Limits{}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(asked); err != nil || strings.TrimSpace(string(got)) != host {
		t.Errorf("the helper was asked %q (%v), want the host %s", got, err, host)
	}
}

// TestOCIRefusesPlainHTTPFromHTTPS: an https registry whose token realm is
// plain http gets no credentials: they would travel in the clear.
func TestOCIRefusesPlainHTTPFromHTTPS(t *testing.T) {
	var tokenAsked bool
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tokenAsked = true }))
	t.Cleanup(plain.Close)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+plain.URL+`/token",service="s"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	_, err := Open(context.Background(), "oci://"+host+"/m:v1", Options{OCIInsecure: true, OCIUsername: "alice", OCIPassword: "pw",
		Limits: Limits{Retries: -1}})
	if err == nil || tokenAsked || !strings.Contains(err.Error(), `realm scheme "http" not allowed`) {
		t.Fatalf("opened through a plain-http realm: %v (token asked: %v)", err, tokenAsked)
	}
}
