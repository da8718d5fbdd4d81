package sign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"
)

// ErrSignature wraps every reason a bundle's signature is not trusted: a
// wrong key, CA or identity, a signature that does not match, a bundle
// that is not one. When it is returned, the model's files were not judged.
var ErrSignature = errors.New("signature not verified")

// MaxBundleSize is the largest bundle read, in bytes.
const MaxBundleSize = 64 << 20

// Bundle is a parsed Sigstore bundle.
type Bundle struct {
	// Proto is the bundle as the protobuf specification defines it.
	Proto *protobundle.Bundle
	// legacyKey is the publicKey.rawBytes that model_signing v0.3 to
	// v1.0 wrote instead of a hint (not in the specification), or nil.
	legacyKey []byte
}

// ParseBundle reads a bundle as the reference tool reads it: fields that
// older versions wrote and the specification does not have
// (publicKey.rawBytes, publicKey.keyDetails) are taken out first.
func ParseBundle(data []byte) (*Bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, fmt.Errorf("%w: the bundle is %d bytes, more than %d", ErrSignature, len(data), MaxBundleSize)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: the bundle is not JSON: %v", ErrSignature, err)
	}
	b := &Bundle{}
	var vm map[string]json.RawMessage
	if raw, ok := doc["verificationMaterial"]; ok && json.Unmarshal(raw, &vm) == nil {
		var pk map[string]json.RawMessage
		if raw, ok := vm["publicKey"]; ok && json.Unmarshal(raw, &pk) == nil {
			if raw, ok := pk["rawBytes"]; ok {
				if err := json.Unmarshal(raw, &b.legacyKey); err != nil {
					return nil, fmt.Errorf("%w: publicKey.rawBytes: %v", ErrSignature, err)
				}
			}
			delete(pk, "rawBytes")
			delete(pk, "keyDetails")
			vm["publicKey"], _ = json.Marshal(pk)
			doc["verificationMaterial"], _ = json.Marshal(vm)
			data, _ = json.Marshal(doc)
		}
	}
	b.Proto = &protobundle.Bundle{}
	if err := protojson.Unmarshal(data, b.Proto); err != nil {
		return nil, fmt.Errorf("%w: not a Sigstore bundle: %v", ErrSignature, err)
	}
	return b, nil
}

// envelope returns the bundle's DSSE envelope and its one signature.
func (b *Bundle) envelope() (payloadType string, payload, sig []byte, err error) {
	env := b.Proto.GetDsseEnvelope()
	if env == nil {
		return "", nil, nil, fmt.Errorf("%w: the bundle holds no DSSE envelope", ErrSignature)
	}
	if len(env.Signatures) != 1 {
		return "", nil, nil, fmt.Errorf("%w: the envelope has %d signatures, want one", ErrSignature, len(env.Signatures))
	}
	return env.PayloadType, env.Payload, env.Signatures[0].Sig, nil
}

// Verifier checks the signature of a bundle and returns what it signs.
type Verifier interface {
	// VerifyBundle returns the payload type and payload of b once its
	// signature is trusted; errors wrap ErrSignature.
	VerifyBundle(b *Bundle) (payloadType string, payload []byte, err error)
}

// checkMediaType applies the reference rule for key and certificate
// bundles: they are written as v0.3 bundles.
func checkMediaType(b *Bundle) error {
	if b.Proto.MediaType != BundleMediaType {
		return fmt.Errorf("%w: bundle media type %q, want %q", ErrSignature, b.Proto.MediaType, BundleMediaType)
	}
	return nil
}

// verifyEnvelope checks the envelope's signature with pub over the DSSE
// pre-authentication encoding, or over the encoding model_signing v0.2
// used by mistake (paeCompat), which it signed with SHA-256 whatever the
// curve.
func verifyEnvelope(b *Bundle, pub *ecdsa.PublicKey) (string, []byte, error) {
	payloadType, payload, sig, err := b.envelope()
	if err != nil {
		return "", nil, err
	}
	compat := paeCompat(payloadType, payload)
	if !verifyDigest(pub, dsse.PAE(payloadType, payload), sig) && !verifyDigest(pub, compat, sig) &&
		!verifyDigestWith(pub, crypto.SHA256, compat, sig) {
		return "", nil, fmt.Errorf("%w: the signature does not match the payload and the key", ErrSignature)
	}
	return payloadType, payload, nil
}

// paeCompat is the pre-authentication encoding of model_signing v0.2,
// which formatted the payload bytes with Python's repr:
// "DSSEV1 <len type> <type> <len payload> b'...'".
func paeCompat(payloadType string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEV1 %d %s %d %s", len(payloadType), payloadType, len(payload), pythonBytesRepr(payload))
}

// pythonBytesRepr is repr(b) of a Python bytes object.
func pythonBytesRepr(b []byte) []byte {
	quote := byte('\'')
	if bytes.IndexByte(b, '\'') >= 0 && bytes.IndexByte(b, '"') < 0 {
		quote = '"'
	}
	out := []byte{'b', quote}
	for _, c := range b {
		switch {
		case c == quote || c == '\\':
			out = append(out, '\\', c)
		case c == '\t':
			out = append(out, `\t`...)
		case c == '\n':
			out = append(out, `\n`...)
		case c == '\r':
			out = append(out, `\r`...)
		case c < 0x20 || c >= 0x7f:
			out = fmt.Appendf(out, `\x%02x`, c)
		default:
			out = append(out, c)
		}
	}
	return append(out, quote)
}

// KeyVerifier verifies bundles signed with an ECDSA key.
type KeyVerifier struct {
	pub *ecdsa.PublicKey
}

// NewKeyVerifier returns a verifier of signatures made by pub's private key.
func NewKeyVerifier(pub *ecdsa.PublicKey) (*KeyVerifier, error) {
	if _, err := hashFor(pub); err != nil {
		return nil, err
	}
	return &KeyVerifier{pub: pub}, nil
}

// VerifyBundle checks the key hint (or the raw key older versions wrote)
// against the key, then the signature.
func (v *KeyVerifier) VerifyBundle(b *Bundle) (string, []byte, error) {
	if err := checkMediaType(b); err != nil {
		return "", nil, err
	}
	pk := b.Proto.GetVerificationMaterial().GetPublicKey()
	if pk == nil && b.legacyKey == nil {
		return "", nil, fmt.Errorf("%w: the bundle was not signed with a key (it holds %s): verify it with --ca or --identity", ErrSignature, materialKind(b))
	}
	hint, err := KeyHint(v.pub)
	if err != nil {
		return "", nil, err
	}
	if h := pk.GetHint(); h != "" && h != hint {
		return "", nil, fmt.Errorf("%w: the bundle was signed with another key (key hint %s, the given key's is %s)", ErrSignature, h, hint)
	}
	if b.legacyKey != nil {
		if legacy, err := ParsePublicKey(b.legacyKey); err == nil && !legacy.Equal(v.pub) {
			return "", nil, fmt.Errorf("%w: the bundle was signed with another key (its publicKey.rawBytes differ from the given key)", ErrSignature)
		}
	}
	return verifyEnvelope(b, v.pub)
}

// materialKind names what a bundle's verification material holds.
func materialKind(b *Bundle) string {
	vm := b.Proto.GetVerificationMaterial()
	switch {
	case vm.GetPublicKey() != nil || b.legacyKey != nil:
		return "a public key hint"
	case vm.GetX509CertificateChain() != nil:
		return "a certificate chain"
	case vm.GetCertificate() != nil:
		return "a certificate"
	}
	return "no verification material"
}

// CertificateVerifier verifies bundles signed with a certificate of a
// private PKI, against its root certificates.
type CertificateVerifier struct {
	roots     *x509.CertPool
	rootCerts []*x509.Certificate
	opts      CertificateOptions
	tsas      []*root.SigstoreTimestampingAuthority
}

// CertificateOptions say at what time a CertificateVerifier checks a
// certificate chain. The zero value checks it now: a chain with a
// certificate that has expired or is not valid yet is refused.
type CertificateOptions struct {
	// TimestampRoots are the roots of the RFC 3161 timestamp authorities
	// trusted to date a signature. When given, a bundle that carries
	// RFC 3161 timestamps (verificationMaterial.timestampVerificationData)
	// must hold one issued under these roots over its signature, and the
	// chain is checked at the time it states, so that a signature made
	// while the certificates were valid still verifies after they
	// expire. A bundle without timestamps is checked now.
	TimestampRoots []*x509.Certificate
	// AtSigningCertStart checks the chain at the time the signing
	// certificate became valid (its notBefore), as model_signing does.
	// The signer chooses that time: a certificate that expired long ago,
	// or one backdated into the validity of an expired intermediate, then
	// verifies. Only a certificate that is not valid yet is still
	// refused. It cannot be combined with TimestampRoots.
	AtSigningCertStart bool
}

// maxTimestamps is the most RFC 3161 timestamps of a bundle that are
// tried.
const maxTimestamps = 8

// NewCertificateVerifier returns a verifier that trusts certificates
// issued under roots, with chains checked now (the zero
// CertificateOptions).
func NewCertificateVerifier(roots []*x509.Certificate) *CertificateVerifier {
	v, _ := NewCertificateVerifierWith(roots, CertificateOptions{}) // the zero options are valid
	return v
}

// NewCertificateVerifierWith returns a verifier that trusts certificates
// issued under roots, with chains checked at the time opts says.
func NewCertificateVerifierWith(roots []*x509.Certificate, opts CertificateOptions) (*CertificateVerifier, error) {
	if opts.AtSigningCertStart && len(opts.TimestampRoots) > 0 {
		return nil, errors.New("a chain is checked either at the signing certificate's start or at a trusted timestamp, not both")
	}
	pool := x509.NewCertPool()
	for _, c := range roots {
		pool.AddCert(c)
	}
	v := &CertificateVerifier{roots: pool, rootCerts: slices.Clone(roots), opts: opts}
	for _, c := range opts.TimestampRoots {
		v.tsas = append(v.tsas, &root.SigstoreTimestampingAuthority{Root: c})
	}
	return v, nil
}

// VerifyBundle checks the bundle's chain up to a trusted root at a
// trusted time (now, or the time of a trusted RFC 3161 timestamp; see
// CertificateOptions), that the certificate may sign, then the signature
// with its key.
func (v *CertificateVerifier) VerifyBundle(b *Bundle) (string, []byte, error) {
	if err := checkMediaType(b); err != nil {
		return "", nil, err
	}
	vm := b.Proto.GetVerificationMaterial()
	var ders [][]byte
	for _, c := range vm.GetX509CertificateChain().GetCertificates() {
		ders = append(ders, c.GetRawBytes())
	}
	if c := vm.GetCertificate(); c != nil {
		ders = append(ders, c.GetRawBytes())
	}
	if len(ders) == 0 {
		return "", nil, fmt.Errorf("%w: the bundle holds no certificate (it holds %s): verify it with --key", ErrSignature, materialKind(b))
	}
	certs := make([]*x509.Certificate, len(ders))
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return "", nil, fmt.Errorf("%w: certificate %d of the bundle: %v", ErrSignature, i, err)
		}
		certs[i] = c
	}
	leaf := certs[0]
	at, when, err := v.checkTime(b, leaf)
	if err != nil {
		return "", nil, err
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err = leaf.Verify(x509.VerifyOptions{Roots: v.roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		// Say which certificate is out of its validity, if one is: x509
		// names only the first candidate it tried.
		for _, c := range slices.Concat(certs, v.rootCerts) {
			if at.Before(c.NotBefore) || at.After(c.NotAfter) {
				hint := ""
				if at.After(c.NotAfter) {
					hint = v.timeHint(b)
				}
				return "", nil, fmt.Errorf("%w: the certificate %s of the signing chain is valid from %s to %s, not at the time checked, %s%s",
					ErrSignature, c.Subject, c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), when, hint)
			}
		}
		return "", nil, fmt.Errorf("%w: the signing certificate (%s) does not chain to the given CA at %s: %v", ErrSignature, leaf.Subject, when, err)
	}
	if err := canSign(leaf); err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return "", nil, fmt.Errorf("%w: the signing certificate's key is %T, not ECDSA", ErrSignature, leaf.PublicKey)
	}
	return verifyEnvelope(b, pub)
}

// timeHint says how a signature whose certificate expired since could
// still verify, where the verifier did not use a timestamp.
func (v *CertificateVerifier) timeHint(b *Bundle) string {
	stamped := len(b.Proto.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()) > 0
	switch {
	case v.opts.AtSigningCertStart:
		return ""
	case len(v.tsas) > 0 && !stamped:
		return " (the bundle carries no RFC 3161 timestamp)"
	case len(v.tsas) > 0:
		return ""
	case stamped:
		return " (the bundle carries an RFC 3161 timestamp: give its authority's root with --tsa-root to check the chain at its time)"
	}
	return " (a signature made while the chain was valid needs a trusted RFC 3161 timestamp in the bundle)"
}

// checkTime returns the time at which the chain is checked, and how it
// names that time in an error.
func (v *CertificateVerifier) checkTime(b *Bundle, leaf *x509.Certificate) (time.Time, string, error) {
	now := time.Now()
	if v.opts.AtSigningCertStart {
		if leaf.NotBefore.After(now) {
			return time.Time{}, "", fmt.Errorf("%w: the signing certificate (%s) is valid only from %s: it cannot have signed yet",
				ErrSignature, leaf.Subject, leaf.NotBefore.UTC().Format(time.RFC3339))
		}
		return leaf.NotBefore, "the signing certificate's start " + leaf.NotBefore.UTC().Format(time.RFC3339), nil
	}
	stamps := b.Proto.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()
	nowName := "now (" + now.UTC().Format(time.RFC3339) + ")"
	if len(v.tsas) == 0 || len(stamps) == 0 {
		return now, nowName, nil
	}
	if len(stamps) > maxTimestamps {
		return time.Time{}, "", fmt.Errorf("%w: the bundle carries %d RFC 3161 timestamps, more than %d", ErrSignature, len(stamps), maxTimestamps)
	}
	_, _, sig, err := b.envelope()
	if err != nil {
		return time.Time{}, "", err
	}
	var errs []error
	for _, st := range stamps {
		for _, tsa := range v.tsas {
			ts, err := tsa.Verify(st.GetSignedTimestamp(), sig)
			if err == nil {
				return ts.Time, "the RFC 3161 timestamp " + ts.Time.UTC().Format(time.RFC3339), nil
			}
			errs = append(errs, err)
		}
	}
	return time.Time{}, "", fmt.Errorf("%w: no RFC 3161 timestamp of the bundle verifies against the given timestamp authority roots: %v",
		ErrSignature, errors.Join(errs...))
}

// SigstoreVerifier verifies keyless Sigstore bundles offline: the
// certificate from Fulcio, its transparency log entry and timestamps are
// checked against a pinned trusted root, and the certificate must name
// the expected identity and OIDC issuer.
type SigstoreVerifier struct {
	trusted  root.TrustedMaterial
	identity verify.CertificateIdentity
}

// NewSigstoreVerifier returns a verifier for signatures of identity (the
// certificate's subject alternative name: an email or a URI) issued by
// the OIDC issuer, against the trusted root in trustedRootJSON (the
// trusted_root.json of a Sigstore instance).
func NewSigstoreVerifier(trustedRootJSON []byte, identity, issuer string) (*SigstoreVerifier, error) {
	tr, err := root.NewTrustedRootFromJSON(trustedRootJSON)
	if err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	id, err := verify.NewShortCertificateIdentity(issuer, "", identity, "")
	if err != nil {
		return nil, err
	}
	return &SigstoreVerifier{trusted: tr, identity: id}, nil
}

// VerifyBundle runs sigstore-go's verifier: one transparency log entry and
// one observer timestamp at least, the certificate identity, and the
// envelope's signature.
func (v *SigstoreVerifier) VerifyBundle(b *Bundle) (string, []byte, error) {
	sb, err := bundle.NewBundle(b.Proto)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	verifier, err := verify.NewVerifier(v.trusted, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
	if err != nil {
		return "", nil, err
	}
	if _, err := verifier.Verify(sb, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithCertificateIdentity(v.identity))); err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	payloadType, payload, _, err := b.envelope()
	return payloadType, payload, err
}

// VerifyBundleManifest checks the bundle's signature with v and returns
// the manifest it signs. Errors wrap ErrSignature when the signature is
// not trusted, ErrPayload when what it signs is not an OMS statement.
func VerifyBundleManifest(b *Bundle, v Verifier) (*Manifest, error) {
	payloadType, payload, err := v.VerifyBundle(b)
	if err != nil {
		return nil, err
	}
	if payloadType != PayloadType {
		return nil, fmt.Errorf("%w: DSSE payload type %s, want %s", ErrPayload, strconv.Quote(payloadType), PayloadType)
	}
	return ParsePayload(payload)
}
