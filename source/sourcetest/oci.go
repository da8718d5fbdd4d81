package sourcetest

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Registry is an OCI registry (go-containerregistry's, in memory, with the
// referrers API) on 127.0.0.1.
type Registry struct {
	*httptest.Server
	// Host is host:port, as oci:// locations name it.
	Host string

	mu    sync.Mutex
	paths []string
}

// NewRegistry starts a registry until the test ends.
func NewRegistry(t testing.TB) *Registry {
	r := &Registry{}
	h := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.paths = append(r.paths, req.Method+" "+req.URL.Path)
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(r.Close)
	r.Host = strings.TrimPrefix(r.URL, "http://")
	return r
}

// Requests returns "METHOD /path" of every request so far, and forgets
// them.
func (r *Registry) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.paths
	r.paths = nil
	return out
}

// Descriptor is an OCI content descriptor.
type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// PushBlob uploads a blob (monolithic upload) and returns its descriptor.
func (r *Registry) PushBlob(t testing.TB, repo, mediaType string, data []byte) Descriptor {
	t.Helper()
	d := Descriptor{MediaType: mediaType, Digest: "sha256:" + SHA256(data), Size: int64(len(data))}
	resp, err := http.Post(r.URL+"/v2/"+repo+"/blobs/uploads/?digest="+d.Digest, "application/octet-stream", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("blob upload: HTTP %d", resp.StatusCode)
	}
	return d
}

// PushManifest puts a manifest under ref (a tag or its digest) and returns
// its descriptor.
func (r *Registry) PushManifest(t testing.TB, repo, ref, mediaType string, body []byte) Descriptor {
	t.Helper()
	d := Descriptor{MediaType: mediaType, Digest: "sha256:" + SHA256(body), Size: int64(len(body))}
	if ref == "" {
		ref = d.Digest
	}
	req, _ := http.NewRequest(http.MethodPut, r.URL+"/v2/"+repo+"/manifests/"+ref, bytes.NewReader(body))
	req.Header.Set("Content-Type", mediaType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("manifest put: HTTP %d", resp.StatusCode)
	}
	return d
}

// Layer is one layer of a model artifact: its media type, annotations and
// bytes.
type Layer struct {
	MediaType   string
	Annotations map[string]string
	Data        []byte
}

// The media types of the artifacts the helpers push.
const (
	MediaTypeManifest    = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeEmpty       = "application/vnd.oci.empty.v1+json"
	ModelPackArtifact    = "application/vnd.cncf.model.manifest.v1+json"
	ModelPackConfig      = "application/vnd.cncf.model.config.v1+json"
	SigstoreBundleV03    = "application/vnd.dev.sigstore.bundle.v0.3+json"
	ModelPackWeightRaw   = "application/vnd.cncf.model.weight.v1.raw"
	ModelPackWeightTarGz = "application/vnd.cncf.model.weight.v1.tar+gzip"
)

// manifest is an OCI image manifest.
type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        Descriptor        `json:"config"`
	Layers        []Descriptor      `json:"layers"`
	Subject       *Descriptor       `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// PushModel pushes a model artifact of artifactType (ModelPackArtifact
// when "") with a config blob of configType and the layers, tagged tag,
// and returns the manifest's descriptor.
func (r *Registry) PushModel(t testing.TB, repo, tag, artifactType, configType string, layers []Layer) Descriptor {
	t.Helper()
	if artifactType == "" {
		artifactType = ModelPackArtifact
	}
	if configType == "" {
		configType = ModelPackConfig
	}
	m := manifest{SchemaVersion: 2, MediaType: MediaTypeManifest, ArtifactType: artifactType,
		Config: r.PushBlob(t, repo, configType, []byte(`{}`))}
	for _, l := range layers {
		d := r.PushBlob(t, repo, l.MediaType, l.Data)
		d.Annotations = l.Annotations
		m.Layers = append(m.Layers, d)
	}
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return r.PushManifest(t, repo, tag, MediaTypeManifest, body)
}

// AttachBundle attaches a Sigstore bundle to the manifest subject, as a
// referrer of artifact type SigstoreBundleV03.
func (r *Registry) AttachBundle(t testing.TB, repo string, subject Descriptor, bundle []byte) Descriptor {
	t.Helper()
	m := manifest{SchemaVersion: 2, MediaType: MediaTypeManifest, ArtifactType: SigstoreBundleV03,
		Config:  r.PushBlob(t, repo, MediaTypeEmpty, []byte(`{}`)),
		Layers:  []Descriptor{r.PushBlob(t, repo, SigstoreBundleV03, bundle)},
		Subject: &Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}}
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return r.PushManifest(t, repo, "", MediaTypeManifest, body)
}
