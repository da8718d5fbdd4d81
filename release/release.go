// Package release is the sign-off of a model version's release by the
// roles that answer for it: which roles a risk tier requires, the signed
// statement of an approval (a DSSE attestation made with package sign),
// and the exported record of a release that anyone can check offline
// against the model and the approvers' keys.
package release

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/violet-mlsecops/violet/sign"
)

// PredicateType is the predicate type of an approval attestation.
const PredicateType = "https://violet-mlsecops.dev/attestation/release-decision/v1"

// Risk tiers of a release.
const (
	TierLow    = "low"
	TierMedium = "medium"
	TierHigh   = "high"
)

// Tiers lists the tiers, from the least risky.
func Tiers() []string { return []string{TierLow, TierMedium, TierHigh} }

// Decisions.
const (
	Approve = "approve"
	Reject  = "reject"
)

// Signoffs says which roles must approve a release: by tier, plus
// ThirdParty for a model the team did not train (a vendor's, a hub's).
type Signoffs struct {
	Tiers      map[string][]string `json:"tiers"`
	ThirdParty []string            `json:"third_party"`
}

// DefaultSignoffs is the table that violet serve and the gate's default
// policy data (gate/policies/data.json, release_signoffs) both hold; a team
// changes the gate's with its own data file. "sme" is the subject-matter
// expert who reviews ethics and usability.
var DefaultSignoffs = Signoffs{
	Tiers: map[string][]string{
		TierLow:    {"security"},
		TierMedium: {"security", "ml-engineer"},
		TierHigh:   {"security", "ml-engineer", "legal-compliance", "sme"},
	},
	ThirdParty: []string{"procurement"},
}

// Required returns the roles that must approve a release of tier, sorted;
// an unknown tier is an error.
func (s Signoffs) Required(tier string, thirdParty bool) ([]string, error) {
	roles, ok := s.Tiers[tier]
	if !ok {
		return nil, fmt.Errorf("release: risk tier %q: want one of %s", tier, strings.Join(Tiers(), ", "))
	}
	out := slices.Clone(roles)
	if thirdParty {
		out = append(out, s.ThirdParty...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Decision is the predicate of an approval attestation, and a decision of
// a record.
type Decision struct {
	// Release is the release request's id on the server.
	Release int64 `json:"release"`
	// Model is the model's name; Digest the version's manifest digest
	// ("sha256:...") the decision is about.
	Model  string `json:"model"`
	Digest string `json:"digest"`
	// Role is the role the approver decides for; Decision Approve or
	// Reject; Reason why.
	Role     string `json:"role"`
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
	// By is who decided (the server's actor); At when (set by the server).
	By string    `json:"by,omitempty"`
	At time.Time `json:"at,omitzero"`
	// Signature is the approver's DSSE attestation (a Sigstore bundle)
	// of this decision, when signed.
	Signature json.RawMessage `json:"signature,omitempty"`
}

// predicate is what an approver signs: the decision without who, when
// and the signature itself.
type predicate struct {
	Release  int64  `json:"release"`
	Model    string `json:"model"`
	Digest   string `json:"digest"`
	Role     string `json:"role"`
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

func (d Decision) predicate() predicate {
	return predicate{d.Release, d.Model, d.Digest, d.Role, d.Decision, d.Reason}
}

// digestHex is the hex of a "sha256:<hex>" manifest digest.
func digestHex(digest string) (string, error) {
	h, ok := strings.CutPrefix(digest, "sha256:")
	if b, err := hex.DecodeString(h); !ok || err != nil || len(b) != 32 || h != strings.ToLower(h) {
		return "", fmt.Errorf("release: digest %q: want sha256:<64 lower-case hex>", digest)
	}
	return h, nil
}

// subjectName is the statement's subject name of a model: its name when
// that is a clean path segment, else "model".
func subjectName(model string) string {
	if model == "" || strings.ContainsAny(model, "/\\") || model == "." || model == ".." {
		return "model"
	}
	return model
}

// Sign makes the approver's attestation of d with s: an in-toto statement
// whose subject is the version (its manifest digest) and whose predicate
// is the decision.
func Sign(d Decision, s sign.Signer) ([]byte, error) {
	h, err := digestHex(d.Digest)
	if err != nil {
		return nil, err
	}
	return sign.Attest([]sign.Subject{{Name: subjectName(d.Model), SHA256: h}}, PredicateType, d.predicate(), s)
}

// ErrMismatch is the error of a signature that does not sign the decision
// it comes with.
var ErrMismatch = errors.New("the signature does not sign this decision")

// statement is what Unverified reads of a bundle's payload.
type statement struct {
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate predicate `json:"predicate"`
}

// CheckSigned checks, without checking the signature itself, that bundle
// signs exactly decision d: the server keeps only signatures of what they
// come with, and whoever holds the approvers' keys checks them (Verify).
func CheckSigned(d Decision, bundle []byte) error {
	b, err := sign.ParseBundle(bundle)
	if err != nil {
		return err
	}
	env := b.Proto.GetDsseEnvelope()
	if env == nil {
		return fmt.Errorf("%w: the bundle holds no DSSE envelope", ErrMismatch)
	}
	var st statement
	if err := json.Unmarshal(env.GetPayload(), &st); err != nil {
		return fmt.Errorf("%w: the payload is not a statement: %v", ErrMismatch, err)
	}
	return matches(d, st)
}

// matches checks that a statement signs d.
func matches(d Decision, st statement) error {
	h, err := digestHex(d.Digest)
	if err != nil {
		return err
	}
	switch {
	case st.PredicateType != PredicateType:
		return fmt.Errorf("%w: predicate type %q", ErrMismatch, st.PredicateType)
	case len(st.Subject) != 1 || st.Subject[0].Digest["sha256"] != h:
		return fmt.Errorf("%w: it is about another version than %s", ErrMismatch, d.Digest)
	case st.Predicate != d.predicate():
		return fmt.Errorf("%w: it signs %+v", ErrMismatch, st.Predicate)
	}
	return nil
}

// VerifySignature checks the signature of d with v, and that it signs d.
// It returns who signed (sign.SignerName).
func VerifySignature(d Decision, v sign.Verifier) (string, error) {
	if len(d.Signature) == 0 {
		return "", errors.New("release: the decision is not signed")
	}
	b, err := sign.ParseBundle(d.Signature)
	if err != nil {
		return "", err
	}
	a, err := sign.VerifyAttestation(b, v, PredicateType)
	if err != nil {
		return "", err
	}
	var p predicate
	if err := json.Unmarshal(a.Predicate, &p); err != nil {
		return "", fmt.Errorf("%w: %v", ErrMismatch, err)
	}
	st := statement{PredicateType: a.PredicateType, Predicate: p}
	for _, s := range a.Subjects {
		st.Subject = append(st.Subject, struct {
			Digest map[string]string `json:"digest"`
		}{map[string]string{"sha256": s.SHA256}})
	}
	if err := matches(d, st); err != nil {
		return "", err
	}
	return a.Signer, nil
}

// Record is a release request with its decisions, as the server exports
// it (GET /api/v1/releases/{id}/record): what `violet release verify`
// checks offline.
type Record struct {
	ID          int64     `json:"id"`
	Team        string    `json:"team"`
	Model       string    `json:"model"`
	Digest      string    `json:"digest"`
	Title       string    `json:"title"`
	Tier        string    `json:"tier"`
	ThirdParty  bool      `json:"third_party"`
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	// Required are the roles the server required when the release was
	// requested.
	Required []string `json:"required_roles"`
	// Decisions are every decision, oldest first.
	Decisions []Decision `json:"decisions"`
}

// Status is where a release stands for a version.
type Status struct {
	// Approved is true when every required role's latest decision for the
	// digest approves, each by another person, and no role's latest
	// decision rejects.
	Approved bool `json:"approved"`
	// Missing are the required roles without an approval that counts.
	Missing []string `json:"missing,omitempty"`
	// Rejected are the roles whose latest decision rejects.
	Rejected []string `json:"rejected,omitempty"`
	// Problems say why decisions did not count (another digest, an
	// approver who already approved for another role, a signature that
	// does not verify).
	Problems []string `json:"problems,omitempty"`
}

// Latest returns each role's latest decision among ds (they are in time
// order).
func Latest(ds []Decision) map[string]Decision {
	out := map[string]Decision{}
	for _, d := range ds {
		out[d.Role] = d
	}
	return out
}

// Judge says where a release whose required roles are required stands for
// the version digest, from its decisions (those that count: see Verify).
func Judge(required []string, digest string, ds []Decision) Status {
	var st Status
	latest := Latest(ds)
	approvers := map[string]string{} // person -> role approved for
	for _, role := range slices.Sorted(maps.Keys(latest)) {
		d := latest[role]
		if d.Decision == Reject {
			st.Rejected = append(st.Rejected, role)
		}
	}
	for _, role := range required {
		d, ok := latest[role]
		switch {
		case !ok || d.Decision != Approve:
			st.Missing = append(st.Missing, role)
		case d.Digest != digest:
			st.Missing = append(st.Missing, role)
			st.Problems = append(st.Problems, fmt.Sprintf("the %s approval is for %s, not %s", role, d.Digest, digest))
		case approvers[d.By] != "":
			st.Missing = append(st.Missing, role)
			st.Problems = append(st.Problems, fmt.Sprintf("%s approved for %s already: one person gives one required approval", d.By, approvers[d.By]))
		default:
			approvers[d.By] = role
		}
	}
	st.Approved = len(st.Missing) == 0 && len(st.Rejected) == 0
	return st
}

// Verify checks a record offline for the version digest (what `violet
// hash` prints for the model at hand): a signed decision counts only when
// its signature verifies with one of verifiers and signs exactly that
// decision; with requireSigned, an unsigned one does not count either.
// The required roles are the record's unless required is given (the
// team's own table).
func Verify(r Record, digest string, required []string, verifiers []sign.Verifier, requireSigned bool) Status {
	if required == nil {
		required = r.Required
	}
	var counted []Decision
	var problems []string
	if r.Digest != digest {
		problems = append(problems, fmt.Sprintf("the release is of version %s, the model is %s", r.Digest, digest))
	}
	for _, d := range r.Decisions {
		if len(d.Signature) == 0 {
			if requireSigned {
				problems = append(problems, fmt.Sprintf("the %s %s by %s is not signed", d.Role, d.Decision, d.By))
				continue
			}
			counted = append(counted, d)
			continue
		}
		if err := verifyAny(d, verifiers); err != nil {
			problems = append(problems, fmt.Sprintf("the %s %s by %s: %v", d.Role, d.Decision, d.By, err))
			continue
		}
		counted = append(counted, d)
	}
	st := Judge(required, digest, counted)
	st.Problems = append(problems, st.Problems...)
	st.Approved = st.Approved && r.Digest == digest
	return st
}

// verifyAny verifies d's signature with one of verifiers.
func verifyAny(d Decision, verifiers []sign.Verifier) error {
	if len(verifiers) == 0 {
		return errors.New("signed, and no key was given to check it")
	}
	var last error
	for _, v := range verifiers {
		if _, last = VerifySignature(d, v); last == nil {
			return nil
		}
	}
	return last
}
