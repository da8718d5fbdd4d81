package sign

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// ScanPredicateType is the predicate type of a scan attestation: the
// verdict of `violet scan` on files named by the statement's subjects
// (docs/signing.md, "Scan attestations").
const ScanPredicateType = "https://violet-mlsecops.dev/attestation/scan/v1"

// Subject is one file an attestation is about.
type Subject struct {
	// Name is the file's path relative to what was attested, with forward
	// slashes (the base name when a single file was attested).
	Name string
	// SHA256 is the hex SHA-256 of the file's bytes.
	SHA256 string
}

// Attestation is a verified attestation.
type Attestation struct {
	// PredicateType is the statement's predicate type.
	PredicateType string
	// Subjects are the attested files, in name order.
	Subjects []Subject
	// Predicate is the predicate, as signed.
	Predicate json.RawMessage
	// Signer names who signed it: see SignerName.
	Signer string
}

// statementJSON is an in-toto Statement v1, as Attest writes it and
// VerifyAttestation reads it: the predicate is kept as signed.
type statementJSON struct {
	Type          string          `json:"_type"`
	Subject       []subjectJSON   `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// subjectJSON is one in-toto resource descriptor.
type subjectJSON struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Attest signs an in-toto Statement v1 about subjects (sorted by name)
// whose predicate is predicate (marshalled to a JSON object) of type
// predicateType, and returns the Sigstore bundle, as SignManifest writes
// it: a DSSE envelope of payload type PayloadType, with s's verification
// material. Subject names must be clean relative paths and digests
// SHA-256 hex; there must be one subject at least.
func Attest(subjects []Subject, predicateType string, predicate any, s Signer) ([]byte, error) {
	if predicateType == "" {
		return nil, errors.New("attest: no predicate type")
	}
	raw, err := json.Marshal(predicate)
	if err != nil {
		return nil, fmt.Errorf("attest: predicate: %w", err)
	}
	if !isObject(raw) {
		return nil, errors.New("attest: the predicate is not a JSON object")
	}
	if len(subjects) == 0 {
		return nil, errors.New("attest: no subjects (no files to attest)")
	}
	sorted := slices.Clone(subjects)
	slices.SortFunc(sorted, func(a, b Subject) int { return strings.Compare(a.Name, b.Name) })
	st := statementJSON{Type: StatementType, PredicateType: predicateType, Predicate: raw}
	for i, sub := range sorted {
		if err := checkSubject(sub); err != nil {
			return nil, fmt.Errorf("attest: %w", err)
		}
		if i > 0 && sorted[i-1].Name == sub.Name {
			return nil, fmt.Errorf("attest: subject %q listed twice", sub.Name)
		}
		st.Subject = append(st.Subject, subjectJSON{Name: sub.Name, Digest: map[string]string{"sha256": sub.SHA256}})
	}
	payload, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, err
	}
	var check intoto.Statement
	if err := protojson.Unmarshal(payload, &check); err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	if err := check.Validate(); err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	return signPayload(payload, s)
}

// isObject reports whether raw is a JSON object.
func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// checkSubject applies the rules on subjects: a clean relative path with
// forward slashes (no "..", no leading "/", no empty or "." element) and a
// SHA-256 digest in lower-case hex.
func checkSubject(sub Subject) error {
	if sub.Name == "." || !fs.ValidPath(sub.Name) {
		return fmt.Errorf("subject name %q is not a clean relative path", sub.Name)
	}
	if d, err := hex.DecodeString(sub.SHA256); err != nil || len(d) != 32 || sub.SHA256 != strings.ToLower(sub.SHA256) {
		return fmt.Errorf("subject %q: sha256 digest %q is not 64 lower-case hex digits", sub.Name, sub.SHA256)
	}
	return nil
}

// VerifyAttestation checks the bundle's signature with v, then that it
// signs an in-toto Statement v1 (payload type PayloadType) of predicate
// type predicateType, whose subjects are files named by clean relative
// paths with a SHA-256 digest each, and returns it. Errors wrap
// ErrSignature when the signature is not trusted, ErrPayload when what it
// signs is not such an attestation.
func VerifyAttestation(b *Bundle, v Verifier, predicateType string) (*Attestation, error) {
	payloadType, payload, err := v.VerifyBundle(b)
	if err != nil {
		return nil, err
	}
	if payloadType != PayloadType {
		return nil, fmt.Errorf("%w: DSSE payload type %s, want %s", ErrPayload, strconv.Quote(payloadType), PayloadType)
	}
	var st statementJSON
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("%w: the statement is not JSON: %v", ErrPayload, err)
	}
	if st.Type != StatementType {
		return nil, fmt.Errorf("%w: statement type %q, want %q", ErrPayload, st.Type, StatementType)
	}
	if st.PredicateType != predicateType {
		return nil, fmt.Errorf("%w: predicate type %q, want %q", ErrPayload, st.PredicateType, predicateType)
	}
	if !isObject(st.Predicate) {
		return nil, fmt.Errorf("%w: the statement has no predicate object", ErrPayload)
	}
	if len(st.Subject) == 0 {
		return nil, fmt.Errorf("%w: the statement has no subjects", ErrPayload)
	}
	a := &Attestation{PredicateType: st.PredicateType, Predicate: st.Predicate, Signer: SignerName(b, v)}
	seen := map[string]bool{}
	for _, s := range st.Subject {
		sub := Subject{Name: s.Name, SHA256: s.Digest["sha256"]}
		if err := checkSubject(sub); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPayload, err)
		}
		if seen[sub.Name] {
			return nil, fmt.Errorf("%w: subject %q listed twice", ErrPayload, sub.Name)
		}
		seen[sub.Name] = true
		a.Subjects = append(a.Subjects, sub)
	}
	slices.SortFunc(a.Subjects, func(x, y Subject) int { return strings.Compare(x.Name, y.Name) })
	return a, nil
}

// SignerName names who signed b, for a report: with a KeyVerifier, the
// hint of its key (the key that verified the signature); otherwise the
// subject of the bundle's signing certificate (the leaf), or, when the
// subject is empty as in Sigstore's Fulcio certificates, its subject
// alternative names (emails, URIs). It is "" when b holds no certificate
// it can read. Call it once v has verified b: it does not check anything.
func SignerName(b *Bundle, v Verifier) string {
	if kv, ok := v.(*KeyVerifier); ok {
		hint, _ := KeyHint(kv.pub)
		return hint
	}
	vm := b.Proto.GetVerificationMaterial()
	var der []byte
	if certs := vm.GetX509CertificateChain().GetCertificates(); len(certs) > 0 {
		der = certs[0].GetRawBytes()
	} else if c := vm.GetCertificate(); c != nil {
		der = c.GetRawBytes()
	}
	if der == nil {
		if h := vm.GetPublicKey().GetHint(); h != "" {
			return h
		}
		return ""
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return ""
	}
	if s := leaf.Subject.String(); s != "" {
		return s
	}
	var names []string
	names = append(names, leaf.EmailAddresses...)
	for _, u := range leaf.URIs {
		names = append(names, u.String())
	}
	return strings.Join(names, ", ")
}
