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

func TestParseChallenge(t *testing.T) {
	scheme, p := ParseChallenge(`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"`)
	if scheme != "Bearer" || p["realm"] != "https://auth.docker.io/token" || p["service"] != "registry.docker.io" || p["scope"] != "repository:library/ubuntu:pull" {
		t.Errorf("%s %v", scheme, p)
	}
}
