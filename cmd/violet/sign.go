package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/violet-mlsecops/violet/internal/cli"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/sign"
	"github.com/violet-mlsecops/violet/source"
	"github.com/violet-mlsecops/violet/store"
)

// hashFlags are the serialization flags shared by hash and sign.
type hashFlags struct {
	hashType      string
	shardSize     int64
	ignorePaths   []string
	allowSymlinks bool
}

// AddFlags adds the serialization flags to f.
func (h *hashFlags) AddFlags(f *pflag.FlagSet) {
	f.Var(cli.NewChoice(&h.hashType, sign.HashSHA256, sign.HashSHA256, sign.HashBLAKE3), "hash", "digest of each file or shard: sha256 or blake3 (blake3 is faster; model_signing 1.1 and later verify it)")
	f.Int64Var(&h.shardSize, "shard-size", 0, "hash files in shards of `BYTES` (method shards), so that a large file is hashed on all cores; 0 hashes whole files (method files)")
	f.StringSliceVar(&h.ignorePaths, "ignore-paths", nil, "leave `PATH` (relative to the model, or absolute inside it) out of the manifest; repeatable")
	f.BoolVar(&h.allowSymlinks, "allow-symlinks", false, "follow symbolic links to files inside the model (never outside it)")
}

// Validate refuses flag values that mean nothing, as usage errors.
func (h *hashFlags) Validate() error {
	if h.hashType != sign.HashSHA256 && h.hashType != sign.HashBLAKE3 {
		return usageError(fmt.Errorf("--hash %q: want sha256 or blake3", h.hashType))
	}
	if h.shardSize < 0 {
		return usageError(fmt.Errorf("--shard-size %d: must be 0 (whole files) or a positive number of bytes", h.shardSize))
	}
	if slices.Contains(h.ignorePaths, "") {
		return usageError(errors.New("--ignore-paths: an empty path"))
	}
	return nil
}

// serialization returns the parameters of the flags for the model whose
// signature is (or will be) at signature: the signature file is left out
// of the model, so that hash, sign and verify see the same files.
func (h *hashFlags) serialization(signature string) sign.Serialization {
	s := sign.DefaultSerialization()
	s.HashType = h.hashType
	s.AllowSymlinks = h.allowSymlinks
	s.IgnorePaths = append(s.IgnorePaths, h.ignorePaths...)
	if h.shardSize > 0 {
		s.Method, s.ShardSize = sign.MethodShards, h.shardSize
	}
	s.IgnorePaths = append(s.IgnorePaths, absolute(signature))
	return s
}

func newHashCommand(g *globalOptions) *cobra.Command {
	h := &hashFlags{}
	out := &cli.OutputOptions{OutputUsage: "write the manifest to `FILE` instead of standard output"}
	var signature string
	cmd := &cobra.Command{
		Use:   "hash DIR|FILE",
		Short: "Print the manifest of a model: one digest per file (or shard), as JSON",
		Long: `Hash every file of a model folder (or a single model file) the way OpenSSF Model
Signing serializes it, and print the manifest as JSON: the serialization
parameters, the root digest that a signature's subject carries, and one digest
per file or shard. Files are hashed in parallel on all cores. The signature file
(model.sig, or --signature) is left out, as sign leaves it out: the root digest is
the one sign would sign.`,
		Example: `  violet hash ./llama-3-8b
  violet hash --shard-size 1000000000 --hash blake3 model.safetensors`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := h.Validate(); err != nil {
				return err
			}
			model := args[0]
			if signature == "" {
				signature = sign.DefaultSignaturePath(model)
			}
			m, err := hashModel(cmd, g, "hashing", model, h.serialization(signature))
			if err != nil {
				return err
			}
			data, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				return err
			}
			return out.Write(cmd.OutOrStdout(), append(data, '\n'))
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "hash")
	h.AddFlags(cmd.Flags())
	out.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&signature, "signature", "", "leave the signature at `PATH` out, as sign does (default: model.sig in the model folder, or beside a model file)")
	return cmd
}

// interruptible runs fn with a context cancelled on an interrupt.
func interruptible(ctx context.Context, fn func(context.Context) error) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	return fn(ctx)
}

// hashModel hashes a model for hash and sign, interruptible, with a
// progress line ("hashing ./model (12s)") on a terminal.
func hashModel(cmd *cobra.Command, g *globalOptions, verb, model string, s sign.Serialization) (*sign.Manifest, error) {
	var m *sign.Manifest
	stop := g.progress(cmd).Busy(verb + " " + model)
	err := interruptible(cmd.Context(), func(ctx context.Context) (err error) {
		m, err = sign.Hash(ctx, model, s, sign.HashOptions{})
		return err
	})
	stop()
	return m, err
}

func newSignCommand(g *globalOptions) *cobra.Command {
	h := &hashFlags{}
	key := &cli.SigningKeyOptions{}
	var signature string
	cmd := &cobra.Command{
		Use:   "sign DIR|FILE --key KEY.pem [--cert LEAF.pem --chain CHAIN.pem]",
		Short: "Sign a model folder or file (OpenSSF Model Signing v1.0)",
		Long: `Sign a model with an ECDSA key (P-256, P-384 or P-521), or with a key and its
certificate from a private PKI. The signature is a Sigstore bundle holding a DSSE
envelope around an in-toto statement (predicate https://model_signing/signature/v1.0),
exactly as the model_signing tool writes it, so that either tool verifies it.
Keyless Sigstore signing needs the public Sigstore services and is not offered.`,
		Example: `  violet sign ./my-model --key signing-key.pem
  violet sign ./my-model --key key.pem --cert leaf.pem --chain intermediate.pem --signature my-model.sig`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			model := args[0]
			if err := h.Validate(); err != nil {
				return err
			}
			if key.Key == "" {
				return usageError(errors.New("sign needs --key (and --cert and --chain for certificate signing)"))
			}
			signer, err := key.Signer()
			if err != nil {
				return usageError(err)
			}
			if signature == "" {
				signature = sign.DefaultSignaturePath(model)
			}
			m, err := hashModel(cmd, g, "signing", model, h.serialization(signature))
			if err != nil {
				return err
			}
			bundle, err := sign.SignManifest(m, signer)
			if err != nil {
				return err
			}
			if err := os.WriteFile(signature, bundle, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Signed %s: %d resources (%s, %s), root digest sha256:%x\nSignature: %s\n",
				model, len(m.Resources), m.Serialization.Method, m.Serialization.HashType, m.RootDigest(), signature)
			return nil
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "sign")
	f := cmd.Flags()
	h.AddFlags(f)
	key.AddFlags(f)
	f.StringVar(&signature, "signature", "", "write the signature to `PATH` (default: model.sig in the model folder, or beside a model file)")
	return cmd
}

// absolute is p made absolute with its links resolved, as the hasher
// compares ignore paths inside the model.
func absolute(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(dir, filepath.Base(abs))
	}
	return abs
}

// verifyOptions are the flags of violet verify (gate uses them too). A
// verifyTime of "" is verifyTimeNow.
type verifyOptions struct {
	signature, key, identity, issuer, trustedRoot, verifyTime string
	ca, tsaRoots, ignorePaths                                 []string
	ignoreUnsigned                                            bool
	// out, verbose and upload are verify's own: gate has its output.
	out     cli.OutputOptions
	verbose bool
	upload  uploadOptions
	// sources reads a remote model (oci://, hf://, s3://).
	sources sourceOptions
}

// The values of --verify-time.
const (
	verifyTimeNow       = "now"
	verifyTimeCertStart = "signing-cert-start"
)

func newVerifyCommand(g *globalOptions) *cobra.Command {
	o := &verifyOptions{out: cli.OutputOptions{Formats: []string{"text", "json"}, FormatUsage: "output format: text or json",
		OutputUsage: "write the report to `FILE` instead of standard output"}}
	cmd := &cobra.Command{
		Use:   "verify DIR|FILE|LOCATION (--key PUB.pem | --ca CA.pem | --identity ID --issuer URL --trusted-root FILE)",
		Short: "Verify a model against its signature, and name every file that changed",
		Long: `Verify an OpenSSF Model Signing signature (written by violet sign or by the
model_signing tool, v0.2 to v1.1): first the signature, with the public key, the
root CA of a private PKI, or a Sigstore identity checked offline against a pinned
trusted root; then the content, hashed again as the signature records it.

On failure it says whether the signature or the content is at fault, and lists
the modified, added and missing files; -v lists every file verified, with its
digest.

A LOCATION is a remote model (docs/sources.md). For oci://, the signature is
the Sigstore bundle attached to the manifest as a referrer (or --signature);
when the model was pushed one file per layer, the layer digests are the
files' SHA-256 and no layer is downloaded (the report lists them). hf:// and
s3:// models are downloaded into a temporary folder; their signature is
--signature, or model.sig in the model. With --upload, the report is
recorded on the server under the version a scan of the location records
(for oci://, from the layer digests: still no layer is downloaded).`,
		Example: `  violet verify ./my-model --key signing-key-pub.pem
  violet verify oci://registry.example.com/models/llm:1.2 --key signing-key-pub.pem
  violet verify ./my-model --ca ca-cert.pem --signature my-model.sig
  violet verify ./my-model --identity alice@example.com --issuer https://accounts.google.com --trusted-root trusted_root.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			stop := g.progress(cmd).Busy("verifying " + args[0])
			defer stop()
			return interruptible(cmd.Context(), func(ctx context.Context) error {
				return runVerify(ctx, cmd, g, o, args[0], stop)
			})
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "verify")
	f := cmd.Flags()
	f.StringVar(&o.signature, "signature", "", "the signature `PATH` (default: model.sig in the model folder, or beside a model file)")
	f.StringVar(&o.key, "key", "", "verify with this ECDSA public key, PEM or DER (`FILE`)")
	f.StringSliceVar(&o.ca, "ca", nil, "verify a certificate signature up to this root CA, PEM (`FILE`); repeatable")
	f.StringSliceVar(&o.tsaRoots, "tsa-root", nil, "with --ca: trust RFC 3161 timestamps of this timestamp authority root, PEM (`FILE`), and check the chain at the bundle's timestamp; repeatable")
	f.Var(cli.NewChoice(&o.verifyTime, verifyTimeNow, verifyTimeNow, verifyTimeCertStart), "verify-time", "with --ca: when the certificate chain must be valid: now (or at a timestamp trusted with --tsa-root), or signing-cert-start (model_signing's rule: when the signing certificate became valid, a time the signer chose; expired certificates then verify)")
	f.StringVar(&o.identity, "identity", "", "verify a keyless Sigstore signature of this identity (email or URI)")
	f.StringVar(&o.issuer, "issuer", "", "the OIDC issuer of --identity")
	f.StringVar(&o.trustedRoot, "trusted-root", "", "the Sigstore trusted_root.json `FILE` that --identity is checked against, offline")
	f.StringSliceVar(&o.ignorePaths, "ignore-paths", nil, "leave `PATH` out of the model besides what the signature ignores; repeatable")
	f.BoolVar(&o.ignoreUnsigned, "ignore-unsigned-files", false, "do not fail on files that the signature does not name")
	o.out.AddFlags(f)
	f.BoolVarP(&o.verbose, "verbose", "v", false, "list every file verified, with its digest, in the text report")
	o.upload.addFlags(f)
	o.sources.addFlags(f)
	return cmd
}

// loadVerifier builds the one verifier the flags ask for.
func loadVerifier(o *verifyOptions) (sign.Verifier, error) {
	n := 0
	for _, set := range []bool{o.key != "", len(o.ca) > 0, o.identity != "" || o.issuer != "" || o.trustedRoot != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("verify needs exactly one of --key, --ca, or --identity with --issuer and --trusted-root")
	}
	switch {
	case o.verifyTime != "" && o.verifyTime != verifyTimeNow && o.verifyTime != verifyTimeCertStart:
		return nil, fmt.Errorf("--verify-time %q: want %s or %s", o.verifyTime, verifyTimeNow, verifyTimeCertStart)
	case len(o.ca) == 0 && (len(o.tsaRoots) > 0 || o.verifyTime == verifyTimeCertStart):
		return nil, errors.New("--tsa-root and --verify-time apply to certificate signatures: use them with --ca")
	case len(o.tsaRoots) > 0 && o.verifyTime == verifyTimeCertStart:
		return nil, errors.New("--verify-time signing-cert-start ignores timestamps: do not combine it with --tsa-root")
	}
	switch {
	case o.key != "":
		data, err := os.ReadFile(o.key)
		if err != nil {
			return nil, err
		}
		pub, err := sign.ParsePublicKey(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.key, err)
		}
		return sign.NewKeyVerifier(pub)
	case len(o.ca) > 0:
		roots, err := cli.ReadAllCertificates(o.ca)
		if err != nil {
			return nil, err
		}
		tsaRoots, err := cli.ReadAllCertificates(o.tsaRoots)
		if err != nil {
			return nil, err
		}
		return sign.NewCertificateVerifierWith(roots, sign.CertificateOptions{TimestampRoots: tsaRoots,
			AtSigningCertStart: o.verifyTime == verifyTimeCertStart})
	}
	if o.identity == "" || o.issuer == "" || o.trustedRoot == "" {
		return nil, errors.New("keyless verification needs --identity, --issuer and --trusted-root (Violet verifies offline: download trusted_root.json once, e.g. with 'cosign trusted-root create' or from the sigstore/root-signing repository)")
	}
	data, err := os.ReadFile(o.trustedRoot)
	if err != nil {
		return nil, err
	}
	return sign.NewSigstoreVerifier(data, o.identity, o.issuer)
}

// verifyReport is the JSON output of violet verify.
type verifyReport = sign.Report

// runVerify verifies model as o asks; stop ends the progress line before
// the report is written. With --upload, the JSON report of a verification
// that ran to the end (verified or not) is uploaded.
func runVerify(ctx context.Context, cmd *cobra.Command, g *globalOptions, o *verifyOptions, model string, stop func()) error {
	if err := o.out.Validate(); err != nil {
		return usageError(err)
	}
	if err := o.upload.validate([]string{model}); err != nil {
		return usageError(err)
	}
	v, err := loadVerifier(o)
	if err != nil {
		return usageError(err)
	}
	if source.IsRemote(model) {
		o.upload.location = model
		rep, err := verifyRemote(ctx, o, v, model)
		if err != nil {
			return err
		}
		stop()
		return writeVerifyReport(ctx, cmd, g, o, model, rep)
	}
	if o.signature == "" {
		o.signature = sign.DefaultSignaturePath(model)
	}
	data, err := os.ReadFile(o.signature)
	if err != nil {
		return exitError{code: report.ExitIncomplete, msg: fmt.Sprintf("cannot read the signature: %v", err)}
	}
	if _, err := os.Stat(model); err != nil {
		return exitError{code: report.ExitIncomplete, msg: err.Error()}
	}
	rep := verifyReport{Model: model, Signature: o.signature, CertStart: o.verifyTime == verifyTimeCertStart}
	b, err := sign.ParseBundle(data)
	var res *sign.Result
	if err == nil {
		res, err = sign.VerifyModel(ctx, model, b, v, sign.VerifyOptions{
			IgnorePaths: o.ignorePaths, IgnoreUnsignedFiles: o.ignoreUnsigned, SignaturePath: o.signature})
	}
	if err := fillVerifyReport(&rep, b, v, res, err); err != nil {
		return err
	}
	stop()
	return writeVerifyReport(ctx, cmd, g, o, model, rep)
}

// writeVerifyReport writes the report, uploads it with --upload, and
// returns the exit code's error.
func writeVerifyReport(ctx context.Context, cmd *cobra.Command, g *globalOptions, o *verifyOptions, model string, rep verifyReport) error {
	jsonReport, err := verifyJSON(rep)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if o.out.Format == "json" {
		buf.Write(jsonReport)
	} else {
		writeVerifyText(&buf, rep, o.verbose)
	}
	if err := o.out.Write(cmd.OutOrStdout(), buf.Bytes()); err != nil {
		return err
	}
	code := report.ExitPass
	if !rep.Verified {
		code = report.ExitFindings
	}
	if o.upload.url != "" {
		if err := o.upload.uploadJSON(ctx, cmd, g, model, store.EvidenceVerify, jsonReport, code); err != nil {
			return err
		}
	}
	if code != report.ExitPass {
		return exitError{code: code}
	}
	return nil
}

// verifyJSON is the report as --format json writes it: file names encoded
// as the manifest encodes them.
func verifyJSON(rep verifyReport) ([]byte, error) { return rep.JSON() }

// writeVerifyText says what was verified, or what is at fault. Paths,
// file names and error messages (which may quote a certificate's subject)
// are escaped as the scan's text report escapes them, so that a hostile
// name cannot move the cursor or forge a line.
func writeVerifyText(w io.Writer, r verifyReport, verbose bool) {
	model, sig := report.SafeText(r.Model), report.SafeText(r.Signature)
	switch {
	case r.SignatureError != "":
		fmt.Fprintf(w, "FAIL: the signature %s is not trusted: %s\nThe model's files were not checked.\n", sig, report.SafeText(r.SignatureError))
	case r.Verified:
		m := r.Manifest
		fmt.Fprintf(w, "PASS: %s matches its signature %s: %d resources (%s, %s), root digest sha256:%x\n",
			model, sig, len(m.Resources), m.Serialization.Method, m.Serialization.HashType, m.RootDigest())
		if r.CertStart {
			fmt.Fprintln(w, "Note: the certificate chain was checked when the signing certificate became valid (--verify-time signing-cert-start), not now.")
		}
		if verbose {
			for _, res := range m.Resources {
				fmt.Fprintf(w, "  %s:%x  %s\n", m.Serialization.HashType, res.Digest, report.SafeText(res.Name))
			}
		}
		writeNotDownloaded(w, r)
	default:
		fmt.Fprintf(w, "FAIL: the signature %s is valid, but the content of %s does not match it:\n", sig, model)
		for _, l := range []struct {
			label string
			files []string
		}{{"modified", r.Modified}, {"added", r.Added}, {"missing", r.Missing}} {
			if len(l.files) > 0 {
				safe := make([]string, len(l.files))
				for i, f := range l.files {
					safe[i] = report.SafeText(f)
				}
				fmt.Fprintf(w, "  %-9s %s\n", l.label+":", strings.Join(safe, ", "))
			}
		}
		if len(r.Added) > 0 {
			fmt.Fprintln(w, "Files that are not signed can be allowed with --ignore-unsigned-files or --ignore-paths.")
		}
		writeNotDownloaded(w, r)
	}
}
