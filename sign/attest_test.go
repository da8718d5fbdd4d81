package sign

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/internal/testutil"
)

const (
	digestA = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
	digestB = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
)

// refPKI reads the reference test key, its certificate, the intermediate
// and the root CA.
func refPKI(t *testing.T) (key *ecdsa.PrivateKey, signer *CertificateSigner, ca *CertificateVerifier) {
	t.Helper()
	dir := testutil.SharedDir(t, "specs", "model-signing", "reference-bundles", "keys", "certificate")
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	key, err := ParsePrivateKey(read("signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err1 := ParseCertificates(read("signing-key-cert.pem"))
	inter, err2 := ParseCertificates(read("int-ca-cert.pem"))
	root, err3 := ParseCertificates(read("ca-cert.pem"))
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	signer, err = NewCertificateSigner(key, leaf[0], inter)
	if err != nil {
		t.Fatal(err)
	}
	return key, signer, NewCertificateVerifier(root)
}

type testPredicate struct {
	Verdict string `json:"verdict"`
	Offset  int64  `json:"offset"`
}

func TestAttestRoundTrip(t *testing.T) {
	key, certSigner, ca := refPKI(t)
	keySigner, _ := NewKeySigner(key)
	kv, _ := NewKeyVerifier(&key.PublicKey)
	hint, _ := KeyHint(&key.PublicKey)
	subjects := []Subject{{"sub/b.bin", digestB}, {"a.txt", digestA}}
	pred := testPredicate{Verdict: "pass", Offset: 1<<53 + 1}
	for _, tc := range []struct {
		name   string
		s      Signer
		v      Verifier
		signer string
	}{
		{"key", keySigner, kv, hint},
		{"certificate", certSigner, ca, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := Attest(subjects, "https://example.com/p/v1", pred, tc.s)
			if err != nil {
				t.Fatal(err)
			}
			b, err := ParseBundle(data)
			if err != nil {
				t.Fatal(err)
			}
			a, err := VerifyAttestation(b, tc.v, "https://example.com/p/v1")
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Subjects) != 2 || a.Subjects[0] != subjects[1] || a.Subjects[1] != subjects[0] {
				t.Errorf("subjects %v", a.Subjects)
			}
			var got testPredicate
			if err := json.Unmarshal(a.Predicate, &got); err != nil || got != pred {
				t.Errorf("predicate %s: %v", a.Predicate, err)
			}
			if tc.signer != "" && a.Signer != tc.signer || a.Signer == "" {
				t.Errorf("signer %q, want %q", a.Signer, tc.signer)
			}
			if tc.name == "certificate" && !strings.Contains(a.Signer, "CN=") {
				t.Errorf("signer %q is not a certificate subject", a.Signer)
			}
			if _, err := VerifyAttestation(b, tc.v, "https://example.com/other"); !errors.Is(err, ErrPayload) {
				t.Errorf("wrong predicate type: %v", err)
			}
			other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			ov, _ := NewKeyVerifier(&other.PublicKey)
			if _, err := VerifyAttestation(b, ov, "https://example.com/p/v1"); !errors.Is(err, ErrSignature) {
				t.Errorf("other key: %v", err)
			}
		})
	}
}

func TestAttestRefusals(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := NewKeySigner(key)
	for _, tc := range []struct {
		subjects []Subject
		pred     any
	}{
		{nil, map[string]any{}},
		{[]Subject{{"../x", digestA}}, map[string]any{}},
		{[]Subject{{"/x", digestA}}, map[string]any{}},
		{[]Subject{{"a/./x", digestA}}, map[string]any{}},
		{[]Subject{{".", digestA}}, map[string]any{}},
		{[]Subject{{"x", "abc"}}, map[string]any{}},
		{[]Subject{{"x", strings.ToUpper(digestA)}}, map[string]any{}},
		{[]Subject{{"x", digestA}, {"x", digestB}}, map[string]any{}},
		{[]Subject{{"x", digestA}}, []int{1}},
		{[]Subject{{"x", digestA}}, nil},
	} {
		if _, err := Attest(tc.subjects, "https://example.com/p/v1", tc.pred, s); err == nil {
			t.Errorf("Attest(%v, %v) succeeded", tc.subjects, tc.pred)
		}
	}
}

// TestVerifyAttestationHostile signs statements Attest would not write:
// VerifyAttestation refuses them with ErrPayload.
func TestVerifyAttestationHostile(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := NewKeySigner(key)
	v, _ := NewKeyVerifier(&key.PublicKey)
	const pt = "https://example.com/p/v1"
	for _, payload := range []string{
		`{"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "../etc/passwd", "digest": {"sha256": "` + digestA + `"}}], "predicateType": "` + pt + `", "predicate": {}}`,
		`{"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "/abs", "digest": {"sha256": "` + digestA + `"}}], "predicateType": "` + pt + `", "predicate": {}}`,
		`{"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "a", "digest": {"sha512": "` + digestA + `"}}], "predicateType": "` + pt + `", "predicate": {}}`,
		`{"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "a", "digest": {"sha256": "` + digestA + `"}}, {"name": "a", "digest": {"sha256": "` + digestB + `"}}], "predicateType": "` + pt + `", "predicate": {}}`,
		`{"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicateType": "` + pt + `", "predicate": {}}`,
		`{"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "a", "digest": {"sha256": "` + digestA + `"}}], "predicateType": "` + pt + `"}`,
		`{"_type": "https://in-toto.io/Statement/v0.1", "subject": [{"name": "a", "digest": {"sha256": "` + digestA + `"}}], "predicateType": "` + pt + `", "predicate": {}}`,
		`not json`,
	} {
		data, err := signPayload([]byte(payload), s)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseBundle(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := VerifyAttestation(b, v, pt); !errors.Is(err, ErrPayload) {
			t.Errorf("%s: %v", payload, err)
		}
	}
}

// TestVerifyAttestationOfManifest: a model signature is not a scan
// attestation, and an attestation is not a model signature.
func TestVerifyAttestationOfManifest(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := NewKeySigner(key)
	v, _ := NewKeyVerifier(&key.PublicKey)
	m := &Manifest{ModelName: "m", Serialization: Serialization{Method: MethodFiles, HashType: "sha256"},
		Resources: []Resource{{Name: "a", Algorithm: "sha256", Digest: make([]byte, 32)}}}
	data, err := SignManifest(m, s)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ParseBundle(data)
	if _, err := VerifyAttestation(b, v, ScanPredicateType); !errors.Is(err, ErrPayload) {
		t.Errorf("manifest as attestation: %v", err)
	}
	data, err = Attest([]Subject{{"a", digestA}}, ScanPredicateType, map[string]any{"x": 1}, s)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = ParseBundle(data)
	if _, err := VerifyBundleManifest(b, v); !errors.Is(err, ErrPayload) {
		t.Errorf("attestation as manifest: %v", err)
	}
}
