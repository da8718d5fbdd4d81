package sign

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// The types an OMS v1.0 signature carries, as the reference tool
// (sigstore/model-transparency, model_signing) writes and checks them.
const (
	// PayloadType is the DSSE payload type of the statement.
	PayloadType = "application/vnd.in-toto+json"
	// StatementType is the in-toto statement type.
	StatementType = "https://in-toto.io/Statement/v1"
	// PredicateType is the OMS v1.0 predicate type.
	PredicateType = "https://model_signing/signature/v1.0"
	// PredicateTypeV01 is the predicate type that model_signing v0.2
	// wrote: one subject per file, no serialization. Verified, never
	// written.
	PredicateTypeV01 = "https://model_signing/Digests/v0.1"
	// compatModelName is the model name the reference tool gives a v0.1
	// manifest, which records none.
	compatModelName = "compat-undefined-not-present"
)

// ErrPayload wraps every reason a signed payload is not an OMS statement
// Violet accepts: the signature may be valid, but what it signs is not a
// model manifest.
var ErrPayload = errors.New("payload is not an OMS model signature")

// Payload returns the in-toto statement that signs m: one subject, named
// after the model, whose sha256 digest is the root digest (sha256 over the
// raw resource digests in manifest order), and the OMS v1.0 predicate with
// the serialization parameters and every resource. Names are written with
// EncodeName. It is JSON indented by two spaces, as the reference tool
// writes it.
func Payload(m *Manifest) ([]byte, error) {
	resources := make([]any, len(m.Resources))
	for i, r := range m.Resources {
		resources[i] = map[string]any{"name": EncodeName(r.Name), "algorithm": r.Algorithm, "digest": hex.EncodeToString(r.Digest)}
	}
	args, err := serializationArgs(m.Serialization)
	if err != nil {
		return nil, err
	}
	predicate, err := structpb.NewStruct(map[string]any{"serialization": args, "resources": resources})
	if err != nil {
		return nil, err
	}
	st := &intoto.Statement{
		Type:          StatementType,
		Subject:       []*intoto.ResourceDescriptor{{Name: EncodeName(m.ModelName), Digest: map[string]string{"sha256": hex.EncodeToString(m.RootDigest())}}},
		PredicateType: PredicateType,
		Predicate:     predicate,
	}
	if err := st.Validate(); err != nil {
		return nil, err
	}
	raw, err := protojson.Marshal(st)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// serializationArgs is the predicate's "serialization" object, as
// Serialization.MarshalJSON writes it.
func serializationArgs(s Serialization) (map[string]any, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var args map[string]any
	return args, json.Unmarshal(raw, &args)
}

// ParsePayload reads a signed statement back into the manifest it signs,
// with the checks of the reference verifier: the in-toto statement type,
// the predicate type, one subject, and a root digest that matches the
// resources. Names are read back with DecodeName. A v0.1 statement
// (model_signing v0.2) gives a manifest of its subjects, hashed with
// sha256 by file. Errors wrap ErrPayload.
func ParsePayload(data []byte) (*Manifest, error) {
	var st intoto.Statement
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPayload, err)
	}
	if st.Type != StatementType {
		return nil, fmt.Errorf("%w: statement type %q, want %q", ErrPayload, st.Type, StatementType)
	}
	switch st.PredicateType {
	case PredicateType:
	case PredicateTypeV01:
		return compatManifest(&st)
	default:
		return nil, fmt.Errorf("%w: predicate type %q, want %q", ErrPayload, st.PredicateType, PredicateType)
	}
	if len(st.Subject) != 1 {
		return nil, fmt.Errorf("%w: %d subjects, want one", ErrPayload, len(st.Subject))
	}
	subject := st.Subject[0]
	pred := st.GetPredicate().AsMap()
	s, err := parseSerialization(pred["serialization"])
	if err != nil {
		return nil, err
	}
	list, ok := pred["resources"].([]any)
	if !ok {
		return nil, fmt.Errorf("%w: the predicate has no resources list", ErrPayload)
	}
	name, err := DecodeName(subject.GetName())
	if err != nil {
		name = subject.GetName() // informative only
	}
	m := &Manifest{ModelName: name, Serialization: s}
	seen := map[string]bool{}
	for i, item := range list {
		r, err := parseResource(item)
		if err != nil {
			return nil, fmt.Errorf("%w: resource %d: %v", ErrPayload, i, err)
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("%w: resource %q listed twice", ErrPayload, r.Name)
		}
		seen[r.Name] = true
		m.Resources = append(m.Resources, r)
	}
	want := subject.GetDigest()["sha256"]
	if got := hex.EncodeToString(m.RootDigest()); got != want {
		return nil, fmt.Errorf("%w: the manifest is inconsistent: the root digest is %s but the resources hash to %s", ErrPayload, want, got)
	}
	return m, nil
}

// compatManifest reads a v0.1 statement: every subject is a file hashed
// with sha256, and nothing else is recorded.
func compatManifest(st *intoto.Statement) (*Manifest, error) {
	m := &Manifest{ModelName: compatModelName, Serialization: Serialization{Method: MethodFiles, HashType: "sha256"}}
	for i, sub := range st.Subject {
		d, err := hex.DecodeString(sub.GetDigest()["sha256"])
		if err != nil || len(d) != sha256.Size {
			return nil, fmt.Errorf("%w: subject %d has no sha256 digest", ErrPayload, i)
		}
		name, err := DecodeName(sub.GetName())
		if err != nil {
			return nil, fmt.Errorf("%w: subject %d: %v", ErrPayload, i, err)
		}
		m.Resources = append(m.Resources, Resource{Name: name, Algorithm: "sha256", Digest: d})
	}
	return m, nil
}

// parseResource reads one {"name", "algorithm", "digest"} object.
func parseResource(item any) (Resource, error) {
	obj, ok := item.(map[string]any)
	if !ok {
		return Resource{}, errors.New("not an object")
	}
	name, _ := obj["name"].(string)
	alg, _ := obj["algorithm"].(string)
	hexDigest, _ := obj["digest"].(string)
	d, err := hex.DecodeString(hexDigest)
	if name == "" || alg == "" || err != nil || len(d) == 0 {
		return Resource{}, fmt.Errorf("name %q, algorithm %q, digest %q", name, alg, hexDigest)
	}
	if name, err = DecodeName(name); err != nil {
		return Resource{}, err
	}
	return Resource{Name: name, Algorithm: alg, Digest: d}, nil
}

// parseSerialization reads the predicate's "serialization" object with
// Serialization.UnmarshalJSON and checks it can be hashed again.
func parseSerialization(v any) (Serialization, error) {
	args, ok := v.(map[string]any)
	if !ok {
		return Serialization{}, fmt.Errorf("%w: the predicate has no serialization object", ErrPayload)
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return Serialization{}, fmt.Errorf("%w: serialization: %v", ErrPayload, err)
	}
	var s Serialization
	if err := json.Unmarshal(raw, &s); err != nil {
		return Serialization{}, fmt.Errorf("%w: serialization %s: %v", ErrPayload, raw, err)
	}
	if err := s.Validate(); err != nil {
		return Serialization{}, fmt.Errorf("%w: %v", ErrPayload, err)
	}
	return s, nil
}
