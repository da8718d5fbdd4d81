package gate

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/violet-mlsecops/violet/release"
	"github.com/violet-mlsecops/violet/sign"
)

// ReleaseSource is where the gate finds the sign-offs of the model's
// release: a Violet server (violet gate --server).
type ReleaseSource struct {
	// Records returns the release requests of the version digest, newest
	// first.
	Records func(ctx context.Context, digest string) ([]release.Record, error)
	// Verifiers check the approvers' signatures (--signoff-key); without
	// them a signed decision is recorded as not verified.
	Verifiers []sign.Verifier
}

// ReleaseEvidence is the release of the model's version and its sign-offs.
type ReleaseEvidence struct {
	// Digest is the model's manifest digest, as the gate computed it from
	// the files: a decision counts only for this digest.
	Digest string `json:"digest"`
	// Found is false when the server holds no release of this version.
	Found bool `json:"found"`
	// ID, Tier and ThirdParty are the newest release request's.
	ID         int64  `json:"id,omitempty"`
	Tier       string `json:"tier,omitempty"`
	ThirdParty bool   `json:"third_party"`
	// Decisions are its decisions, oldest first.
	Decisions []ReleaseDecision `json:"decisions"`
	// Latest is each role's latest decision: computed from Decisions by
	// Gather and again by Policy.Evaluate.
	Latest map[string]ReleaseDecision `json:"latest"`
}

// ReleaseDecision is one decision, as the policy needs it.
type ReleaseDecision struct {
	Role     string `json:"role"`
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
	// Digest is the version the decision is about.
	Digest string `json:"digest"`
	By     string `json:"by"`
	// Signed is true when the approver signed it; SignatureVerified when
	// the signature verifies with a --signoff-key and signs this
	// decision; SignatureError says why not.
	Signed            bool   `json:"signed"`
	SignatureVerified bool   `json:"signature_verified"`
	Signer            string `json:"signer,omitempty"`
	SignatureError    string `json:"signature_error,omitempty"`
}

// latestDecisions is each role's latest decision.
func latestDecisions(ds []ReleaseDecision) map[string]ReleaseDecision {
	out := map[string]ReleaseDecision{}
	for _, d := range ds {
		out[d.Role] = d
	}
	return out
}

// releaseEvidence asks src for the release of the version at path.
func releaseEvidence(ctx context.Context, path string, src *ReleaseSource) (*ReleaseEvidence, error) {
	m, err := sign.Hash(ctx, path, releaseSerialization(path), sign.HashOptions{})
	if err != nil {
		return nil, fmt.Errorf("release: hashing the model: %w", err)
	}
	ev := &ReleaseEvidence{Digest: fmt.Sprintf("sha256:%x", m.RootDigest()), Decisions: []ReleaseDecision{}}
	records, err := src.Records(ctx, ev.Digest)
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	if len(records) == 0 {
		ev.Latest = map[string]ReleaseDecision{}
		return ev, nil
	}
	r := records[0]
	ev.Found, ev.ID, ev.Tier, ev.ThirdParty = true, r.ID, r.Tier, r.ThirdParty
	for _, d := range r.Decisions {
		rd := ReleaseDecision{Role: d.Role, Decision: d.Decision, Reason: d.Reason, Digest: d.Digest, By: d.By,
			Signed: len(d.Signature) > 0}
		if rd.Signed {
			rd.Signer, rd.SignatureError = verifyDecision(d, src.Verifiers)
			rd.SignatureVerified = rd.SignatureError == ""
		}
		ev.Decisions = append(ev.Decisions, rd)
	}
	ev.Latest = latestDecisions(ev.Decisions)
	return ev, nil
}

// verifyDecision verifies a decision's signature with one of verifiers:
// the signer, or why it does not verify.
func verifyDecision(d release.Decision, verifiers []sign.Verifier) (signer, problem string) {
	if len(verifiers) == 0 {
		return "", "no --signoff-key was given to check it"
	}
	for _, v := range verifiers {
		who, err := release.VerifySignature(d, v)
		if err == nil {
			return who, ""
		}
		problem = err.Error()
	}
	return "", problem
}

// releaseSerialization is how the gate hashes the model to find its
// release: as violet hash and --upload do, the signature file left out.
func releaseSerialization(path string) sign.Serialization {
	s := sign.DefaultSerialization()
	// An ignore path that is absolute is taken relative to the model.
	if abs, err := filepath.Abs(sign.DefaultSignaturePath(path)); err == nil {
		s.IgnorePaths = append(s.IgnorePaths, abs)
	}
	return s
}
