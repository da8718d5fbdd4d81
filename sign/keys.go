package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
)

// curveHash is the hash ECDSA signs with, by curve, as the reference tool
// and Sigstore's key details pair them (P-256 with SHA-256, P-384 with
// SHA-384, P-521 with SHA-512).
var curveHash = map[elliptic.Curve]crypto.Hash{
	elliptic.P256(): crypto.SHA256,
	elliptic.P384(): crypto.SHA384,
	elliptic.P521(): crypto.SHA512,
}

// hashFor returns the hash of pub's curve, or an error for a curve OMS
// does not use.
func hashFor(pub *ecdsa.PublicKey) (crypto.Hash, error) {
	h, ok := curveHash[pub.Curve]
	if !ok {
		return 0, fmt.Errorf("unsupported elliptic curve %s: OMS uses P-256, P-384 and P-521", pub.Curve.Params().Name)
	}
	return h, nil
}

// pemBlocks returns the PEM blocks of data of the given types, in order.
// Text around and between the blocks is skipped, as OpenSSL and the
// reference tool skip it (certtool writes a description first).
func pemBlocks(data []byte, types ...string) []*pem.Block {
	var out []*pem.Block
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out
		}
		for _, t := range types {
			if b.Type == t {
				out = append(out, b)
			}
		}
	}
}

// ParsePrivateKey reads an ECDSA private key (PKCS #8 or SEC 1) from PEM.
func ParsePrivateKey(data []byte) (*ecdsa.PrivateKey, error) {
	blocks := pemBlocks(data, "PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY")
	if len(blocks) == 0 {
		return nil, errors.New("no PEM private key found")
	}
	b := blocks[0]
	var key any
	var err error
	switch b.Type {
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("the private key is encrypted: decrypt it first (openssl pkey -in KEY -out PLAIN)")
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the private key is %T: OMS signing here uses ECDSA keys (P-256, P-384, P-521)", key)
	}
	if _, err := hashFor(&ec.PublicKey); err != nil {
		return nil, err
	}
	return ec, nil
}

// ParsePublicKey reads an ECDSA public key: PEM (SubjectPublicKeyInfo),
// DER, or a compressed point of 33, 49 or 67 bytes, as the reference tool
// accepts them.
func ParsePublicKey(data []byte) (*ecdsa.PublicKey, error) {
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		if len(data) == 1+(c.Params().BitSize+7)/8 {
			x, y := elliptic.UnmarshalCompressed(c, data)
			if x == nil {
				return nil, fmt.Errorf("invalid compressed %s public key", c.Params().Name)
			}
			n := (c.Params().BitSize + 7) / 8
			point := make([]byte, 1+2*n)
			point[0] = 4 // uncompressed
			x.FillBytes(point[1 : 1+n])
			y.FillBytes(point[1+n:])
			return ecdsa.ParseUncompressedPublicKey(c, point)
		}
	}
	der := data
	if blocks := pemBlocks(data, "PUBLIC KEY"); len(blocks) > 0 {
		der = blocks[0].Bytes
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("no PEM, DER or compressed public key: %w", err)
	}
	ec, ok := key.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("the public key is %T: OMS verification here uses ECDSA keys", key)
	}
	if _, err := hashFor(ec); err != nil {
		return nil, err
	}
	return ec, nil
}

// ParseCertificates reads every PEM certificate in data.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, b := range pemBlocks(data, "CERTIFICATE") {
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return out, nil
}

// KeyHint is the key's hint in a bundle: the hex SHA-256 of its
// SubjectPublicKeyInfo PEM text, as the reference tool computes it.
func KeyHint(pub *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return hex.EncodeToString(sum[:]), nil
}

// signDigest hashes msg with the curve's hash and signs it (ASN.1 DER).
func signDigest(key *ecdsa.PrivateKey, msg []byte) ([]byte, error) {
	h, err := hashFor(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	d := h.New()
	d.Write(msg)
	return ecdsa.SignASN1(randReader, key, d.Sum(nil))
}

// verifyDigest checks an ASN.1 ECDSA signature of msg, hashed with the
// curve's hash.
func verifyDigest(pub *ecdsa.PublicKey, msg, sig []byte) bool {
	h, err := hashFor(pub)
	if err != nil {
		return false
	}
	return verifyDigestWith(pub, h, msg, sig)
}

// verifyDigestWith checks an ASN.1 ECDSA signature of msg hashed with h.
func verifyDigestWith(pub *ecdsa.PublicKey, h crypto.Hash, msg, sig []byte) bool {
	d := h.New()
	d.Write(msg)
	return ecdsa.VerifyASN1(pub, d.Sum(nil), sig)
}
