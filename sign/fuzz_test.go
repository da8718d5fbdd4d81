package sign_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/violet-mlsecops/violet/sign"
)

// fuzzSeeds adds the reference bundles and the OMS test vectors.
func fuzzSeeds(f *testing.F) {
	ref := filepath.Join("..", "testdata", "specs", "model-signing")
	for _, pattern := range []string{"reference-bundles/*/model.sig", "oms-spec/test-vectors/v1.0/*/*.json"} {
		files, _ := filepath.Glob(filepath.Join(ref, pattern))
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte(`{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}`))
}

// FuzzParseBundle parses arbitrary bytes as a bundle and verifies it with
// a key: no panic, and every failure is a signature or payload error.
func FuzzParseBundle(f *testing.F) {
	fuzzSeeds(f)
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	v, _ := sign.NewKeyVerifier(&key.PublicKey)
	cv := sign.NewCertificateVerifier(nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := sign.ParseBundle(data)
		if err != nil {
			if !errors.Is(err, sign.ErrSignature) {
				t.Fatalf("ParseBundle: %v", err)
			}
			return
		}
		for _, v := range []sign.Verifier{v, cv} {
			if _, err := sign.VerifyBundleManifest(b, v); err != nil && !errors.Is(err, sign.ErrSignature) && !errors.Is(err, sign.ErrPayload) {
				t.Fatalf("VerifyBundleManifest: %v", err)
			}
		}
	})
}

// FuzzParsePayload parses arbitrary bytes as a signed statement: no panic,
// errors wrap ErrPayload, and a manifest it accepts is consistent.
func FuzzParsePayload(f *testing.F) {
	f.Add([]byte(`{"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "m", "digest": {"sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}], "predicateType": "https://model_signing/signature/v1.0", "predicate": {"serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": false}, "resources": []}}`))
	f.Add([]byte(`{"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "a", "digest": {"sha256": "00"}}], "predicateType": "https://model_signing/Digests/v0.1", "predicate": {}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := sign.ParsePayload(data)
		if err != nil {
			if !errors.Is(err, sign.ErrPayload) {
				t.Fatalf("ParsePayload: %v", err)
			}
			return
		}
		for _, r := range m.Resources {
			if r.Name == "" || len(r.Digest) == 0 {
				t.Fatalf("resource %+v", r)
			}
		}
	})
}
