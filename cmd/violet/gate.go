package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/gate"
	"github.com/violet-mlsecops/violet/internal/cli"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
	"github.com/violet-mlsecops/violet/server"
	"github.com/violet-mlsecops/violet/sign"
	"github.com/violet-mlsecops/violet/store"
)

// gateOptions are the flags of violet gate: its own, and those of the
// commands it runs.
type gateOptions struct {
	out                           cli.OutputOptions
	policies, data, evidence      []string
	requireSignature              bool
	verify                        verifyOptions
	osv                           cli.OSVOptions
	attestations                  []string
	attestationKey, attestationCA string
	printInput                    bool
	upload                        uploadOptions
	// server is the Violet server that holds the release's sign-offs;
	// signoffKeys verify the approvers' signatures.
	server      string
	signoffKeys []string
}

func newGateCommand(g *globalOptions) *cobra.Command {
	o := &gateOptions{out: cli.OutputOptions{Formats: []string{"text", "json", "sarif"}, FormatUsage: "output format: text, json or sarif",
		OutputUsage: "write the decision to `FILE` instead of standard output"}}
	cmd := &cobra.Command{
		Use:   "gate PATH",
		Short: "Decide whether a model may be released, under a policy, from all the evidence",
		Long: `Gather the evidence about a model folder (the scan, the signature check, the
ML-BOM's completeness, the dependency check, scan attestations) into one input
document, and evaluate a Rego policy over it: the built-in default policy, or
yours with --policy, tuned with --data. Prints the decision and every reason.

The gate checks the model as it is: it scans it, verifies its signature and
checks its dependencies itself. Only a verified scan attestation (--attestation,
signed, naming every file of the model by its SHA-256) replaces its scan. A scan
report given with --evidence is not signed: it is checked against the model's
files and the attestation (EVIDENCE-MISMATCH), never used as the verdict; a deps
report's findings are added to the gate's own. See docs/policy.md.

The gate reads no .violet.yaml: its own scan uses the scanner's defaults. To
carry a scan made with your configuration into the gate, attest it.`,
		Example: `  violet gate ./my-model --key publisher.pub.pem --require-signature --osv-db PyPI-all.zip
  violet gate ./my-model --attestation scan.att.json --attestation-key ci.pub.pem --osv-db PyPI-all.zip
  violet gate ./my-model --policy policies/ --data team.yaml --format sarif -o gate.sarif
  VIOLET_TOKEN=... violet gate ./my-model --server https://violet.example.com --signoff-key security-lead.pub.pem`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return interruptible(cmd.Context(), func(ctx context.Context) error {
				return runGate(ctx, cmd, g, o, args[0])
			})
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "gate")
	f := cmd.Flags()
	o.out.AddFlags(f)
	f.StringSliceVar(&o.policies, "policy", nil, "evaluate the Rego policy in `PATH` (a file or folder; repeatable) instead of the built-in one")
	f.StringSliceVar(&o.data, "data", nil, "override the policy's data (thresholds, allowlists) with this JSON or YAML `FILE`; repeatable")
	f.StringSliceVar(&o.evidence, "evidence", nil, "check this JSON report of an earlier step (scan or deps --format json) against the model: a scan report must match it, a deps report's findings are added; repeatable")
	f.BoolVar(&o.requireSignature, "require-signature", false, "deny a model without a verified signature (needs --key, --ca or --identity)")
	f.BoolVar(&o.printInput, "print-input", false, "print the input document the policy sees, and exit")
	// The flags of verify.
	f.StringVar(&o.verify.signature, "signature", "", "the model's signature `PATH` (default: model.sig in the model folder)")
	f.StringVar(&o.verify.key, "key", "", "verify the signature with this public key (`FILE`)")
	f.StringSliceVar(&o.verify.ca, "ca", nil, "verify a certificate signature up to this root CA (`FILE`); repeatable")
	f.StringVar(&o.verify.identity, "identity", "", "verify a keyless Sigstore signature of this identity")
	f.StringVar(&o.verify.issuer, "issuer", "", "the OIDC issuer of --identity")
	f.StringVar(&o.verify.trustedRoot, "trusted-root", "", "the Sigstore trusted_root.json `FILE` for --identity")
	f.StringSliceVar(&o.verify.ignorePaths, "ignore-paths", nil, "leave `PATH` out of the signature check; repeatable")
	f.BoolVar(&o.verify.ignoreUnsigned, "ignore-unsigned-files", false, "do not fail the signature check on files it does not name")
	// The flags of deps.
	o.osv.AddFlags(f)
	// Attestations.
	f.StringSliceVar(&o.attestations, "attestation", nil, "check this scan attestation (violet scan --attest) against the model's files; repeatable")
	f.StringVar(&o.attestationKey, "attestation-key", "", "the public key that signed the attestations (`FILE`)")
	f.StringVar(&o.attestationCA, "attestation-ca", "", "the root CA of the attestations' signing certificates (`FILE`)")
	o.upload.addFlags(f)
	f.StringVar(&o.server, "server", "", "add the sign-offs of this version's release on the Violet server at `URL` to the policy input (token from "+TokenEnv+"); the default policy denies a release without every required approval for this very version")
	f.StringSliceVar(&o.signoffKeys, "signoff-key", nil, "verify the approvers' signatures of the sign-offs with this public key (`FILE`); repeatable")
	return cmd
}

// releaseSource is the gate's source of sign-offs: the server of --server.
func (o *gateOptions) releaseSource() (*gate.ReleaseSource, error) {
	if o.server == "" {
		if len(o.signoffKeys) > 0 {
			return nil, errors.New("--signoff-key needs --server")
		}
		return nil, nil
	}
	u := uploadOptions{url: o.server}
	if err := u.validate([]string{"."}); err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	c := &server.Client{BaseURL: o.server, Token: os.Getenv(TokenEnv)}
	src := &gate.ReleaseSource{Records: c.ReleaseRecords}
	for _, k := range o.signoffKeys {
		v, err := loadVerifier(&verifyOptions{key: k})
		if err != nil {
			return nil, fmt.Errorf("--signoff-key: %w", err)
		}
		src.Verifiers = append(src.Verifiers, v)
	}
	return src, nil
}

// verifierMethod names the kind of verifier the verify flags choose.
func verifierMethod(o *verifyOptions) string {
	switch {
	case o.key != "":
		return "key"
	case len(o.ca) > 0:
		return "certificate"
	case o.identity != "":
		return "sigstore"
	}
	return ""
}

func runGate(ctx context.Context, cmd *cobra.Command, gl *globalOptions, o *gateOptions, path string) error {
	if err := o.out.Validate(); err != nil {
		return usageError(err)
	}
	if err := o.osv.Validate(); err != nil {
		return usageError(err)
	}
	if err := o.upload.validate([]string{path}); err != nil {
		return usageError(err)
	}
	if o.upload.url != "" && o.printInput {
		return usageError(errors.New("--upload uploads the decision: not with --print-input"))
	}
	if _, err := os.Stat(path); err != nil {
		return err
	}
	policy, err := gate.LoadPolicy(ctx, o.policies, o.data)
	if err != nil {
		return err
	}
	g := gate.GatherOptions{
		Scan: scan.Options{Analyzers: scan.Analyzers(pickle.DefaultPolicy()), Limits: analyzer.DefaultLimits(), FailOn: finding.High,
			Progress: gl.progress(cmd).Counter("scanned"), Logger: gl.logger},
		Signature:        o.verify.signature,
		Method:           verifierMethod(&o.verify),
		Verify:           sign.VerifyOptions{IgnorePaths: o.verify.ignorePaths, IgnoreUnsignedFiles: o.verify.ignoreUnsigned},
		Evidence:         o.evidence,
		Attestations:     o.attestations,
		RequireSignature: o.requireSignature,
	}
	if g.Release, err = o.releaseSource(); err != nil {
		return usageError(err)
	}
	if g.Method != "" {
		if g.Verifier, err = loadVerifier(&o.verify); err != nil {
			return usageError(err)
		}
	} else if o.requireSignature {
		return usageError(errors.New("--require-signature: the gate verifies the signature itself: give it --key, --ca or --identity"))
	}
	if g.Deps, err = o.osv.Querier(); err != nil {
		return err
	}
	if g.Deps != nil {
		g.DepsData = o.osv.Source()
	}
	if o.attestationKey != "" || o.attestationCA != "" {
		av := verifyOptions{key: o.attestationKey}
		if o.attestationCA != "" {
			av.ca = []string{o.attestationCA}
		}
		if g.AttestationVerifier, err = loadVerifier(&av); err != nil {
			return usageError(err)
		}
	}
	in, err := gate.Gather(ctx, path, g)
	if err != nil {
		return err
	}
	if o.printInput {
		data, _ := json.MarshalIndent(in, "", "  ")
		return o.out.Write(cmd.OutOrStdout(), append(data, '\n'))
	}
	started := time.Now()
	d, err := policy.Evaluate(ctx, in)
	if err != nil {
		return err
	}
	decision, err := gateJSON(d, in)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	switch o.out.Format {
	case "json":
		out.Write(decision)
	case "sarif":
		if err := report.WriteSARIF(&out, gateReport(path, d, started)); err != nil {
			return err
		}
	default:
		writeGateText(&out, path, d)
	}
	if err := o.out.Write(cmd.OutOrStdout(), out.Bytes()); err != nil {
		return err
	}
	code := report.ExitPass
	if !d.Allow {
		code = report.ExitFindings
	}
	if o.upload.url != "" {
		if err := o.upload.uploadJSON(ctx, cmd, gl, path, store.EvidenceGate, decision, code); err != nil {
			return err
		}
	}
	if code != report.ExitPass {
		return exitError{code: code}
	}
	return nil
}

// gateJSON is the decision as --format json writes it (and --upload
// uploads it): allow, the reasons and the input the policy saw.
func gateJSON(d *gate.Decision, in *gate.Input) ([]byte, error) {
	data, err := json.MarshalIndent(struct {
		Allow   bool          `json:"allow"`
		Reasons []gate.Reason `json:"reasons"`
		Input   *gate.Input   `json:"input"`
	}{d.Allow, nonNilReasons(d.Reasons), in}, "", "  ")
	return append(data, '\n'), err
}

func nonNilReasons(r []gate.Reason) []gate.Reason {
	if r == nil {
		return []gate.Reason{}
	}
	return r
}

// writeGateText prints the decision and its reasons, escaped for the
// terminal as the scan's text report is (reasons name the model's files).
func writeGateText(w io.Writer, path string, d *gate.Decision) {
	if d.Allow {
		fmt.Fprintf(w, "ALLOW: %s passes the release policy\n", report.SafeText(path))
		return
	}
	fmt.Fprintf(w, "DENY: %s fails the release policy (%d reasons)\n", report.SafeText(path), len(d.Reasons))
	for _, r := range d.Reasons {
		fmt.Fprintf(w, "  %-20s %s\n", report.SafeText(r.ID), report.SafeText(r.Message))
	}
}

// gateReport is the decision as a report, one GATE-DENY finding per
// reason, for the SARIF writer.
func gateReport(path string, d *gate.Decision, started time.Time) *report.Report {
	f := report.File{Path: path}
	for _, r := range d.Reasons {
		f.Findings = append(f.Findings, finding.New(finding.GateDeny, finding.Location{Path: path, Offset: -1}, r.Message, r.ID))
	}
	return &report.Report{SchemaVersion: report.SchemaVersion, Tool: report.Tool{Name: "violet gate", Version: programVersion()},
		StartedAt: started, Targets: []string{path}, FailOn: finding.High, Files: []report.File{f},
		Summary: report.Summary{Files: 1, Scanned: 1, Formats: map[string]int{}, Findings: map[string]int{"high": len(f.Findings)}}}
}
