package sign_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/sign"
)

// refDir is the reference data of testdata/specs/model-signing.
func refDir(t testing.TB) string {
	return testutil.SharedDir(t, "specs", "model-signing")
}

func read(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// verifiers are the three ways to trust the reference bundles, by kind.
func verifiers(t testing.TB) map[string]sign.Verifier {
	ref := refDir(t)
	keys := filepath.Join(ref, "reference-bundles", "keys", "certificate")
	pub, err := sign.ParsePublicKey(read(t, filepath.Join(keys, "signing-key-pub.pem")))
	if err != nil {
		t.Fatal(err)
	}
	kv, err := sign.NewKeyVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	cas, err := sign.ParseCertificates(read(t, filepath.Join(keys, "ca-cert.pem")))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := sign.NewSigstoreVerifier(read(t, filepath.Join(ref, "reference-bundles", "sigstore-public-good-trusted_root.json")),
		"stefanb@us.ibm.com", "https://sigstore.verify.ibm.com/oauth2")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]sign.Verifier{"elliptic-key": kv, "certificate": sign.NewCertificateVerifier(cas), "sigstore": sv}
}

// otherVerifiers trust someone else: another key, another CA, another
// identity.
func otherVerifiers(t testing.TB) map[string]sign.Verifier {
	ref := refDir(t)
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	kv, _ := sign.NewKeyVerifier(&key.PublicKey)
	ca, _ := selfSignedCA(t)
	sv, err := sign.NewSigstoreVerifier(read(t, filepath.Join(ref, "reference-bundles", "sigstore-public-good-trusted_root.json")),
		"mallory@example.com", "https://sigstore.verify.ibm.com/oauth2")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]sign.Verifier{"elliptic-key": kv, "certificate": sign.NewCertificateVerifier([]*x509.Certificate{ca}), "sigstore": sv}
}

// selfSignedCA makes a CA certificate and its key.
func selfSignedCA(t testing.TB) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

// referenceModels lists every reference bundle with the model it signs:
// the folder, or the single file signme-1 (v0.3.1 and v1.0.0 key bundles).
func referenceModels(t testing.TB) []struct{ name, kind, model, sig string } {
	root := filepath.Join(refDir(t), "reference-bundles")
	var out []struct{ name, kind, model, sig string }
	for _, v := range []string{"v0.2.0", "v0.3.1", "v1.0.0", "v1.0.1", "v1.1.0"} {
		for _, kind := range []string{"certificate", "elliptic-key", "sigstore"} {
			dir := filepath.Join(root, v+"-"+kind)
			if _, err := os.Stat(dir); err != nil {
				continue
			}
			model := dir
			if kind == "elliptic-key" && (v == "v0.3.1" || v == "v1.0.0") {
				model = filepath.Join(dir, "signme-1")
			}
			out = append(out, struct{ name, kind, model, sig string }{v + "-" + kind, kind, model, filepath.Join(dir, "model.sig")})
		}
	}
	if len(out) < 13 {
		t.Fatalf("only %d reference bundles", len(out))
	}
	return out
}

// verifyRef verifies a reference model, ignoring ignore-me as the
// reference tool is told to.
func verifyRef(t testing.TB, model, sig string, v sign.Verifier, opts sign.VerifyOptions) (*sign.Result, error) {
	t.Helper()
	b, err := sign.ParseBundle(read(t, sig))
	if err != nil {
		t.Fatal(err)
	}
	opts.SignaturePath = sig
	opts.IgnorePaths = append(opts.IgnorePaths, filepath.Join(filepath.Dir(sig), "ignore-me"))
	return sign.VerifyModel(context.Background(), model, b, v, opts)
}

// TestReferenceBundles verifies every bundle the reference tool wrote, in
// every version and with every method, and refuses each with the trust
// of another kind or another signer.
func TestReferenceBundles(t *testing.T) {
	good, bad := verifiers(t), otherVerifiers(t)
	for _, rb := range referenceModels(t) {
		t.Run(rb.name, func(t *testing.T) {
			r, err := verifyRef(t, rb.model, rb.sig, good[rb.kind], sign.VerifyOptions{})
			if err != nil || !r.OK() {
				t.Fatalf("err %v, result %+v", err, r)
			}
			if len(r.Signed.Resources) == 0 {
				t.Fatal("empty manifest")
			}
			for kind, v := range good {
				if kind == rb.kind {
					continue
				}
				if _, err := verifyRef(t, rb.model, rb.sig, v, sign.VerifyOptions{}); !errors.Is(err, sign.ErrSignature) {
					t.Errorf("verified with the %s verifier: %v", kind, err)
				}
			}
			if _, err := verifyRef(t, rb.model, rb.sig, bad[rb.kind], sign.VerifyOptions{}); !errors.Is(err, sign.ErrSignature) {
				t.Errorf("verified with another %s: %v", rb.kind, err)
			}
		})
	}
}

// copyDir copies the regular files of src into a new temporary folder.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := os.WriteFile(filepath.Join(dst, e.Name()), read(t, filepath.Join(src, e.Name())), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dst
}

// TestTampering: a modified, an added and a missing file are each named,
// and the signature is not blamed for them.
func TestTampering(t *testing.T) {
	v := verifiers(t)["elliptic-key"]
	src := filepath.Join(refDir(t), "reference-bundles", "v1.1.0-elliptic-key")
	for _, tc := range []struct {
		name   string
		change func(dir string) error
		opts   sign.VerifyOptions
		want   sign.Diff
	}{
		{"modified", func(d string) error { return os.WriteFile(filepath.Join(d, "signme-1"), []byte("tampered"), 0o644) }, sign.VerifyOptions{}, sign.Diff{Modified: []string{"signme-1"}}},
		{"added", func(d string) error { return os.WriteFile(filepath.Join(d, "backdoor.py"), []byte("import os"), 0o644) }, sign.VerifyOptions{}, sign.Diff{Added: []string{"backdoor.py"}}},
		{"added, unsigned files ignored", func(d string) error { return os.WriteFile(filepath.Join(d, "notes.txt"), nil, 0o644) }, sign.VerifyOptions{IgnoreUnsignedFiles: true}, sign.Diff{}},
		{"added, path ignored", func(d string) error { return os.WriteFile(filepath.Join(d, "notes.txt"), nil, 0o644) }, sign.VerifyOptions{IgnorePaths: []string{"notes.txt"}}, sign.Diff{}},
		{"missing", func(d string) error { return os.Remove(filepath.Join(d, "signme-2")) }, sign.VerifyOptions{}, sign.Diff{Missing: []string{"signme-2"}}},
		{"missing, unsigned files ignored", func(d string) error { return os.Remove(filepath.Join(d, "signme-2")) }, sign.VerifyOptions{IgnoreUnsignedFiles: true}, sign.Diff{Missing: []string{"signme-2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, src)
			if err := tc.change(dir); err != nil {
				t.Fatal(err)
			}
			r, err := verifyRef(t, dir, filepath.Join(dir, "model.sig"), v, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Diff.Modified, tc.want.Modified) || !slices.Equal(r.Diff.Added, tc.want.Added) || !slices.Equal(r.Diff.Missing, tc.want.Missing) {
				t.Errorf("diff %+v, want %+v", r.Diff, tc.want)
			}
		})
	}
}

// TestOMSTestVectors runs the test vectors of the OMS specification: the
// valid bundles verify, the invalid ones are refused with a reason.
func TestOMSTestVectors(t *testing.T) {
	vecs := filepath.Join(refDir(t), "oms-spec", "test-vectors", "v1.0")
	vs := verifiers(t)
	for _, tc := range []struct {
		file, kind string
		want       error
	}{
		{"valid/key.bundle.json", "elliptic-key", nil},
		{"valid/certificate.bundle.json", "certificate", nil},
		{"valid/sigstore.bundle.json", "sigstore", nil},
		{"invalid/empty.bundle.json", "elliptic-key", sign.ErrSignature},
		{"invalid/missing-envelope.bundle.json", "elliptic-key", sign.ErrSignature},
		{"invalid/missing-tlog-entries.bundle.json", "sigstore", sign.ErrSignature},
		{"invalid/missing-verification-material.bundle.json", "elliptic-key", sign.ErrSignature},
		{"invalid/missing-verification-material.bundle.json", "certificate", sign.ErrSignature},
		// The payload was edited after signing: the signature fails first
		// (TestWrongPredicate checks the predicate on its own).
		{"invalid-payload/wrong-predicate.bundle.json", "elliptic-key", sign.ErrSignature},
	} {
		t.Run(tc.file+" "+tc.kind, func(t *testing.T) {
			b, err := sign.ParseBundle(read(t, filepath.Join(vecs, tc.file)))
			if err == nil {
				var m *sign.Manifest
				m, err = sign.VerifyBundleManifest(b, vs[tc.kind])
				if err == nil && len(m.Resources) != 2 {
					t.Errorf("resources %+v", m.Resources)
				}
			}
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if err != nil {
				t.Logf("%v", err)
			}
		})
	}
}

// TestWrongPredicate: the payload of the OMS vector with a wrong
// predicate type is refused for it.
func TestWrongPredicate(t *testing.T) {
	var doc struct {
		DSSEEnvelope struct {
			Payload []byte `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	data := read(t, filepath.Join(refDir(t), "oms-spec", "test-vectors", "v1.0", "invalid-payload", "wrong-predicate.bundle.json"))
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	_, err := sign.ParsePayload(doc.DSSEEnvelope.Payload)
	if !errors.Is(err, sign.ErrPayload) || !strings.Contains(err.Error(), "wrong-predicate") {
		t.Errorf("error %v", err)
	}
}

// writeModel makes a small model folder.
func writeModel(t *testing.T) string {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"config.json": `{"model_type": "llama"}`, "model.safetensors": strings.Repeat("w", 5000),
		"tokenizer/vocab.txt": "a\nb\n", "a-b.bin": "x", "a/b.bin": "y", ".git/HEAD": "ref: main",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestSignVerify signs with keys on the three curves and with a
// certificate of the reference PKI, writes the bundle inside the model,
// and verifies it; a wrong key fails on the signature, a change on the
// content.
func TestSignVerify(t *testing.T) {
	keys := filepath.Join(refDir(t), "reference-bundles", "keys", "certificate")
	refKey, err := sign.ParsePrivateKey(read(t, filepath.Join(keys, "signing-key.pem")))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := sign.ParseCertificates(read(t, filepath.Join(keys, "signing-key-cert.pem")))
	if err != nil {
		t.Fatal(err)
	}
	chain, err := sign.ParseCertificates(read(t, filepath.Join(keys, "int-ca-cert.pem")))
	if err != nil {
		t.Fatal(err)
	}
	cas, _ := sign.ParseCertificates(read(t, filepath.Join(keys, "ca-cert.pem")))
	certSigner, err := sign.NewCertificateSigner(refKey, leaf[0], chain)
	if err != nil {
		t.Fatal(err)
	}
	type pair struct {
		signer sign.Signer
		good   sign.Verifier
	}
	cases := map[string]pair{"certificate": {certSigner, sign.NewCertificateVerifier(cas)}}
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		key, _ := ecdsa.GenerateKey(c, rand.Reader)
		s, err := sign.NewKeySigner(key)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := sign.NewKeyVerifier(&key.PublicKey)
		cases[c.Params().Name] = pair{s, v}
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	wrong, _ := sign.NewKeyVerifier(&other.PublicKey)
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			dir := writeModel(t)
			m, err := sign.Hash(context.Background(), dir, sign.DefaultSerialization(), sign.HashOptions{})
			if err != nil {
				t.Fatal(err)
			}
			bundle, err := sign.SignManifest(m, p.signer)
			if err != nil {
				t.Fatal(err)
			}
			sig := filepath.Join(dir, "model.sig")
			if err := os.WriteFile(sig, bundle, 0o644); err != nil {
				t.Fatal(err)
			}
			b, err := sign.ParseBundle(bundle)
			if err != nil {
				t.Fatal(err)
			}
			r, err := sign.VerifyModel(context.Background(), dir, b, p.good, sign.VerifyOptions{SignaturePath: sig})
			if err != nil || !r.OK() || len(r.Signed.Resources) != 5 {
				t.Fatalf("verify: %v %+v", err, r)
			}
			if _, err := sign.VerifyModel(context.Background(), dir, b, wrong, sign.VerifyOptions{SignaturePath: sig}); !errors.Is(err, sign.ErrSignature) {
				t.Errorf("wrong key: %v", err)
			}
			if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "llama", "auto_map": {}}`), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err = sign.VerifyModel(context.Background(), dir, b, p.good, sign.VerifyOptions{SignaturePath: sig})
			if err != nil || !slices.Equal(r.Diff.Modified, []string{"config.json"}) {
				t.Errorf("after a change: %v %+v", err, r)
			}
		})
	}
}

// TestHostileManifest: a validly signed manifest that names files outside
// the model is refused before anything is read.
func TestHostileManifest(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := sign.NewKeySigner(key)
	v, _ := sign.NewKeyVerifier(&key.PublicKey)
	dir := writeModel(t)
	for _, name := range []string{"../outside", "/etc/passwd", "a/../../x", "./config.json", "a//b", "."} {
		m := &sign.Manifest{ModelName: "m", Serialization: sign.DefaultSerialization(), Resources: []sign.Resource{
			{Name: "config.json", Algorithm: "sha256", Digest: make([]byte, 32)},
			{Name: name, Algorithm: "sha256", Digest: make([]byte, 32)},
		}}
		bundle, err := sign.SignManifest(m, s)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := sign.ParseBundle(bundle)
		if _, err := sign.VerifyModel(context.Background(), dir, b, v, sign.VerifyOptions{}); !errors.Is(err, sign.ErrPayload) {
			t.Errorf("%q: %v", name, err)
		}
	}
}

// TestCertificateUsage applies the reference tool's rule: the signing
// certificate needs a key usage extension allowing digital signatures, or
// one without it and code signing in its extended key usage.
func TestCertificateUsage(t *testing.T) {
	ca, caKey := selfSignedCA(t)
	for _, tc := range []struct {
		name  string
		usage x509.KeyUsage
		ext   []x509.ExtKeyUsage
		ok    bool
	}{
		{"digital signature", x509.KeyUsageDigitalSignature, nil, true},
		{"key usage without it, code signing", x509.KeyUsageKeyAgreement, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, true},
		{"no key usage, code signing", 0, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, false},
		{"key agreement only", x509.KeyUsageKeyAgreement, nil, false},
	} {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "signer"},
			NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour), KeyUsage: tc.usage, ExtKeyUsage: tc.ext}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(der)
		s, err := sign.NewCertificateSigner(key, leaf, nil)
		if (err == nil) != tc.ok {
			t.Errorf("%s: signer error %v", tc.name, err)
		}
		if err != nil {
			continue
		}
		bundle, err := sign.SignManifest(&sign.Manifest{ModelName: "m", Serialization: sign.DefaultSerialization(),
			Resources: []sign.Resource{{Name: "a", Algorithm: "sha256", Digest: make([]byte, 32)}}}, s)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := sign.ParseBundle(bundle)
		if _, err := sign.VerifyBundleManifest(b, sign.NewCertificateVerifier([]*x509.Certificate{ca})); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// TestCompressedPublicKey: a verifier key may be given as a compressed
// point, as the reference tool accepts it.
func TestCompressedPublicKey(t *testing.T) {
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		key, _ := ecdsa.GenerateKey(c, rand.Reader)
		raw, _ := key.PublicKey.Bytes()
		n := (len(raw) - 1) / 2
		compressed := append([]byte{2 + raw[len(raw)-1]&1}, raw[1:1+n]...)
		pub, err := sign.ParsePublicKey(compressed)
		if err != nil || !pub.Equal(&key.PublicKey) {
			t.Errorf("%s: %v", c.Params().Name, err)
		}
	}
}

// TestBundleTampering: a bundle whose media type, payload type or payload
// was changed after signing is refused, and says why.
func TestBundleTampering(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := sign.NewKeySigner(key)
	v, _ := sign.NewKeyVerifier(&key.PublicKey)
	m, err := sign.Hash(context.Background(), writeModel(t), sign.DefaultSerialization(), sign.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := sign.SignManifest(m, s)
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(map[string]any){
		"media type":   func(b map[string]any) { b["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1" },
		"payload type": func(b map[string]any) { b["dsseEnvelope"].(map[string]any)["payloadType"] = "application/json" },
		"payload": func(b map[string]any) {
			env := b["dsseEnvelope"].(map[string]any)
			env["payload"] = strings.Replace(env["payload"].(string), "A", "B", 1)
		},
		"two signatures": func(b map[string]any) {
			env := b["dsseEnvelope"].(map[string]any)
			sigs := env["signatures"].([]any)
			env["signatures"] = append(sigs, sigs[0])
		},
	} {
		var doc map[string]any
		if err := json.Unmarshal(bundle, &doc); err != nil {
			t.Fatal(err)
		}
		edit(doc)
		data, _ := json.Marshal(doc)
		b, err := sign.ParseBundle(data)
		if err == nil {
			_, err = sign.VerifyBundleManifest(b, v)
		}
		if !errors.Is(err, sign.ErrSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestIgnorePathThroughLink: an absolute ignore path that reaches the
// model through a symbolic link still names the file inside it.
func TestIgnorePathThroughLink(t *testing.T) {
	dir := writeModel(t)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Skip(err)
	}
	s := sign.DefaultSerialization()
	s.IgnorePaths = append(s.IgnorePaths, filepath.Join(link, "config.json"))
	m, err := sign.Hash(context.Background(), dir, s, sign.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(m.Files(), "config.json") || !slices.Contains(m.Serialization.IgnorePaths, "config.json") {
		t.Errorf("files %v, ignore paths %v", m.Files(), m.Serialization.IgnorePaths)
	}
}
