package source

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/violet-mlsecops/violet/sign"
	"github.com/violet-mlsecops/violet/source/sourcetest"
)

func tarOf(t *testing.T, name string, data []byte) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(data); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	_, _ = w.Write(b)
	w.Close()
	return out.Bytes()
}

func zst(t *testing.T, b []byte) []byte {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return enc.EncodeAll(b, nil)
}

func TestOCIModelArtifacts(t *testing.T) {
	reg := sourcetest.NewRegistry(t)
	tarred := tarOf(t, "code/train.py", []byte("print(1)"))
	desc := reg.PushModel(t, "models/llm", "v1", "", "", []sourcetest.Layer{
		{MediaType: "application/vnd.cncf.model.weight.v1.raw", Annotations: map[string]string{AnnotationFilepath: "weights/model.safetensors"}, Data: []byte("safetensors")},
		{MediaType: "application/vnd.oci.image.layer.v1.tar", Annotations: map[string]string{AnnotationTitle: "config.json"}, Data: []byte("{}")},
		{MediaType: "application/vnd.docker.ai.gguf.v3", Data: []byte("GGUF")},
		{MediaType: "application/vnd.kitops.modelkit.code.v1.tar+gzip", Data: gz(tarred)},
		{MediaType: "application/vnd.cncf.model.weight.v1.tar+zstd", Annotations: map[string]string{AnnotationFilepath: "extra"}, Data: zst(t, tarred)},
	})
	ctx := context.Background()
	src, err := Open(ctx, "oci://"+reg.Host+"/models/llm:v1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "oci://" + reg.Host + "/models/llm@" + desc.Digest; src.Location() != want {
		t.Errorf("Location %q, want %q", src.Location(), want)
	}
	if src.(Versioned).Version() != desc.Digest {
		t.Errorf("Version %q", src.(Versioned).Version())
	}
	dir := t.TempDir()
	got, err := Fetch(ctx, src, dir, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range got {
		names = append(names, e.Path)
	}
	gguf := "gguf-" + sourcetest.SHA256([]byte("GGUF"))[:12] + ".gguf"
	code := "code-" + sourcetest.SHA256(gz(tarred))[:12] + ".tar.gz"
	want := strings.Join([]string{code, "config.json", "extra.tar", gguf, "weights/model.safetensors"}, " ")
	if strings.Join(names, " ") != want {
		t.Errorf("files %v, want %s", names, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "extra.tar")); !bytes.Equal(b, tarred) {
		t.Error("the zstd layer was not decompressed into its tar")
	}
	// A pinned location opens the same manifest.
	again, err := Open(ctx, src.Location(), Options{})
	if err != nil || again.Location() != src.Location() {
		t.Errorf("by digest: %v %v", again, err)
	}
	tags, err := OCITags(ctx, "oci://"+reg.Host+"/models/llm:v1", Options{})
	if err != nil || strings.Join(tags, ",") != "v1" {
		t.Errorf("tags %v %v", tags, err)
	}
}

func TestOCIRefusals(t *testing.T) {
	reg := sourcetest.NewRegistry(t)
	reg.PushModel(t, "m", "escape", "", "", []sourcetest.Layer{{MediaType: "x", Annotations: map[string]string{AnnotationFilepath: "../../etc/cron.d/x"}, Data: []byte("x")}})
	reg.PushModel(t, "m", "twice", "", "", []sourcetest.Layer{
		{MediaType: "x", Annotations: map[string]string{AnnotationTitle: "a"}, Data: []byte("1")},
		{MediaType: "x", Annotations: map[string]string{AnnotationTitle: "a"}, Data: []byte("2")}})
	ctx := context.Background()
	for loc, want := range map[string]string{
		"oci://" + reg.Host + "/m:escape":  "leaves the folder",
		"oci://" + reg.Host + "/m:twice":   "two layers",
		"oci://" + reg.Host + "/m:missing": "404",
		"oci://" + reg.Host + "/m":         "name a tag",
	} {
		if _, err := Open(ctx, loc, Options{Limits: Limits{Retries: -1}}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q): %v, want %q", loc, err, want)
		}
	}
}

// signedModel writes files, signs them as violet sign does, and pushes
// the model one file per layer with the signature as a referrer.
func signedModel(t *testing.T, reg *sourcetest.Registry, files map[string]string, pushed map[string]string) (string, sign.Verifier) {
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := sign.Hash(context.Background(), dir, sign.DefaultSerialization(), sign.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := sign.NewKeySigner(key)
	bundle, err := sign.SignManifest(m, signer)
	if err != nil {
		t.Fatal(err)
	}
	var layers []sourcetest.Layer
	for name, content := range pushed {
		layers = append(layers, sourcetest.Layer{MediaType: sourcetest.ModelPackWeightRaw, Annotations: map[string]string{AnnotationFilepath: name}, Data: []byte(content)})
	}
	desc := reg.PushModel(t, "signed", "v1", "", "", layers)
	reg.AttachBundle(t, "signed", desc, bundle)
	v, err := sign.NewKeyVerifier(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return "oci://" + reg.Host + "/signed:v1", v
}

func verifyOCI(t *testing.T, loc string, v sign.Verifier) *OCIVerifyResult {
	ctx := context.Background()
	o, err := OpenOCI(ctx, loc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	bundles, err := o.Bundles(ctx)
	if err != nil || len(bundles) != 1 {
		t.Fatalf("bundles %v %v", bundles, err)
	}
	b, err := sign.ParseBundle(bundles[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	res, err := VerifyOCI(ctx, o, b, v, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestVerifyOCIWithoutPulling(t *testing.T) {
	reg := sourcetest.NewRegistry(t)
	files := map[string]string{"model.safetensors": "weights", "sub/config.json": "{}"}
	loc, v := signedModel(t, reg, files, files)
	reg.Requests()
	res := verifyOCI(t, loc, v)
	if !res.OK() || strings.Join(res.NotDownloaded, ",") != "model.safetensors,sub/config.json" || len(res.Downloaded) != 0 {
		t.Errorf("result %+v", res)
	}
	// Only the manifests, the referrers and the bundle's blob were read.
	bundleBlobs := 0
	for _, r := range reg.Requests() {
		if strings.Contains(r, "/blobs/") {
			bundleBlobs++
		}
	}
	if bundleBlobs != 1 {
		t.Errorf("%d blobs pulled, want 1 (the bundle)", bundleBlobs)
	}
}

func TestVerifyOCITamperedLayer(t *testing.T) {
	reg := sourcetest.NewRegistry(t)
	loc, v := signedModel(t, reg,
		map[string]string{"model.safetensors": "weights", "config.json": "{}"},
		map[string]string{"model.safetensors": "weights, poisoned", "config.json": "{}", "extra.bin": "x"})
	res := verifyOCI(t, loc, v)
	if res.OK() || strings.Join(res.Diff.Modified, ",") != "model.safetensors" || strings.Join(res.Diff.Added, ",") != "extra.bin" {
		t.Errorf("diff %+v", res.Diff)
	}
}

func TestVerifyOCIArchiveLayerIsPulled(t *testing.T) {
	reg := sourcetest.NewRegistry(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.bin"), []byte("w"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, _ := sign.Hash(context.Background(), dir, sign.DefaultSerialization(), sign.HashOptions{})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := sign.NewKeySigner(key)
	bundle, _ := sign.SignManifest(m, signer)
	desc := reg.PushModel(t, "tarred", "v1", "", "", []sourcetest.Layer{{MediaType: sourcetest.ModelPackWeightTarGz, Annotations: map[string]string{AnnotationFilepath: "model.bin"}, Data: gz(tarOf(t, "model.bin", []byte("w")))}})
	reg.AttachBundle(t, "tarred", desc, bundle)
	v, _ := sign.NewKeyVerifier(&key.PublicKey)
	res := verifyOCI(t, "oci://"+reg.Host+"/tarred:v1", v)
	if res.OK() || len(res.Downloaded) != 1 || len(res.NotDownloaded) != 0 {
		t.Errorf("an archive layer: %+v", res)
	}
}

func TestOCIIndexOfOneManifest(t *testing.T) {
	reg := sourcetest.NewRegistry(t)
	m := reg.PushModel(t, "m", "", "", "", []sourcetest.Layer{{MediaType: sourcetest.ModelPackWeightRaw, Annotations: map[string]string{AnnotationFilepath: "w.bin"}, Data: []byte("w")}})
	other := reg.PushModel(t, "m", "", "", "", []sourcetest.Layer{{MediaType: sourcetest.ModelPackWeightRaw, Annotations: map[string]string{AnnotationFilepath: "x.bin"}, Data: []byte("x")}})
	index := func(ds ...sourcetest.Descriptor) []byte {
		var parts []string
		for _, d := range ds {
			parts = append(parts, `{"mediaType":"`+d.MediaType+`","digest":"`+d.Digest+`","size":`+strconv.FormatInt(d.Size, 10)+`}`)
		}
		return []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` + strings.Join(parts, ",") + `]}`)
	}
	reg.PushManifest(t, "m", "one", "application/vnd.oci.image.index.v1+json", index(m))
	reg.PushManifest(t, "m", "two", "application/vnd.oci.image.index.v1+json", index(m, other))
	src, err := Open(context.Background(), "oci://"+reg.Host+"/m:one", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(src.Location(), "@"+m.Digest) {
		t.Errorf("Location %s, want the manifest %s", src.Location(), m.Digest)
	}
	if _, err := Open(context.Background(), "oci://"+reg.Host+"/m:two", Options{}); err == nil || !strings.Contains(err.Error(), "index of 2") {
		t.Errorf("an index of two: %v", err)
	}
}

// TestOCIResume: a layer download cut half way is resumed with a range
// request (closed, as the distribution registry wants it) and the file is
// checked against the layer's digest; a zstd layer is not resumable.
func TestOCIResume(t *testing.T) {
	reg := sourcetest.NewRegistry(t)
	weights := bytes.Repeat([]byte("0123456789"), 10_000)
	reg.PushModel(t, "m", "v1", "", "", []sourcetest.Layer{{MediaType: "application/vnd.cncf.model.weight.v1.raw",
		Annotations: map[string]string{AnnotationFilepath: "model.safetensors"}, Data: weights}})
	var ranges []string
	cut := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/") {
			if rg := r.Header.Get("Range"); rg != "" {
				ranges = append(ranges, rg)
			} else if !cut {
				cut = true
				w.Header().Set("Content-Length", strconv.Itoa(len(weights)))
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(weights[:len(weights)/2])
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler)
			}
		}
		reg.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	src, err := Open(context.Background(), "oci://"+strings.TrimPrefix(srv.URL, "http://")+"/m:v1", Options{Limits: Limits{Backoff: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := Fetch(context.Background(), src, dir, Limits{Backoff: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil || !bytes.Equal(got, weights) {
		t.Fatalf("the resumed file differs (%d bytes, %v)", len(got), err)
	}
	if len(ranges) != 1 || ranges[0] != "bytes=50000-99999" {
		t.Errorf("ranges %v, want one bytes=50000-99999", ranges)
	}
	if _, err := src.(RangeOpener).OpenRange(context.Background(), "model.safetensors", int64(len(weights))); err == nil {
		t.Error("a resume past the end was sent")
	}
}
