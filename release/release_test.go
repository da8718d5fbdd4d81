package release

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/sign"
)

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func keys(t *testing.T) (sign.Signer, sign.Verifier) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewKeySigner(key)
	if err != nil {
		t.Fatal(err)
	}
	v, err := sign.NewKeyVerifier(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func TestRequired(t *testing.T) {
	for _, c := range []struct {
		tier  string
		third bool
		want  string
	}{
		{TierLow, false, "security"},
		{TierMedium, false, "ml-engineer security"},
		{TierHigh, false, "legal-compliance ml-engineer security sme"},
		{TierLow, true, "procurement security"},
	} {
		got, err := DefaultSignoffs.Required(c.tier, c.third)
		if err != nil || strings.Join(got, " ") != c.want {
			t.Errorf("%s third=%v: %v %v, want %s", c.tier, c.third, got, err, c.want)
		}
	}
	if _, err := DefaultSignoffs.Required("extreme", false); err == nil {
		t.Error("an unknown tier was taken")
	}
}

func TestSignAndVerify(t *testing.T) {
	s, v := keys(t)
	_, other := keys(t)
	d := Decision{Release: 7, Model: "fraud-detector", Digest: digestA, Role: "security", Decision: Approve, Reason: "scanned clean"}
	bundle, err := Sign(d, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSigned(d, bundle); err != nil {
		t.Fatalf("CheckSigned: %v", err)
	}
	d.Signature = bundle
	if _, err := VerifySignature(d, v); err != nil {
		t.Fatalf("VerifySignature: %v", err)
	}
	if _, err := VerifySignature(d, other); !errors.Is(err, sign.ErrSignature) {
		t.Errorf("another key: %v", err)
	}
	// The signature signs this decision only: any field changed is a
	// mismatch, for the server (unverified) and for a verifier.
	for name, edit := range map[string]func(*Decision){
		"digest":   func(x *Decision) { x.Digest = digestB },
		"role":     func(x *Decision) { x.Role = "legal-compliance" },
		"decision": func(x *Decision) { x.Decision = Reject },
		"reason":   func(x *Decision) { x.Reason = "ok" },
		"release":  func(x *Decision) { x.Release = 8 },
	} {
		x := d
		edit(&x)
		if err := CheckSigned(x, bundle); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s: CheckSigned %v", name, err)
		}
		if _, err := VerifySignature(x, v); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s: VerifySignature %v", name, err)
		}
	}
	if err := CheckSigned(d, []byte(`{"not":"a bundle"}`)); err == nil {
		t.Error("a non-bundle was taken")
	}
}

func TestJudgeAndVerify(t *testing.T) {
	s, v := keys(t)
	required := []string{"ml-engineer", "security"}
	ap := func(role, by, digest string) Decision {
		return Decision{Release: 1, Model: "m", Digest: digest, Role: role, Decision: Approve, Reason: "ok", By: by}
	}
	for _, c := range []struct {
		name     string
		ds       []Decision
		approved bool
		missing  []string
	}{
		{"both", []Decision{ap("security", "sam", digestA), ap("ml-engineer", "mia", digestA)}, true, nil},
		{"one", []Decision{ap("security", "sam", digestA)}, false, []string{"ml-engineer"}},
		{"another digest", []Decision{ap("security", "sam", digestA), ap("ml-engineer", "mia", digestB)}, false, []string{"ml-engineer"}},
		{"same person", []Decision{ap("security", "sam", digestA), ap("ml-engineer", "sam", digestA)}, false, []string{"security"}},
		{"rejected then approved", []Decision{ap("security", "sam", digestA), {Role: "ml-engineer", Decision: Reject, Digest: digestA, By: "mia"},
			ap("ml-engineer", "mia", digestA)}, true, nil},
		{"approved then rejected", []Decision{ap("security", "sam", digestA), ap("ml-engineer", "mia", digestA),
			{Role: "ml-engineer", Decision: Reject, Digest: digestA, By: "mia"}}, false, []string{"ml-engineer"}},
	} {
		st := Judge(required, digestA, c.ds)
		if st.Approved != c.approved || !slices.Equal(st.Missing, c.missing) {
			t.Errorf("%s: %+v", c.name, st)
		}
	}
	// Verify: a signed decision counts only with its key; an edited
	// record loses the edited decision.
	sec := ap("security", "sam", digestA)
	sig, err := Sign(sec, s)
	if err != nil {
		t.Fatal(err)
	}
	sec.Signature = sig
	rec := Record{ID: 1, Model: "m", Digest: digestA, Required: required, Decisions: []Decision{sec, ap("ml-engineer", "mia", digestA)}}
	if st := Verify(rec, digestA, nil, []sign.Verifier{v}, false); !st.Approved {
		t.Errorf("verify: %+v", st)
	}
	if st := Verify(rec, digestA, nil, []sign.Verifier{v}, true); st.Approved || !slices.Equal(st.Missing, []string{"ml-engineer"}) {
		t.Errorf("require signed: %+v", st)
	}
	if st := Verify(rec, digestA, nil, nil, false); st.Approved {
		t.Errorf("a signed decision without its key counted: %+v", st)
	}
	if st := Verify(rec, digestB, nil, []sign.Verifier{v}, false); st.Approved {
		t.Errorf("a record of another version approved: %+v", st)
	}
	data, _ := json.Marshal(rec)
	var edited Record
	if err := json.Unmarshal([]byte(strings.Replace(string(data), `"reason":"ok"`, `"reason":"fine"`, 1)), &edited); err != nil {
		t.Fatal(err)
	}
	if st := Verify(edited, digestA, nil, []sign.Verifier{v}, false); st.Approved {
		t.Errorf("an edited record approved: %+v", st)
	}
}

// FuzzCheckSigned: whatever the server is sent as a signature, checking it
// never panics, and never takes one that does not sign the decision.
func FuzzCheckSigned(f *testing.F) {
	d := Decision{Release: 1, Model: "m", Digest: digestA, Role: "security", Decision: Approve, Reason: "ok"}
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[]}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if CheckSigned(d, data) == nil && !strings.Contains(string(data), "dsseEnvelope") {
			t.Fatalf("took %q", data)
		}
	})
}
