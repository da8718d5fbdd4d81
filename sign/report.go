package sign

import (
	"encoding/json"
	"errors"
)

// Report is a verification's report: the JSON that violet verify --format
// json writes, that a verify job stores as evidence, and that the server
// reads the signer from.
type Report struct {
	Model     string `json:"model"`
	Signature string `json:"signature"`
	Verified  bool   `json:"verified"`
	// SignatureError says why the signature is not trusted; the files
	// were then not checked.
	SignatureError string `json:"signature_error,omitempty"`
	// Signer names who signed, once the signature is trusted: the key's
	// hint, or the certificate's subject (SignerName).
	Signer string `json:"signer,omitempty"`
	// TrustedSigner is the name of the team's trusted signer that verified
	// the signature (verify jobs; "" for violet verify).
	TrustedSigner string `json:"trusted_signer,omitempty"`
	// Modified, Added and Missing name files as the manifest does
	// (EncodeName in JSON: a byte that is not UTF-8 is NUL and two hex
	// digits).
	Modified []string  `json:"modified,omitempty"`
	Added    []string  `json:"added,omitempty"`
	Missing  []string  `json:"missing,omitempty"`
	Manifest *Manifest `json:"manifest,omitempty"`
	// CertStart is true when a certificate chain was checked at the
	// signing certificate's start (verify-time signing-cert-start).
	CertStart bool `json:"checked_at_signing_cert_start,omitempty"`
	// NotDownloaded are the files of an OCI model checked by their layer
	// digest, without downloading them.
	NotDownloaded []string `json:"not_downloaded,omitempty"`
}

// Fill records in r the outcome of VerifyModel(b, v) (res, err): a
// signature that is not trusted is SignatureError, a content mismatch the
// lists of files. Any other error (the model could not be read) is
// returned: the verification did not run to the end.
func (r *Report) Fill(b *Bundle, v Verifier, res *Result, err error) error {
	switch {
	case errors.Is(err, ErrSignature) || errors.Is(err, ErrPayload):
		r.SignatureError = err.Error()
	case err != nil:
		return err
	default:
		r.Verified = res.OK()
		r.Signer = SignerName(b, v)
		r.Modified, r.Added, r.Missing = res.Diff.Modified, res.Diff.Added, res.Diff.Missing
		r.Manifest = res.Signed
	}
	return nil
}

// JSON is the report as violet verify --format json writes it, indented,
// file names encoded as the manifest encodes them.
func (r Report) JSON() ([]byte, error) {
	for _, l := range []*[]string{&r.Modified, &r.Added, &r.Missing} {
		enc := make([]string, len(*l))
		for i, p := range *l {
			enc[i] = EncodeName(p)
		}
		*l = enc
	}
	out, err := json.MarshalIndent(r, "", "  ")
	return append(out, '\n'), err
}
