package server

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/violet-mlsecops/violet/sign"
	"github.com/violet-mlsecops/violet/store"
)

// PermSigners: manage the signers the team's verify jobs trust.
const PermSigners = store.PermSigners

// signerJSON is a trusted signer in the API (openapi.json TrustedSigner).
// The material is public (a public key, CA certificates, a trusted root).
type signerJSON struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Material  string    `json:"material"`
	Identity  string    `json:"identity,omitempty"`
	Issuer    string    `json:"issuer,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

func toSigner(t store.TrustedSigner) signerJSON {
	return signerJSON{ID: t.ID, Name: t.Name, Kind: t.Kind, Material: t.Material, Identity: t.Identity, Issuer: t.Issuer,
		CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt}
}

// TrustedVerifier is the verifier of a trusted signer: what violet verify
// builds from --key, --ca, or --identity, --issuer and --trusted-root. Its
// error says why the material is not usable.
func TrustedVerifier(t store.TrustedSigner) (sign.Verifier, error) {
	if len(t.Material) > store.MaxSignerMaterial {
		return nil, fmt.Errorf("%d bytes, more than %d", len(t.Material), store.MaxSignerMaterial)
	}
	switch t.Kind {
	case store.SignerKey:
		pub, err := sign.ParsePublicKey([]byte(t.Material))
		if err != nil {
			return nil, err
		}
		return sign.NewKeyVerifier(pub)
	case store.SignerCA:
		roots, err := sign.ParseCertificates([]byte(t.Material))
		if err != nil {
			return nil, err
		}
		if len(roots) == 0 {
			return nil, errors.New("no PEM certificate")
		}
		return sign.NewCertificateVerifier(roots), nil
	case store.SignerSigstore:
		return sign.NewSigstoreVerifier([]byte(t.Material), t.Identity, t.Issuer)
	}
	return nil, fmt.Errorf("signer kind %q: want one of %v", t.Kind, store.SignerKinds())
}

// listSigners lists the signers the token's team trusts.
func (s *Server) listSigners(c *call) error {
	ts, err := s.st.TrustedSigners(c.ctx, c.token.TeamID)
	if err != nil {
		return err
	}
	out := []signerJSON{}
	for _, t := range ts {
		out = append(out, toSigner(t))
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

// addSigner adds a signer the token's team trusts, once its material
// reads as its kind says.
func (s *Server) addSigner(c *call) error {
	var in struct {
		Name     string `json:"name"`
		Kind     string `json:"kind"`
		Material string `json:"material"`
		Identity string `json:"identity"`
		Issuer   string `json:"issuer"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	t := store.TrustedSigner{TeamID: c.token.TeamID, Name: in.Name, Kind: in.Kind, Material: in.Material,
		Identity: in.Identity, Issuer: in.Issuer}
	if _, err := TrustedVerifier(t); err != nil {
		return fail(http.StatusUnprocessableEntity, "invalid_signer", "the %s signer's material: %s", clipText(t.Kind), clipText(err.Error()))
	}
	t, err := s.st.AddTrustedSigner(c.ctx, c.actor, t)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, toSigner(t))
	return nil
}

// removeSigner removes a signer of the token's team; another team's is 404.
func (s *Server) removeSigner(c *call) error {
	id, err := pathID(c, "signer")
	if err != nil {
		return err
	}
	if err := s.st.RemoveTrustedSigner(c.ctx, c.actor, c.token.TeamID, id); errors.Is(err, store.ErrNotFound) {
		return fail(http.StatusNotFound, "not_found", "signer %d: not found", id)
	} else if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
