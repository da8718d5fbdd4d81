package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	tu "github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/sign"
)

// refKeys is the reference PKI of testdata/specs/model-signing.
func refKeys(t *testing.T) (ref, keys string) {
	ref = tu.SharedDir(t, "specs", "model-signing", "reference-bundles")
	return ref, filepath.Join(ref, "keys", "certificate")
}

// TestSignVerifyCommands signs a model folder with a key and with a
// certificate, verifies it, then tampers with it: the exit codes and the
// messages say what is at fault.
func TestSignVerifyCommands(t *testing.T) {
	ref, keys := refKeys(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	os.MkdirAll(filepath.Join(model, "sub"), 0o755)
	write(t, model, "config.json", []byte(`{"model_type": "llama"}`))
	write(t, model, "sub/weights.bin", []byte(strings.Repeat("w", 10000)))
	key, pub, ca := filepath.Join(keys, "signing-key.pem"), filepath.Join(keys, "signing-key-pub.pem"), filepath.Join(keys, "ca-cert.pem")

	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"sign", model, "--key", key}, 0, "Signed"},
		{[]string{"verify", model, "--key", pub}, 0, "PASS"},
		{[]string{"verify", model, "--ca", ca}, 1, "not trusted"},
		{[]string{"verify", model}, 2, ""},
		{[]string{"verify", model, "--key", pub, "--ca", ca}, 2, ""},
		{[]string{"verify", model, "--key", pub, "--signature", filepath.Join(dir, "none.sig")}, 2, ""},
		{[]string{"sign", model}, 2, ""},
		{[]string{"sign", model, "--key", key, "--cert", filepath.Join(keys, "signing-key-cert.pem"), "--chain", filepath.Join(keys, "int-ca-cert.pem"), "--signature", filepath.Join(dir, "cert.sig")}, 0, "Signed"},
		{[]string{"verify", model, "--ca", ca, "--signature", filepath.Join(dir, "cert.sig")}, 0, "PASS"},
		{[]string{"verify", model, "--key", pub, "--signature", filepath.Join(dir, "cert.sig")}, 1, "not trusted"},
		{[]string{"hash", model, "--hash", "blake3"}, 0, `"hash_type": "blake3"`},
		{[]string{"hash", filepath.Join(dir, "missing")}, 2, ""},
		{[]string{"verify", filepath.Join(ref, "v1.1.0-sigstore"), "--identity", "stefanb@us.ibm.com", "--issuer", "https://sigstore.verify.ibm.com/oauth2",
			"--trusted-root", filepath.Join(ref, "sigstore-public-good-trusted_root.json"), "--ignore-paths", "ignore-me"}, 0, "PASS"},
		{[]string{"verify", filepath.Join(ref, "v1.1.0-sigstore"), "--identity", "mallory@example.com", "--issuer", "https://sigstore.verify.ibm.com/oauth2",
			"--trusted-root", filepath.Join(ref, "sigstore-public-good-trusted_root.json"), "--ignore-paths", "ignore-me"}, 1, "not trusted"},
	} {
		code, out, errOut := violet(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.out) {
			t.Errorf("violet %v: exit %d (want %d)\nstdout: %s\nstderr: %s", tc.args, code, tc.code, out, errOut)
		}
	}

	write(t, model, "sub/weights.bin", []byte("tampered"))
	write(t, model, "extra.py", []byte("import os"))
	code, out, _ := violet(t, "verify", model, "--key", pub, "--format", "json")
	var r struct {
		Verified        bool
		Modified, Added []string
		SignatureError  string `json:"signature_error"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 1 || r.Verified || r.SignatureError != "" ||
		len(r.Modified) != 1 || r.Modified[0] != "sub/weights.bin" || len(r.Added) != 1 || r.Added[0] != "extra.py" {
		t.Errorf("after tampering: exit %d, %+v, %v\n%s", code, r, err, out)
	}
	if code, out, _ := violet(t, "verify", model, "--key", pub, "--ignore-unsigned-files"); code != 1 || !strings.Contains(out, "modified: sub/weights.bin") || strings.Contains(out, "extra.py") {
		t.Errorf("--ignore-unsigned-files: exit %d\n%s", code, out)
	}
}

// signedDigest is the root digest that the bundle at sig signs.
func signedDigest(t *testing.T, sig string) string {
	t.Helper()
	data, err := os.ReadFile(sig)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		DSSEEnvelope struct{ Payload []byte } `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	m, err := sign.ParsePayload(b.DSSEEnvelope.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return "sha256:" + hex.EncodeToString(m.RootDigest())
}

// TestHashLeavesSignatureOut: violet hash of a signed folder leaves the
// signature out as sign and verify do, and prints the root digest that
// the signature signs.
func TestHashLeavesSignatureOut(t *testing.T) {
	_, keys := refKeys(t)
	model := t.TempDir()
	write(t, model, "config.json", []byte(`{}`))
	write(t, model, "weights.bin", []byte("weights"))
	key := filepath.Join(keys, "signing-key.pem")
	custom := filepath.Join(model, "release.sig")
	for _, tc := range []struct {
		signArgs, hashArgs []string
		sig                string
	}{
		{nil, nil, filepath.Join(model, "model.sig")},
		{[]string{"--signature", custom}, []string{"--signature", custom}, custom},
	} {
		if code, out, errOut := violet(t, append([]string{"sign", model, "--key", key}, tc.signArgs...)...); code != 0 {
			t.Fatalf("sign: exit %d\n%s%s", code, out, errOut)
		}
		code, out, errOut := violet(t, append([]string{"hash", model}, tc.hashArgs...)...)
		var m struct {
			RootDigest string `json:"root_digest"`
			Resources  []struct{ Name string }
		}
		if err := json.Unmarshal([]byte(out), &m); code != 0 || err != nil {
			t.Fatalf("hash: exit %d, %v\n%s%s", code, err, out, errOut)
		}
		for _, r := range m.Resources {
			if r.Name == filepath.Base(tc.sig) {
				t.Errorf("hash %v lists the signature %s", tc.hashArgs, r.Name)
			}
		}
		if want := signedDigest(t, tc.sig); m.RootDigest != want {
			t.Errorf("hash %v: root digest %s, the signature signs %s", tc.hashArgs, m.RootDigest, want)
		}
	}
}

// TestSignFlagValues: flag values that mean nothing are usage errors
// (exit 2) that name the flag.
func TestSignFlagValues(t *testing.T) {
	_, keys := refKeys(t)
	model := t.TempDir()
	write(t, model, "weights.bin", []byte("weights"))
	key, pub, ca := filepath.Join(keys, "signing-key.pem"), filepath.Join(keys, "signing-key-pub.pem"), filepath.Join(keys, "ca-cert.pem")
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"hash", model, "--shard-size", "-5"}, "--shard-size -5"},
		{[]string{"sign", model, "--key", key, "--shard-size", "-5"}, "--shard-size -5"},
		{[]string{"hash", model, "--hash", "md5"}, `--hash "md5"`},
		{[]string{"sign", model, "--key", key, "--hash", "blake2b"}, `--hash "blake2b"`},
		{[]string{"hash", model, "--ignore-paths", ",weights.bin"}, "--ignore-paths: an empty path"},
		{[]string{"verify", model, "--ca", ca, "--verify-time", "yesterday"}, `--verify-time "yesterday"`},
		{[]string{"verify", model, "--key", pub, "--verify-time", "signing-cert-start"}, "use them with --ca"},
		{[]string{"verify", model, "--key", pub, "--tsa-root", ca}, "use them with --ca"},
		{[]string{"verify", model, "--ca", ca, "--tsa-root", ca, "--verify-time", "signing-cert-start"}, "do not combine"},
	} {
		code, out, errOut := violet(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.msg) {
			t.Errorf("violet %q: exit %d, want 2 and %q\nstdout: %s\nstderr: %s", tc.args, code, tc.msg, out, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(model, "model.sig")); err == nil {
		t.Error("a refused sign wrote a signature")
	}
}

// TestVerifyTextEscapes: names in verify's text output are escaped for the
// terminal: an escape sequence or a new line in a file name cannot clear
// the screen or forge a PASS line. The JSON report names files as the
// manifest does.
func TestVerifyTextEscapes(t *testing.T) {
	_, keys := refKeys(t)
	model := t.TempDir()
	hostile := "x\x1b[2J\nPASS: all good \xff.bin"
	if err := os.WriteFile(filepath.Join(model, hostile), []byte("one"), 0o644); err != nil {
		t.Skipf("this file system refuses the name: %v", err)
	}
	write(t, model, "weights.bin", []byte("weights"))
	key, pub := filepath.Join(keys, "signing-key.pem"), filepath.Join(keys, "signing-key-pub.pem")
	if code, out, errOut := violet(t, "sign", model, "--key", key); code != 0 {
		t.Fatalf("sign: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := violet(t, "verify", model, "--key", pub); code != 0 || !strings.HasPrefix(out, "PASS") {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}
	write(t, model, hostile, []byte("changed"))
	write(t, model, "added\x1b]0;title\x07.py", []byte("import os"))
	code, out, _ := violet(t, "verify", model, "--key", pub)
	want := `modified: x\x1b[2J\x0aPASS: all good \xff.bin`
	if code != 1 || strings.ContainsAny(out, "\x1b\x07") || strings.Count(out, "\n") != 4 || !strings.Contains(out, want) ||
		!strings.Contains(out, `added:    added\x1b]0;title\x07.py`) {
		t.Errorf("exit %d, want 1 and %q in\n%s", code, want, out)
	}
	code, out, _ = violet(t, "verify", model, "--key", pub, "--format", "json")
	var r struct{ Modified []string }
	if err := json.Unmarshal([]byte(out), &r); code != 1 || err != nil || len(r.Modified) != 1 || r.Modified[0] != sign.EncodeName(hostile) {
		t.Errorf("json: exit %d, %v, %q", code, err, r.Modified)
	}
}

// TestSignVerifyNonUTF8Names: a folder whose file names are not UTF-8
// signs and verifies from the command line, and a change is named.
func TestSignVerifyNonUTF8Names(t *testing.T) {
	_, keys := refKeys(t)
	model := t.TempDir()
	if err := os.WriteFile(filepath.Join(model, "w\xff.bin"), []byte("one"), 0o644); err != nil {
		t.Skipf("this file system refuses the name: %v", err)
	}
	write(t, model, "w\xfe.bin", []byte("two"))
	key, pub := filepath.Join(keys, "signing-key.pem"), filepath.Join(keys, "signing-key-pub.pem")
	if code, out, errOut := violet(t, "sign", model, "--key", key); code != 0 {
		t.Fatalf("sign: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := violet(t, "verify", model, "--key", pub); code != 0 {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
	}
	write(t, model, "w\xfe.bin", []byte("changed"))
	if code, out, _ := violet(t, "verify", model, "--key", pub); code != 1 || !strings.Contains(out, `modified: w\xfe.bin`) {
		t.Errorf("after a change: exit %d\n%s", code, out)
	}
}

// pkiCert is a certificate made by the test, with its key, written as PEM.
type pkiCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string // the certificate's file
}

// newCert makes a certificate valid from notBefore to notAfter, issued by
// parent (self-signed when nil), and writes it and its key into dir.
func newCert(t *testing.T, dir, name string, parent *pkiCert, ca bool, notBefore, notAfter time.Time, extra ...pkix.Extension) *pkiCert {
	t.Helper()
	var p *tu.Cert
	if parent != nil {
		p = &tu.Cert{Cert: parent.cert, Key: parent.key}
	}
	c := tu.IssueCert(t, name, p, ca, notBefore, notAfter, extra...)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, name+".key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	return &pkiCert{cert: c.Cert, key: c.Key, pem: write(t, dir, name+".pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw}))}
}

// addTimestamp adds an RFC 3161 timestamp of tsa at time at over the
// signature of the bundle at sig.
func addTimestamp(t *testing.T, sig string, tsa *pkiCert, at time.Time) {
	t.Helper()
	data, err := os.ReadFile(sig)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	var b struct {
		DSSEEnvelope struct{ Signatures []struct{ Sig []byte } } `json:"dsseEnvelope"`
	}
	if json.Unmarshal(data, &doc) != nil || json.Unmarshal(data, &b) != nil || len(b.DSSEEnvelope.Signatures) != 1 {
		t.Fatal("not a bundle")
	}
	digest := sha256.Sum256(b.DSSEEnvelope.Signatures[0].Sig)
	ts := &timestamp.Timestamp{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], Time: at,
		Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}, AddTSACertificate: true}
	resp, err := ts.CreateResponseWithOpts(tsa.cert, tsa.key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	doc["verificationMaterial"].(map[string]any)["timestampVerificationData"] = map[string]any{
		"rfc3161Timestamps": []any{map[string]any{"signedTimestamp": resp}},
	}
	out, _ := json.Marshal(doc)
	write(t, filepath.Dir(sig), filepath.Base(sig), out)
}

// TestVerifyCertificateTime: verify --ca checks the chain now by default:
// an expired leaf, a leaf backdated under an intermediate expired in 2020
// and a leaf not valid yet fail with exit 1; --verify-time
// signing-cert-start (model_signing's rule) accepts the first two and
// says so; a timestamp of a --tsa-root authority dates the signature.
func TestVerifyCertificateTime(t *testing.T) {
	pki := t.TempDir()
	now := time.Now()
	day := func(y int) time.Time { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC) }
	root := newCert(t, pki, "root", nil, true, day(2015), now.AddDate(10, 0, 0))
	inter := newCert(t, pki, "inter", root, true, day(2015), now.AddDate(10, 0, 0))
	oldInter := newCert(t, pki, "old-inter", root, true, day(2019), day(2020))
	eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	tsaRoot := newCert(t, pki, "tsa-root", nil, true, day(2015), now.AddDate(10, 0, 0))
	tsa := newCert(t, pki, "tsa", tsaRoot, false, day(2015), now.AddDate(10, 0, 0), pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku})

	for _, tc := range []struct {
		name            string
		leaf            *pkiCert
		chain           *pkiCert
		stamp           time.Time
		code, startCode int
		out             string
	}{
		{"valid", newCert(t, pki, "valid", inter, false, now.Add(-time.Hour), now.Add(time.Hour)), inter, time.Time{}, 0, 0, "PASS"},
		{"expired", newCert(t, pki, "expired", inter, false, day(2020), day(2021)), inter, time.Time{}, 1, 0, "CN=expired of the signing chain is valid from 2020-01-01T00:00:00Z to 2021-01-01T00:00:00Z, not at the time checked, now"},
		{"backdated", newCert(t, pki, "backdated", oldInter, false, day(2019).AddDate(0, 6, 0), now.AddDate(5, 0, 0)), oldInter, time.Time{}, 1, 0, "CN=old-inter of the signing chain is valid from 2019-01-01T00:00:00Z to 2020-01-01T00:00:00Z"},
		{"future", newCert(t, pki, "future", inter, false, now.Add(24*time.Hour), now.Add(48*time.Hour)), inter, time.Time{}, 1, 1, "CN=future of the signing chain is valid from"},
		{"stamped", newCert(t, pki, "stamped", inter, false, day(2020), day(2021)), inter, day(2020).AddDate(0, 6, 0), 1, 0, "give its authority's root with --tsa-root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			model := t.TempDir()
			write(t, model, "weights.bin", []byte("weights"))
			if code, out, errOut := violet(t, "sign", model, "--key", filepath.Join(pki, tc.name+".key"), "--cert", tc.leaf.pem, "--chain", tc.chain.pem); code != 0 {
				t.Fatalf("sign: exit %d\n%s%s", code, out, errOut)
			}
			if !tc.stamp.IsZero() {
				addTimestamp(t, filepath.Join(model, "model.sig"), tsa, tc.stamp)
				if code, out, errOut := violet(t, "verify", model, "--ca", root.pem, "--tsa-root", tsaRoot.pem); code != 0 {
					t.Errorf("--tsa-root: exit %d\n%s%s", code, out, errOut)
				}
				if code, out, _ := violet(t, "verify", model, "--ca", root.pem, "--tsa-root", inter.pem); code != 1 || !strings.Contains(out, "no RFC 3161 timestamp") {
					t.Errorf("another authority: exit %d\n%s", code, out)
				}
			}
			code, out, errOut := violet(t, "verify", model, "--ca", root.pem)
			if code != tc.code || !strings.Contains(out, tc.out) {
				t.Errorf("default: exit %d, want %d and %q\n%s%s", code, tc.code, tc.out, out, errOut)
			}
			code, out, errOut = violet(t, "verify", model, "--ca", root.pem, "--verify-time", "signing-cert-start")
			if code != tc.startCode || code == 0 && !strings.Contains(out, "--verify-time signing-cert-start") {
				t.Errorf("signing-cert-start: exit %d, want %d\n%s%s", code, tc.startCode, out, errOut)
			}
		})
	}
}
