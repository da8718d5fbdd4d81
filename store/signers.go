package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Trusted signer kinds: what a verify job checks a signature with.
const (
	// SignerKey is an ECDSA public key, PEM (what violet verify --key takes).
	SignerKey = "key"
	// SignerCA is the root CAs of a private PKI, PEM (violet verify --ca).
	SignerCA = "ca"
	// SignerSigstore is a keyless Sigstore identity and its OIDC issuer,
	// checked offline against a trusted_root.json (violet verify
	// --identity --issuer --trusted-root).
	SignerSigstore = "sigstore"
)

// SignerKinds lists the trusted signer kinds.
func SignerKinds() []string { return []string{SignerKey, SignerCA, SignerSigstore} }

// MaxSignerMaterial bounds a trusted signer's material: a PEM key, PEM
// certificates or a trusted_root.json (public-good Sigstore's is ~10 KB).
const MaxSignerMaterial = 256 << 10

// TrustedSigner is a signer a team trusts: its verify jobs accept a
// signature that one of the team's trusted signers verifies.
type TrustedSigner struct {
	ID     int64
	TeamID int64
	// Name is what the team calls the signer ("release key", "ML CI").
	Name string
	Kind string // SignerKey, SignerCA or SignerSigstore
	// Material is the PEM public key, the PEM root CAs, or the
	// trusted_root.json of a Sigstore signer.
	Material string
	// Identity and Issuer are a Sigstore signer's certificate identity
	// (an email or a URI) and OIDC issuer; "" for the other kinds.
	Identity, Issuer string
	CreatedBy        string
	CreatedAt        time.Time
}

// checkSigner refuses a signer whose fields are out of bounds. Whether the
// material parses is for the caller to check (package sign reads it).
func checkSigner(t TrustedSigner) error {
	if err := checkText("signer name", t.Name); err != nil {
		return err
	}
	if err := oneOf("signer kind", t.Kind, SignerKinds()); err != nil {
		return err
	}
	if t.Material == "" || len(t.Material) > MaxSignerMaterial || !utf8.ValidString(t.Material) {
		return fmt.Errorf("signer material: want 1 to %d bytes of UTF-8 text (PEM or JSON): %w", MaxSignerMaterial, ErrInvalid)
	}
	sigstore := t.Kind == SignerSigstore
	if sigstore != (t.Identity != "") || sigstore != (t.Issuer != "") {
		return fmt.Errorf("signer: a Sigstore signer has an identity and an issuer, the others neither: %w", ErrInvalid)
	}
	if sigstore {
		if err := checkText("signer identity", t.Identity); err != nil {
			return err
		}
		return checkText("signer issuer", t.Issuer)
	}
	return nil
}

// AddTrustedSigner adds a signer that team t.TeamID trusts; a name one of
// the team's trusted signers has is ErrExists.
func (s *Store) AddTrustedSigner(ctx context.Context, a Actor, t TrustedSigner) (TrustedSigner, error) {
	if err := checkSigner(t); err != nil {
		return TrustedSigner{}, err
	}
	t.CreatedBy, t.CreatedAt = a.Name, s.stamp()
	err := s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO trusted_signers (team_id, name, kind, material, identity, issuer,
			created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, t.TeamID, t.Name, t.Kind,
			t.Material, t.Identity, t.Issuer, t.CreatedBy, fmtTime(t.CreatedAt)).Scan(&t.ID); err != nil {
			return err
		}
		log.add("signer.trust", objectID("signer", t.ID), map[string]any{"team": t.TeamID, "name": t.Name,
			"kind": t.Kind, "identity": t.Identity, "issuer": t.Issuer})
		return nil
	})
	if err != nil {
		return TrustedSigner{}, err
	}
	return t, nil
}

// RemoveTrustedSigner stops team teamID trusting signer id: its verify
// jobs no longer accept its signatures; the signer's row stays (reports
// stored before name it). Removing a removed signer is a no-op; another
// team's signer is ErrNotFound.
func (s *Store) RemoveTrustedSigner(ctx context.Context, a Actor, teamID, id int64) error {
	return s.writeTx(ctx, a, func(tx *sql.Tx, log *auditQueue) error {
		var name string
		var removed dbTime
		err := tx.QueryRowContext(ctx, `SELECT name, removed_at FROM trusted_signers WHERE id = $1 AND team_id = $2`,
			id, teamID).Scan(&name, &removed)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: signer %d: %w", id, ErrNotFound)
		} else if err != nil {
			return err
		}
		if !removed.T.IsZero() {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE trusted_signers SET removed_at = $1, removed_by = $2 WHERE id = $3`,
			fmtTime(s.stamp()), a.Name, id); err != nil {
			return err
		}
		log.add("signer.remove", objectID("signer", id), map[string]any{"team": teamID, "name": name})
		return nil
	})
}

// TrustedSigners lists the signers team teamID trusts now, by name.
func (s *Store) TrustedSigners(ctx context.Context, teamID int64) ([]TrustedSigner, error) {
	out, err := queryAll(ctx, s.rdb, func(row scanner) (TrustedSigner, error) {
		var t TrustedSigner
		var at dbTime
		err := row.Scan(&t.ID, &t.TeamID, &t.Name, &t.Kind, &t.Material, &t.Identity, &t.Issuer, &t.CreatedBy, &at)
		t.CreatedAt = at.T
		return t, err
	}, `SELECT id, team_id, name, kind, material, identity, issuer, created_by, created_at FROM trusted_signers
		WHERE team_id = $1 AND removed_at IS NULL ORDER BY name`, teamID)
	return out, s.wrap(err)
}
