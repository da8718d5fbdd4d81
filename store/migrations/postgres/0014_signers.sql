-- Verify and BOM jobs (issue 18). A team's trusted signers are what its
-- verify jobs check signatures against: an ECDSA public key (PEM), the
-- root CAs of a private PKI (PEM), or a Sigstore identity with its issuer
-- and the trusted_root.json it is checked against, offline. Scan requests
-- gain the kinds verify and bom: the job stores a verify report or an
-- ML-BOM as the version's evidence.

CREATE TABLE trusted_signers (
  id         BIGSERIAL PRIMARY KEY,
  team_id    BIGINT NOT NULL REFERENCES teams(id),
  name       TEXT NOT NULL,
  kind       TEXT NOT NULL CHECK (kind IN ('key', 'ca', 'sigstore')),
  -- the PEM public key, the PEM root CAs, or the trusted_root.json
  material   TEXT NOT NULL,
  -- a Sigstore signer's certificate identity and OIDC issuer
  identity   TEXT NOT NULL DEFAULT '',
  issuer     TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  -- set when the team stops trusting the signer (the row stays: reports
  -- stored before name it)
  removed_at TIMESTAMPTZ,
  removed_by TEXT NOT NULL DEFAULT ''
);
-- A name is unique among the signers a team trusts now.
CREATE UNIQUE INDEX trusted_signers_name ON trusted_signers (team_id, name) WHERE removed_at IS NULL;

ALTER TABLE scan_requests DROP CONSTRAINT scan_requests_kind_check;
ALTER TABLE scan_requests ADD CONSTRAINT scan_requests_kind_check CHECK (kind IN ('scan', 'rescan', 'verify', 'bom'));
