package sign_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/sign"
)

// testCert is a certificate made by the tests, with its key.
type testCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// issue makes a certificate valid from notBefore to notAfter, issued by
// parent (self-signed when nil).
func issue(t *testing.T, name string, parent *testCert, ca bool, notBefore, notAfter time.Time, extra ...pkix.Extension) *testCert {
	t.Helper()
	var p *testutil.Cert
	if parent != nil {
		p = &testutil.Cert{Cert: parent.cert, Key: parent.key}
	}
	c := testutil.IssueCert(t, name, p, ca, notBefore, notAfter, extra...)
	return &testCert{cert: c.Cert, key: c.Key}
}

// date is midnight UTC of a day.
func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// certBundle signs a small manifest with leaf, whose chain is chain.
func certBundle(t *testing.T, leaf *testCert, chain ...*testCert) []byte {
	t.Helper()
	var certs []*x509.Certificate
	for _, c := range chain {
		certs = append(certs, c.cert)
	}
	s, err := sign.NewCertificateSigner(leaf.key, leaf.cert, certs)
	if err != nil {
		t.Fatal(err)
	}
	data, err := sign.SignManifest(&sign.Manifest{ModelName: "m", Serialization: sign.DefaultSerialization(),
		Resources: []sign.Resource{{Name: "a", Algorithm: "sha256", Digest: make([]byte, 32)}}}, s)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// verifyCert verifies a bundle against root with opts.
func verifyCert(t *testing.T, data []byte, root *testCert, opts sign.CertificateOptions) error {
	t.Helper()
	v, err := sign.NewCertificateVerifierWith([]*x509.Certificate{root.cert}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sign.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sign.VerifyBundleManifest(b, v)
	return err
}

// TestCertificateValidityTime: a private-PKI chain is checked now by
// default, so that a chain with an expired or not yet valid certificate
// is refused, a leaf backdated under an intermediate that expired in 2020
// included. The model_signing rule (check at the leaf's notBefore) is
// only applied when asked for, and even then a certificate that is not
// valid yet is refused.
func TestCertificateValidityTime(t *testing.T) {
	now := time.Now()
	root := issue(t, "root", nil, true, date(2015, 1, 1), now.AddDate(10, 0, 0))
	inter := issue(t, "intermediate", root, true, date(2015, 1, 1), now.AddDate(10, 0, 0))
	oldInter := issue(t, "old intermediate", root, true, date(2019, 1, 1), date(2020, 1, 1))
	compat := sign.CertificateOptions{AtSigningCertStart: true}

	for _, tc := range []struct {
		name       string
		bundle     []byte
		defaultErr string // "" when it verifies by default
		compatOK   bool   // verifies at the signing certificate's start
	}{
		{"valid chain", certBundle(t, issue(t, "leaf", inter, false, now.Add(-time.Hour), now.Add(time.Hour)), inter), "", true},
		{"leaf backdated under an intermediate expired in 2020",
			certBundle(t, issue(t, "backdated leaf", oldInter, false, date(2019, 6, 1), now.AddDate(5, 0, 0)), oldInter),
			"the certificate CN=old intermediate of the signing chain is valid from 2019-01-01T00:00:00Z to 2020-01-01T00:00:00Z, not at the time checked, now", true},
		{"expired leaf", certBundle(t, issue(t, "expired leaf", inter, false, date(2020, 1, 1), date(2021, 1, 1)), inter),
			"the certificate CN=expired leaf of the signing chain is valid from 2020-01-01T00:00:00Z to 2021-01-01T00:00:00Z, not at the time checked, now", true},
		{"leaf not valid yet", certBundle(t, issue(t, "future leaf", inter, false, now.Add(24*time.Hour), now.Add(48*time.Hour)), inter),
			"the certificate CN=future leaf of the signing chain is valid from", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verifyCert(t, tc.bundle, root, sign.CertificateOptions{})
			switch {
			case tc.defaultErr == "" && err != nil:
				t.Errorf("default: %v", err)
			case tc.defaultErr != "" && (!errors.Is(err, sign.ErrSignature) || !strings.Contains(err.Error(), tc.defaultErr)):
				t.Errorf("default: got %v, want an error with %q", err, tc.defaultErr)
			}
			err = verifyCert(t, tc.bundle, root, compat)
			if tc.compatOK != (err == nil) || err != nil && !errors.Is(err, sign.ErrSignature) {
				t.Errorf("at the signing certificate's start: %v, want success %v", err, tc.compatOK)
			}
		})
	}
	if _, err := sign.NewCertificateVerifierWith(nil, sign.CertificateOptions{AtSigningCertStart: true, TimestampRoots: []*x509.Certificate{root.cert}}); err == nil {
		t.Error("both times at once: no error")
	}
}

// oidEKU is the extended key usage extension.
var oidEKU = asn1.ObjectIdentifier{2, 5, 29, 37}

// newTSA makes a timestamp authority: a root and a leaf whose only,
// critical, extended key usage is time stamping (RFC 3161 2.3).
func newTSA(t *testing.T, name string) (root, leaf *testCert) {
	t.Helper()
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		t.Fatal(err)
	}
	root = issue(t, name+" root", nil, true, date(2015, 1, 1), time.Now().AddDate(10, 0, 0))
	leaf = issue(t, name, root, false, date(2015, 1, 1), time.Now().AddDate(10, 0, 0), pkix.Extension{Id: oidEKU, Critical: true, Value: eku})
	return root, leaf
}

// stamp adds to a bundle an RFC 3161 timestamp of tsa, at time at, over
// the signature of the bundle sigOf (the bundle itself when nil).
func stamp(t *testing.T, bundle []byte, tsa *testCert, at time.Time, sigOf []byte) []byte {
	t.Helper()
	if sigOf == nil {
		sigOf = bundle
	}
	var src struct {
		DSSEEnvelope struct {
			Signatures []struct{ Sig []byte }
		}
	}
	if err := json.Unmarshal(sigOf, &src); err != nil || len(src.DSSEEnvelope.Signatures) != 1 {
		t.Fatalf("bundle: %v", err)
	}
	digest := sha256.Sum256(src.DSSEEnvelope.Signatures[0].Sig)
	ts := &timestamp.Timestamp{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], Time: at,
		Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}, AddTSACertificate: true}
	resp, err := ts.CreateResponseWithOpts(tsa.cert, tsa.key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(bundle, &doc); err != nil {
		t.Fatal(err)
	}
	doc["verificationMaterial"].(map[string]any)["timestampVerificationData"] = map[string]any{
		"rfc3161Timestamps": []any{map[string]any{"signedTimestamp": resp}},
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCertificateTimestamp: with a trusted timestamp authority, a chain is
// checked at the time of the bundle's RFC 3161 timestamp: a signature
// made while the leaf was valid verifies after it expired. A timestamp of
// another authority, over another signature, or at a time the leaf was
// not valid is refused, and so is an expired leaf without a timestamp.
func TestCertificateTimestamp(t *testing.T) {
	now := time.Now()
	root := issue(t, "root", nil, true, date(2015, 1, 1), now.AddDate(10, 0, 0))
	inter := issue(t, "intermediate", root, true, date(2015, 1, 1), now.AddDate(10, 0, 0))
	leaf := issue(t, "expired leaf", inter, false, date(2020, 1, 1), date(2021, 1, 1))
	tsaRoot, tsa := newTSA(t, "tsa")
	_, otherTSA := newTSA(t, "other tsa")
	trusted := sign.CertificateOptions{TimestampRoots: []*x509.Certificate{tsaRoot.cert}}

	bundle := certBundle(t, leaf, inter)
	another := certBundle(t, leaf, inter)
	inTime := stamp(t, bundle, tsa, date(2020, 6, 1), nil)
	for _, tc := range []struct {
		name   string
		bundle []byte
		opts   sign.CertificateOptions
		err    string // "" when it verifies
	}{
		{"timestamp while the leaf was valid", inTime, trusted, ""},
		{"no timestamp authority given", inTime, sign.CertificateOptions{}, "give its authority's root with --tsa-root"},
		{"no timestamp in the bundle", bundle, trusted, "the bundle carries no RFC 3161 timestamp"},
		{"timestamp after the leaf expired", stamp(t, bundle, tsa, date(2022, 1, 1), nil), trusted, "not at the time checked, the RFC 3161 timestamp 2022-01-01T00:00:00Z"},
		{"timestamp of an untrusted authority", stamp(t, bundle, otherTSA, date(2020, 6, 1), nil), trusted, "no RFC 3161 timestamp of the bundle verifies"},
		{"timestamp over another signature", stamp(t, bundle, tsa, date(2020, 6, 1), another), trusted, "no RFC 3161 timestamp of the bundle verifies"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verifyCert(t, tc.bundle, root, tc.opts)
			if tc.err == "" && err != nil || tc.err != "" && (!errors.Is(err, sign.ErrSignature) || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("got %v, want %q", err, tc.err)
			}
		})
	}
}
