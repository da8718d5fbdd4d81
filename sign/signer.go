package sign

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"slices"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// BundleMediaType is the media type of the Sigstore bundles OMS uses.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// randReader is the source of ECDSA nonces.
var randReader = rand.Reader

// Signer signs the DSSE pre-authentication encoding of a payload and says
// how a verifier finds the key.
type Signer interface {
	// SignPAE returns the signature of pae.
	SignPAE(pae []byte) ([]byte, error)
	// VerificationMaterial is the bundle's verification material.
	VerificationMaterial() *protobundle.VerificationMaterial
}

// KeySigner signs with an ECDSA private key; the bundle names the public
// key by its hint, and the verifier must be given the public key.
type KeySigner struct {
	key *ecdsa.PrivateKey
}

// NewKeySigner returns a signer of key, which must be on P-256, P-384 or
// P-521.
func NewKeySigner(key *ecdsa.PrivateKey) (*KeySigner, error) {
	if _, err := hashFor(&key.PublicKey); err != nil {
		return nil, err
	}
	return &KeySigner{key: key}, nil
}

// SignPAE signs with the curve's hash.
func (s *KeySigner) SignPAE(pae []byte) ([]byte, error) { return signDigest(s.key, pae) }

// VerificationMaterial holds the key's hint and no transparency log entry.
func (s *KeySigner) VerificationMaterial() *protobundle.VerificationMaterial {
	hint, _ := KeyHint(&s.key.PublicKey) // the curve was checked by NewKeySigner
	return &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: hint}},
	}
}

// CertificateSigner signs with the private key of a certificate issued by a
// private PKI; the bundle carries the certificate and its chain, and the
// verifier must be given the root CA.
type CertificateSigner struct {
	KeySigner
	chain [][]byte // DER, leaf first
}

// NewCertificateSigner returns a signer of key, whose certificate is leaf,
// issued through chain (intermediates, then optionally the root). The
// key must match the certificate, and the certificate must allow signing.
func NewCertificateSigner(key *ecdsa.PrivateKey, leaf *x509.Certificate, chain []*x509.Certificate) (*CertificateSigner, error) {
	ks, err := NewKeySigner(key)
	if err != nil {
		return nil, err
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("the private key does not match the signing certificate's public key")
	}
	if err := canSign(leaf); err != nil {
		return nil, err
	}
	s := &CertificateSigner{KeySigner: *ks, chain: [][]byte{leaf.Raw}}
	for _, c := range chain {
		s.chain = append(s.chain, c.Raw)
	}
	return s, nil
}

// VerificationMaterial holds the certificate chain, leaf first.
func (s *CertificateSigner) VerificationMaterial() *protobundle.VerificationMaterial {
	chain := &protocommon.X509CertificateChain{}
	for _, der := range s.chain {
		chain.Certificates = append(chain.Certificates, &protocommon.X509Certificate{RawBytes: der})
	}
	return &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: chain},
	}
}

// oidKeyUsage is the key usage extension.
var oidKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}

// canSign applies the reference tool's rule: the certificate has a key
// usage extension, which allows digital signatures, or else its extended
// key usage allows code signing.
func canSign(c *x509.Certificate) error {
	if !slices.ContainsFunc(c.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(oidKeyUsage) }) {
		return errors.New("the signing certificate has no key usage extension")
	}
	if c.KeyUsage&x509.KeyUsageDigitalSignature != 0 {
		return nil
	}
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageCodeSigning {
			return nil
		}
	}
	return errors.New("the signing certificate allows neither digital signatures nor code signing")
}

// SignManifest signs the statement of m and returns the Sigstore bundle, as
// indented JSON: a DSSE envelope around the in-toto statement, signed over
// its pre-authentication encoding, with s's verification material.
func SignManifest(m *Manifest, s Signer) ([]byte, error) {
	payload, err := Payload(m)
	if err != nil {
		return nil, err
	}
	return signPayload(payload, s)
}

// signPayload signs an in-toto statement (payload type PayloadType) and
// returns the Sigstore bundle, as indented JSON: a DSSE envelope around
// payload, signed over its pre-authentication encoding, with s's
// verification material and an empty transparency log.
func signPayload(payload []byte, s Signer) ([]byte, error) {
	sig, err := s.SignPAE(dsse.PAE(PayloadType, payload))
	if err != nil {
		return nil, err
	}
	vm, err := protojson.Marshal(s.VerificationMaterial())
	if err != nil {
		return nil, err
	}
	var material map[string]json.RawMessage
	if err := json.Unmarshal(vm, &material); err != nil {
		return nil, err
	}
	material["tlogEntries"] = json.RawMessage("[]")
	b := bundleJSON{MediaType: BundleMediaType, VerificationMaterial: material}
	b.DSSEEnvelope.Payload = payload
	b.DSSEEnvelope.PayloadType = PayloadType
	b.DSSEEnvelope.Signatures = []signatureJSON{{Sig: sig}}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// bundleJSON is a bundle as the reference tool writes it: an empty
// tlogEntries list and an empty keyid are written, not left out.
type bundleJSON struct {
	MediaType            string                     `json:"mediaType"`
	VerificationMaterial map[string]json.RawMessage `json:"verificationMaterial"`
	DSSEEnvelope         struct {
		Payload     []byte          `json:"payload"`
		PayloadType string          `json:"payloadType"`
		Signatures  []signatureJSON `json:"signatures"`
	} `json:"dsseEnvelope"`
}

// signatureJSON is one DSSE signature.
type signatureJSON struct {
	Sig   []byte `json:"sig"`
	Keyid string `json:"keyid"`
}
