package sign_test

// This file checks bundles written by Violet against the verification rules of the reference tool,
// model_signing (github.com/sigstore/model-transparency), with a checker written from those rules alone:
// it parses the bundle with encoding/json, builds the DSSE PAE by hand, verifies ECDSA with crypto/ecdsa,
// and hashes the files with crypto/sha256. It calls nothing of package sign, so a bug shared by Violet's
// signer and verifier still fails here. The checker is also run on bundles written by the reference tool
// (testdata/specs/model-signing), which shows that it implements the same rules as the tool that wrote them.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "crypto/sha512" // SHA-384 and SHA-512 for crypto.Hash.New

	"github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/sign"
)

// Each rule the checker enforces fails with one of these, so that the negative controls can tell which
// rule caught a mutation.
var (
	errRRBundle     = errors.New("bundle structure")
	errRRMediaType  = errors.New("media type")
	errRRHint       = errors.New("public key hint")
	errRRChain      = errors.New("certificate chain")
	errRREnvelope   = errors.New("DSSE envelope")
	errRRSignature  = errors.New("signature")
	errRRStatement  = errors.New("in-toto statement")
	errRROrder      = errors.New("resource order")
	errRRSubject    = errors.New("subject digest")
	errRRSerialize  = errors.New("serialization")
	errRRDigest     = errors.New("resource digest")
	errRRFileSet    = errors.New("model files")
	errRRModelName  = errors.New("model name")
	errRRTrustInput = errors.New("trust input")
)

// Constants of the reference tool.
const (
	// src/model_signing/_signing/sign_sigstore_pb.py: _BUNDLE_MEDIA_TYPE, checked first by
	// Verifier._verify_signed_content.
	rrRefMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// src/model_signing/_signing/signing.py: _IN_TOTO_JSON_PAYLOAD_TYPE, _IN_TOTO_STATEMENT_TYPE,
	// _PREDICATE_TYPE, checked by Verifier.verify and dsse_payload_to_manifest.
	rrRefPayloadType   = "application/vnd.in-toto+json"
	rrRefStatementType = "https://in-toto.io/Statement/v1"
	rrRefPredicateType = "https://model_signing/signature/v1.0"
)

// rrRefBundle is the part of a Sigstore bundle (JSON, protobuf field names) that the reference reads.
type rrRefBundle struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial *struct {
		PublicKey *struct {
			Hint string `json:"hint"`
		} `json:"publicKey"`
		X509CertificateChain *struct {
			Certificates []struct {
				RawBytes string `json:"rawBytes"`
			} `json:"certificates"`
		} `json:"x509CertificateChain"`
	} `json:"verificationMaterial"`
	DsseEnvelope *struct {
		Payload     string `json:"payload"`
		PayloadType string `json:"payloadType"`
		Signatures  []struct {
			Sig   string `json:"sig"`
			Keyid string `json:"keyid"`
		} `json:"signatures"`
	} `json:"dsseEnvelope"`
}

// rrRefStatement is the in-toto statement of an OMS v1.0 signature (signing.py, class Payload).
type rrRefStatement struct {
	Type    *string `json:"_type"`
	Subject []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType *string `json:"predicateType"`
	Predicate     *struct {
		Resources []struct {
			Name      string `json:"name"`
			Algorithm string `json:"algorithm"`
			Digest    string `json:"digest"`
		} `json:"resources"`
		Serialization map[string]json.RawMessage `json:"serialization"`
	} `json:"predicate"`
}

// rrRefTrust is what the verifier is given: a public key (key signing) or root certificates (certificate
// signing).
type rrRefTrust struct {
	pub   *ecdsa.PublicKey
	roots []*x509.Certificate
}

// rrRefModel is the model the bundle must match.
type rrRefModel struct {
	path   string   // folder or single file
	name   string   // expected subject name
	ignore []string // top-level names of the folder that are not part of the model (e.g. model.sig)
	// ignorePaths, when not nil, is the set ignore_paths must hold (order free: the reference writes a
	// frozenset).
	ignorePaths []string
}

// rrCheckReferenceRules verifies bundle data as the reference tool does and returns every rule broken,
// joined (nil when the bundle is valid for the model).
func rrCheckReferenceRules(data []byte, trust rrRefTrust, model rrRefModel) error {
	var errs []error
	fail := func(kind error, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...)))
	}

	// Rule 1: the bundle. Fields as sign_sigstore_pb.Signature.read parses them.
	var b rrRefBundle
	if err := json.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("%w: %v", errRRBundle, err)
	}
	if b.MediaType != rrRefMediaType {
		fail(errRRMediaType, "mediaType %q, want %q", b.MediaType, rrRefMediaType)
	}
	if b.VerificationMaterial == nil || b.DsseEnvelope == nil {
		fail(errRRBundle, "verificationMaterial or dsseEnvelope missing")
		return errors.Join(errs...)
	}

	// The verification key: from the hint (sign_ec_key.Verifier._verify_bundle) or from the chain
	// (sign_certificate.Verifier._verify_certificates).
	var pub *ecdsa.PublicKey
	vm := b.VerificationMaterial
	switch {
	case trust.pub != nil:
		pub = trust.pub
		if vm.PublicKey == nil {
			fail(errRRHint, "no verificationMaterial.publicKey")
			break
		}
		want, err := rrReferenceHint(pub)
		if err != nil {
			return fmt.Errorf("%w: %v", errRRTrustInput, err)
		}
		// sign_ec_key.Signer._get_verification_material writes hashlib.sha256(PEM).digest().hex():
		// lowercase hex; the verifier compares the strings.
		if vm.PublicKey.Hint != want {
			fail(errRRHint, "hint %q, want %q (sha256 of the SubjectPublicKeyInfo PEM)", vm.PublicKey.Hint, want)
		}
	case trust.roots != nil:
		if vm.X509CertificateChain == nil || len(vm.X509CertificateChain.Certificates) == 0 {
			fail(errRRChain, "no verificationMaterial.x509CertificateChain")
			return errors.Join(errs...)
		}
		var certs []*x509.Certificate
		for i, c := range vm.X509CertificateChain.Certificates {
			der, err := base64.StdEncoding.DecodeString(c.RawBytes)
			if err != nil {
				fail(errRRChain, "certificate %d: rawBytes is not base64: %v", i, err)
				return errors.Join(errs...)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				fail(errRRChain, "certificate %d: not DER: %v", i, err)
				return errors.Join(errs...)
			}
			certs = append(certs, cert)
		}
		var err error
		if pub, err = rrCheckChain(certs, trust.roots); err != nil {
			fail(errRRChain, "%v", err)
			return errors.Join(errs...)
		}
	default:
		return fmt.Errorf("%w: no public key and no roots", errRRTrustInput)
	}

	// Rule 1, envelope: one signature over an in-toto payload (sign_ec_key.Signer.sign writes one;
	// the verifiers read signatures[0], signing.Verifier.verify checks the payload type).
	env := b.DsseEnvelope
	if env.PayloadType != rrRefPayloadType {
		fail(errRREnvelope, "payloadType %q, want %q", env.PayloadType, rrRefPayloadType)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		fail(errRREnvelope, "payload is not base64: %v", err)
		return errors.Join(errs...)
	}
	if len(env.Signatures) != 1 {
		fail(errRREnvelope, "%d signatures, want exactly 1", len(env.Signatures))
		return errors.Join(errs...)
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		fail(errRREnvelope, "sig is not base64: %v", err)
		return errors.Join(errs...)
	}
	var rs struct{ R, S asn1.RawValue }
	if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) != 0 {
		fail(errRREnvelope, "sig is not an ASN.1 DER ECDSA signature (err %v, %d trailing bytes)", err, len(rest))
	}

	// Rule 2: ECDSA over the PAE, hashed by the curve (sign_sigstore_pb.pae, sign_ec_key.get_ec_key_hash).
	h, err := rrReferenceCurveHash(pub)
	if err != nil {
		fail(errRRSignature, "%v", err)
	} else {
		d := h.New()
		d.Write(rrReferencePAE(rrRefPayloadType, payload))
		if !ecdsa.VerifyASN1(pub, d.Sum(nil), sig) {
			fail(errRRSignature, "ECDSA %s signature over the PAE does not verify", h)
		}
	}

	// Rule 3: the statement (signing.Verifier.verify, signing.dsse_payload_to_manifest).
	var st rrRefStatement
	if err := json.Unmarshal(payload, &st); err != nil {
		fail(errRRStatement, "payload is not a JSON object: %v", err)
		return errors.Join(errs...)
	}
	if st.Type == nil || *st.Type != rrRefStatementType {
		fail(errRRStatement, "_type %v, want %q", st.Type, rrRefStatementType)
	}
	if st.PredicateType == nil || *st.PredicateType != rrRefPredicateType {
		fail(errRRStatement, "predicateType %v, want %q", st.PredicateType, rrRefPredicateType)
	}
	if len(st.Subject) != 1 {
		fail(errRRStatement, "%d subjects, want exactly 1", len(st.Subject))
		return errors.Join(errs...)
	}
	if st.Predicate == nil {
		fail(errRRStatement, "no predicate")
		return errors.Join(errs...)
	}
	// The model name is the last element of the model path (_serialization/file.py, serialize:
	// model_name = model_path.name); informative only, but Violet must write it as the reference does.
	if st.Subject[0].Name != model.name {
		fail(errRRModelName, "subject name %q, want %q", st.Subject[0].Name, model.name)
	}

	// The serialization (manifest.py, _FileSerialization; ignore_paths from _serialization/file.py).
	ser := st.Predicate.Serialization
	wantString := func(key, want string) {
		var got string
		if err := json.Unmarshal(ser[key], &got); err != nil || got != want {
			fail(errRRSerialize, "%s is %s, want %q", key, ser[key], want)
		}
	}
	wantString("method", "files")
	wantString("hash_type", "sha256")
	var allow *bool
	if err := json.Unmarshal(ser["allow_symlinks"], &allow); err != nil || allow == nil || *allow {
		fail(errRRSerialize, "allow_symlinks is %s, want false", ser["allow_symlinks"])
	}
	var ignorePaths []string
	if err := json.Unmarshal(ser["ignore_paths"], &ignorePaths); err != nil || ignorePaths == nil {
		fail(errRRSerialize, "ignore_paths is %s, want a list of paths", ser["ignore_paths"])
	} else if model.ignorePaths != nil {
		got, want := slices.Sorted(slices.Values(ignorePaths)), slices.Sorted(slices.Values(model.ignorePaths))
		if !slices.Equal(got, want) {
			fail(errRRSerialize, "ignore_paths %q, want %q", got, want)
		}
	}
	for key := range ser {
		if !slices.Contains([]string{"method", "hash_type", "allow_symlinks", "ignore_paths"}, key) {
			fail(errRRSerialize, "unexpected key %q for method files", key)
		}
	}

	// The resources: sorted by path components (manifest.Manifest.resource_descriptors sorts File
	// keys, dataclasses ordered by PurePosixPath, which compare their lists of parts); the subject
	// digest is sha256 over the raw digests in the listed order (dsse_payload_to_manifest compares
	// its lowercase hex with the subject's sha256).
	resources := st.Predicate.Resources
	root := sha256.New()
	signed := map[string][]byte{}
	for i, r := range resources {
		if r.Algorithm != "sha256" {
			fail(errRRStatement, "resource %q: algorithm %q, want sha256", r.Name, r.Algorithm)
		}
		raw, err := hex.DecodeString(r.Digest)
		if err != nil || len(raw) != sha256.Size || r.Digest != strings.ToLower(r.Digest) {
			fail(errRRStatement, "resource %q: digest %q is not lowercase hex SHA-256", r.Name, r.Digest)
		}
		root.Write(raw)
		if p := path.Clean(r.Name); p != r.Name || path.IsAbs(p) || slices.Contains(strings.Split(p, "/"), "..") {
			fail(errRRStatement, "resource name %q is not a clean relative POSIX path", r.Name)
		}
		if _, dup := signed[r.Name]; dup {
			fail(errRRStatement, "resource %q listed twice", r.Name)
		}
		signed[r.Name] = raw
		if i > 0 && rrComparePathComponents(resources[i-1].Name, r.Name) >= 0 {
			fail(errRROrder, "resource %q is listed before %q", resources[i-1].Name, r.Name)
		}
	}
	if got, want := hex.EncodeToString(root.Sum(nil)), st.Subject[0].Digest["sha256"]; got != want {
		fail(errRRSubject, "subject sha256 %q, but the resources hash to %q", want, got)
	}

	// The model: every file, hashed with SHA-256, and nothing else (manifest.Manifest.__eq__ compares
	// the whole dictionaries of items).
	files, err := rrReferenceModelFiles(model.path, model.ignore)
	if err != nil {
		fail(errRRFileSet, "%v", err)
		return errors.Join(errs...)
	}
	for name, p := range files {
		want, ok := signed[name]
		if !ok {
			fail(errRRFileSet, "file %q is not signed", name)
			continue
		}
		content, err := os.ReadFile(p)
		if err != nil {
			fail(errRRFileSet, "%v", err)
			continue
		}
		if got := sha256.Sum256(content); !bytes.Equal(got[:], want) {
			fail(errRRDigest, "file %q hashes to %x, the signature has %x", name, got, want)
		}
	}
	for name := range signed {
		if _, ok := files[name]; !ok {
			fail(errRRFileSet, "signed resource %q is not in the model", name)
		}
	}
	return errors.Join(errs...)
}

// rrReferencePAE is the DSSE v1 pre-authentication encoding
// (https://github.com/secure-systems-lab/dsse/blob/v1.0.0/protocol.md; sign_sigstore_pb.pae):
// "DSSEv1" SP len(type) SP type SP len(body) SP body, lengths in decimal bytes.
func rrReferencePAE(payloadType string, payload []byte) []byte {
	var b []byte
	b = append(b, "DSSEv1 "...)
	b = append(b, strconv.Itoa(len(payloadType))...)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = append(b, strconv.Itoa(len(payload))...)
	b = append(b, ' ')
	return append(b, payload...)
}

// rrReferenceCurveHash is sign_ec_key.get_ec_key_hash: SHA-256 for 256-bit curves, SHA-384 for 384,
// SHA-512 for 521.
func rrReferenceCurveHash(pub *ecdsa.PublicKey) (crypto.Hash, error) {
	switch pub.Curve.Params().BitSize {
	case 256:
		return crypto.SHA256, nil
	case 384:
		return crypto.SHA384, nil
	case 521:
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("unexpected key size %d", pub.Curve.Params().BitSize)
}

// rrReferenceHint is sign_ec_key.Signer._get_verification_material's hint: the lowercase hex SHA-256 of
// public_bytes(PEM, SubjectPublicKeyInfo), which Python's cryptography writes as
// "-----BEGIN PUBLIC KEY-----\n", the DER in base64 lines of 64 characters, "-----END PUBLIC KEY-----\n".
func rrReferenceHint(pub *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	b64 := base64.StdEncoding.EncodeToString(der)
	var text strings.Builder
	text.WriteString("-----BEGIN PUBLIC KEY-----\n")
	for len(b64) > 64 {
		text.WriteString(b64[:64] + "\n")
		b64 = b64[64:]
	}
	text.WriteString(b64 + "\n")
	text.WriteString("-----END PUBLIC KEY-----\n")
	sum := sha256.Sum256([]byte(text.String()))
	return hex.EncodeToString(sum[:]), nil
}

// rrCheckChain is sign_certificate.Verifier._verify_certificates: the leaf (first) chains through the
// others to a root, at the time the leaf became valid (store.set_time(not_valid_before_utc)); OpenSSL
// checks no purpose there, hence ExtKeyUsageAny. Then the leaf must have a KeyUsage extension
// (get_extension_for_class raises when it has none) with digitalSignature, or else an
// ExtendedKeyUsage with codeSigning. Returns the leaf's key.
func rrCheckChain(certs []*x509.Certificate, roots []*x509.Certificate) (*ecdsa.PublicKey, error) {
	leaf := certs[0]
	rootPool, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range roots {
		rootPool.AddCert(c)
	}
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: rootPool, Intermediates: inter, CurrentTime: leaf.NotBefore,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, err
	}
	oidKeyUsage := asn1.ObjectIdentifier{2, 5, 29, 15}
	if !slices.ContainsFunc(leaf.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(oidKeyUsage) }) {
		return nil, errors.New("the signing certificate has no KeyUsage extension (the reference raises ExtensionNotFound)")
	}
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageCodeSigning) {
		return nil, errors.New("the signing certificate cannot be used for signing")
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("the signing certificate's key is %T, not ECDSA", leaf.PublicKey)
	}
	return pub, nil
}

// rrComparePathComponents compares POSIX paths as PurePosixPath does: list of parts, element by element.
func rrComparePathComponents(a, b string) int {
	pa, pb := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] != pb[i] {
			if pa[i] < pb[i] {
				return -1
			}
			return 1
		}
	}
	return len(pa) - len(pb)
}

// rrReferenceModelFiles lists the model's regular files by manifest name: "." for a single file
// (_serialization/file.py: path.relative_to(model_path) of the model path itself, whose str is "."),
// else the relative POSIX path of every file under the folder, ignored top-level names left out.
func rrReferenceModelFiles(root string, ignore []string) (map[string]string, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if info.Mode().IsRegular() {
		return map[string]string{".": root}, nil
	}
	files := map[string]string{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != "." && slices.Contains(ignore, rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files[rel] = p
		} else if !d.IsDir() {
			return fmt.Errorf("%s: not a regular file or folder", rel)
		}
		return nil
	})
	return files, err
}

// Test inputs.

// rrReferenceDir is the reference bundles of testdata/specs/model-signing.
func rrReferenceDir(t *testing.T) string {
	return testutil.SharedDir(t, "specs", "model-signing", "reference-bundles")
}

func rrReadFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// rrPemCerts parses PEM certificates with the standard library only (the checker's trust inputs).
func rrPemCerts(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		t.Fatal("no certificate")
	}
	return out
}

// rrPemPublicKey parses a PEM SubjectPublicKeyInfo with the standard library only.
func rrPemPublicKey(t *testing.T, data []byte) *ecdsa.PublicKey {
	t.Helper()
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatal("no PEM block")
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("public key is %T", k)
	}
	return pub
}

// rrWriteModel makes a folder whose names sort differently by path components than as strings
// ("a-b.bin" < "a.b/c" < "a/b.bin" as strings; "a/b.bin" < "a-b.bin" < "a.b/c" by components),
// with an empty file.
func rrWriteModel(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "my-model")
	files := map[string]string{
		"a/b.bin":       "weights of a/b",
		"a-b.bin":       "weights of a-b",
		"a.b/c":         "c in a.b",
		"a/b/c/deep.pt": "deep",
		"z":             "zzz",
		"empty":         "",
		"a0":            "a0",
	}
	for name, content := range files {
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

// rrVioletBundle hashes and signs model with Violet's exported API.
func rrVioletBundle(t *testing.T, model string, signer sign.Signer) []byte {
	t.Helper()
	m, err := sign.Hash(context.Background(), model, sign.DefaultSerialization(), sign.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := sign.SignManifest(m, signer)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// rrSignCase is one way of signing with Violet, and the checker's trust for it.
type rrSignCase struct {
	name   string
	key    *ecdsa.PrivateKey
	signer sign.Signer
	trust  rrRefTrust
	// chainDER is the expected x509CertificateChain, leaf first (certificate signing only).
	chainDER [][]byte
}

func rrSignCases(t *testing.T) []rrSignCase {
	t.Helper()
	var cases []rrSignCase
	for _, c := range []struct {
		name  string
		curve elliptic.Curve
	}{{"P-256", elliptic.P256()}, {"P-384", elliptic.P384()}, {"P-521", elliptic.P521()}} {
		key, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s, err := sign.NewKeySigner(key)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, rrSignCase{name: "key " + c.name, key: key, signer: s, trust: rrRefTrust{pub: &key.PublicKey}})
	}
	return cases
}

// rrCertificateCase signs with the reference data's leaf certificate and intermediate, trusting the root.
func rrCertificateCase(t *testing.T) rrSignCase {
	t.Helper()
	keys := filepath.Join(rrReferenceDir(t), "keys", "certificate")
	key, err := sign.ParsePrivateKey(rrReadFile(t, filepath.Join(keys, "signing-key.pem")))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := sign.ParseCertificates(rrReadFile(t, filepath.Join(keys, "signing-key-cert.pem")))
	if err != nil {
		t.Fatal(err)
	}
	chain, err := sign.ParseCertificates(rrReadFile(t, filepath.Join(keys, "int-ca-cert.pem")))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewCertificateSigner(key, leaf[0], chain)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{leaf[0].Raw}
	for _, c := range chain {
		want = append(want, c.Raw)
	}
	roots := rrPemCerts(t, rrReadFile(t, filepath.Join(keys, "ca-cert.pem")))
	return rrSignCase{name: "certificate", key: key, signer: s, trust: rrRefTrust{roots: roots}, chainDER: want}
}

// rrCheckChainDER checks that the bundle's chain is the leaf then the chain, in base64 DER.
func rrCheckChainDER(t *testing.T, data []byte, want [][]byte) {
	t.Helper()
	var b rrRefBundle
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	if b.VerificationMaterial == nil || b.VerificationMaterial.X509CertificateChain == nil {
		t.Fatal("no x509CertificateChain")
	}
	var got [][]byte
	for _, c := range b.VerificationMaterial.X509CertificateChain.Certificates {
		der, err := base64.StdEncoding.DecodeString(c.RawBytes)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, der)
	}
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Errorf("x509CertificateChain has %d certificates, not the leaf then the %d of the chain", len(got), len(want)-1)
	}
	if b.VerificationMaterial.PublicKey != nil {
		t.Error("a certificate bundle also has a publicKey")
	}
}

func TestVioletBundlesFollowReferenceRules(t *testing.T) {
	cases := append(rrSignCases(t), rrCertificateCase(t))
	defaultIgnore := []string{".git", ".gitattributes", ".github", ".gitignore"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := rrWriteModel(t)
			data := rrVioletBundle(t, dir, c.signer)
			if err := rrCheckReferenceRules(data, c.trust, rrRefModel{path: dir, name: "my-model", ignorePaths: defaultIgnore}); err != nil {
				t.Errorf("folder: %v\n%s", err, data)
			}
			if c.chainDER != nil {
				rrCheckChainDER(t, data, c.chainDER)
			}
			// The order the checker expects, spelled out, so that a checker bug cannot hide an order bug.
			names := rrResourceNames(t, data)
			// (["a","b","c","deep.pt"] < ["a","b.bin"] since "b" < "b.bin"; as strings "a/b.bin" < "a/b/c/...".)
			want := []string{"a/b/c/deep.pt", "a/b.bin", "a-b.bin", "a.b/c", "a0", "empty", "z"}
			if !slices.Equal(names, want) {
				t.Errorf("resources %q, want %q", names, want)
			}

			file := filepath.Join(t.TempDir(), "model.safetensors")
			if err := os.WriteFile(file, []byte("a single-file model"), 0o644); err != nil {
				t.Fatal(err)
			}
			data = rrVioletBundle(t, file, c.signer)
			if err := rrCheckReferenceRules(data, c.trust, rrRefModel{path: file, name: "model.safetensors", ignorePaths: defaultIgnore}); err != nil {
				t.Errorf("single file: %v\n%s", err, data)
			}
			if names := rrResourceNames(t, data); !slices.Equal(names, []string{"."}) {
				t.Errorf("single file: resources %q, want [\".\"]", names)
			}
		})
	}
}

// rrResourceNames returns the names of the resources of a bundle, in order.
func rrResourceNames(t *testing.T, data []byte) []string {
	t.Helper()
	var st rrRefStatement
	if err := json.Unmarshal(rrBundlePayload(t, data), &st); err != nil || st.Predicate == nil {
		t.Fatalf("payload: %v", err)
	}
	var names []string
	for _, r := range st.Predicate.Resources {
		names = append(names, r.Name)
	}
	return names
}

func rrBundlePayload(t *testing.T, data []byte) []byte {
	t.Helper()
	var b rrRefBundle
	if err := json.Unmarshal(data, &b); err != nil || b.DsseEnvelope == nil {
		t.Fatalf("bundle: %v", err)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DsseEnvelope.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

// rrMutateBundle decodes the bundle as generic JSON, lets edit change it, and encodes it again.
func rrMutateBundle(t *testing.T, data []byte, edit func(b map[string]any)) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	edit(b)
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rrResignPayload replaces the bundle's payload with edit(payload), signed again with key (by hand: the
// PAE and ECDSA of the checker), so that only the rule under test can fail.
func rrResignPayload(t *testing.T, data []byte, key *ecdsa.PrivateKey, edit func(st map[string]any)) []byte {
	t.Helper()
	var st map[string]any
	if err := json.Unmarshal(rrBundlePayload(t, data), &st); err != nil {
		t.Fatal(err)
	}
	edit(st)
	payload, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	h, err := rrReferenceCurveHash(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	d := h.New()
	d.Write(rrReferencePAE(rrRefPayloadType, payload))
	sig, err := ecdsa.SignASN1(rand.Reader, key, d.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	return rrMutateBundle(t, data, func(b map[string]any) {
		env := b["dsseEnvelope"].(map[string]any)
		env["payload"] = base64.StdEncoding.EncodeToString(payload)
		env["signatures"] = []any{map[string]any{"sig": base64.StdEncoding.EncodeToString(sig)}}
	})
}

// TestReferenceRulesCheckerFails proves that the checker catches each kind of tampering.
func TestReferenceRulesCheckerFails(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sign.NewKeySigner(key)
	if err != nil {
		t.Fatal(err)
	}
	trust := rrRefTrust{pub: &key.PublicKey}

	fresh := func(t *testing.T) (string, []byte) {
		dir := rrWriteModel(t)
		data := rrVioletBundle(t, dir, signer)
		if err := rrCheckReferenceRules(data, trust, rrRefModel{path: dir, name: "my-model"}); err != nil {
			t.Fatalf("the unmodified bundle fails: %v", err)
		}
		return dir, data
	}
	expect := func(t *testing.T, err error, kind error) {
		t.Helper()
		if !errors.Is(err, kind) {
			t.Errorf("want a %q failure, got %v", kind, err)
		}
	}

	t.Run("file byte flipped", func(t *testing.T) {
		dir, data := fresh(t)
		p := filepath.Join(dir, "a", "b.bin")
		content := rrReadFile(t, p)
		content[0] ^= 1
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		err := rrCheckReferenceRules(data, trust, rrRefModel{path: dir, name: "my-model"})
		expect(t, err, errRRDigest)
	})
	t.Run("file added", func(t *testing.T) {
		dir, data := fresh(t)
		if err := os.WriteFile(filepath.Join(dir, "extra"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		expect(t, rrCheckReferenceRules(data, trust, rrRefModel{path: dir, name: "my-model"}), errRRFileSet)
	})
	t.Run("payload byte changed", func(t *testing.T) {
		dir, data := fresh(t)
		bad := rrMutateBundle(t, data, func(b map[string]any) {
			env := b["dsseEnvelope"].(map[string]any)
			payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(payload, []byte("my-model"))
			payload[i] = 'M'
			env["payload"] = base64.StdEncoding.EncodeToString(payload)
		})
		err := rrCheckReferenceRules(bad, trust, rrRefModel{path: dir, name: "My-model"})
		expect(t, err, errRRSignature)
	})
	t.Run("wrong curve hash", func(t *testing.T) {
		dir, data := fresh(t)
		// A signature over SHA-512 of the PAE, not the SHA-256 that P-256 takes.
		payload := rrBundlePayload(t, data)
		d := crypto.SHA512.New()
		d.Write(rrReferencePAE(rrRefPayloadType, payload))
		sig, err := ecdsa.SignASN1(rand.Reader, key, d.Sum(nil))
		if err != nil {
			t.Fatal(err)
		}
		bad := rrMutateBundle(t, data, func(b map[string]any) {
			b["dsseEnvelope"].(map[string]any)["signatures"] = []any{map[string]any{"sig": base64.StdEncoding.EncodeToString(sig)}}
		})
		expect(t, rrCheckReferenceRules(bad, trust, rrRefModel{path: dir, name: "my-model"}), errRRSignature)
	})
	t.Run("resources swapped", func(t *testing.T) {
		dir, data := fresh(t)
		bad := rrResignPayload(t, data, key, func(st map[string]any) {
			r := st["predicate"].(map[string]any)["resources"].([]any)
			r[0], r[1] = r[1], r[0]
		})
		err := rrCheckReferenceRules(bad, trust, rrRefModel{path: dir, name: "my-model"})
		expect(t, err, errRROrder)
		if errors.Is(err, errRRSignature) {
			t.Errorf("the re-signed bundle fails its signature check: %v", err)
		}
	})
	t.Run("string order instead of component order", func(t *testing.T) {
		dir, data := fresh(t)
		bad := rrResignPayload(t, data, key, func(st map[string]any) {
			r := st["predicate"].(map[string]any)["resources"].([]any)
			slices.SortFunc(r, func(a, b any) int {
				return strings.Compare(a.(map[string]any)["name"].(string), b.(map[string]any)["name"].(string))
			})
		})
		expect(t, rrCheckReferenceRules(bad, trust, rrRefModel{path: dir, name: "my-model"}), errRROrder)
	})
	t.Run("subject digest", func(t *testing.T) {
		dir, data := fresh(t)
		bad := rrResignPayload(t, data, key, func(st map[string]any) {
			st["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": strings.Repeat("0", 64)}
		})
		expect(t, rrCheckReferenceRules(bad, trust, rrRefModel{path: dir, name: "my-model"}), errRRSubject)
	})
	t.Run("wrong hint", func(t *testing.T) {
		dir, data := fresh(t)
		bad := rrMutateBundle(t, data, func(b map[string]any) {
			pk := b["verificationMaterial"].(map[string]any)["publicKey"].(map[string]any)
			hint := []byte(pk["hint"].(string))
			hint[0] = "01"[hint[0]&1]
			if string(hint) == pk["hint"] {
				hint[0] = 'f'
			}
			pk["hint"] = string(hint)
		})
		expect(t, rrCheckReferenceRules(bad, trust, rrRefModel{path: dir, name: "my-model"}), errRRHint)
	})
	t.Run("media type", func(t *testing.T) {
		dir, data := fresh(t)
		bad := rrMutateBundle(t, data, func(b map[string]any) { b["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2" })
		expect(t, rrCheckReferenceRules(bad, trust, rrRefModel{path: dir, name: "my-model"}), errRRMediaType)
	})
	t.Run("hint is sha256 of the PEM text", func(t *testing.T) {
		// The checker's hint must be computed from the PEM text, not the DER: cross-check it with the
		// standard library's PEM encoder.
		der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		got, err := rrReferenceHint(&key.PublicKey)
		if err != nil || got != hex.EncodeToString(sum[:]) {
			t.Errorf("rrReferenceHint = %q, %v", got, err)
		}
	})
}

// TestReferenceRulesAcceptReferenceBundles runs the checker on bundles written by the reference tool
// v1.1.0, which shows that it implements the rules of the tool that wrote them.
func TestReferenceRulesAcceptReferenceBundles(t *testing.T) {
	dir := rrReferenceDir(t)
	keys := filepath.Join(dir, "keys", "certificate")
	notModel := []string{"model.sig", "ignore-me"}
	refIgnore := []string{".git", "model.sig", "ignore-me", ".gitattributes", ".gitignore", ".github"}

	t.Run("elliptic-key", func(t *testing.T) {
		model := filepath.Join(dir, "v1.1.0-elliptic-key")
		pub := rrPemPublicKey(t, rrReadFile(t, filepath.Join(keys, "signing-key-pub.pem")))
		data := rrReadFile(t, filepath.Join(model, "model.sig"))
		if err := rrCheckReferenceRules(data, rrRefTrust{pub: pub}, rrRefModel{path: model, name: "v1.1.0-elliptic-key", ignore: notModel, ignorePaths: refIgnore}); err != nil {
			t.Error(err)
		}
		// The reference's hint is the checker's hint of the key, and Violet's KeyHint agrees.
		hint, err := rrReferenceHint(pub)
		if err != nil {
			t.Fatal(err)
		}
		var b rrRefBundle
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatal(err)
		}
		if b.VerificationMaterial.PublicKey.Hint != hint {
			t.Errorf("reference hint %q, checker's %q", b.VerificationMaterial.PublicKey.Hint, hint)
		}
		if violet, err := sign.KeyHint(pub); err != nil || violet != hint {
			t.Errorf("sign.KeyHint = %q, %v; reference %q", violet, err, hint)
		}
		// And the wrong key fails.
		other, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		err = rrCheckReferenceRules(data, rrRefTrust{pub: &other.PublicKey}, rrRefModel{path: model, name: "v1.1.0-elliptic-key", ignore: notModel})
		if !errors.Is(err, errRRHint) || !errors.Is(err, errRRSignature) {
			t.Errorf("another key: want hint and signature failures, got %v", err)
		}
	})
	t.Run("certificate", func(t *testing.T) {
		model := filepath.Join(dir, "v1.1.0-certificate")
		roots := rrPemCerts(t, rrReadFile(t, filepath.Join(keys, "ca-cert.pem")))
		data := rrReadFile(t, filepath.Join(model, "model.sig"))
		if err := rrCheckReferenceRules(data, rrRefTrust{roots: roots}, rrRefModel{path: model, name: "v1.1.0-certificate", ignore: notModel, ignorePaths: refIgnore}); err != nil {
			t.Error(err)
		}
		// A root of the same name that issued nothing: the chain check must fail.
		err := rrCheckReferenceRules(data, rrRefTrust{roots: []*x509.Certificate{rrMustOtherRoot(t)}}, rrRefModel{path: model, name: "v1.1.0-certificate", ignore: notModel})
		if !errors.Is(err, errRRChain) {
			t.Errorf("an unrelated root: want a chain failure, got %v", err)
		}
	})
}

// rrMustOtherRoot is a fresh self-signed CA that issued nothing.
func rrMustOtherRoot(t *testing.T) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	tmpl.Subject.CommonName = "root-ca"
	tmpl.NotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	tmpl.NotAfter = tmpl.NotBefore.AddDate(100, 0, 0)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
