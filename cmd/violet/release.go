package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/violet-mlsecops/violet/internal/cli"
	"github.com/violet-mlsecops/violet/release"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/server"
	"github.com/violet-mlsecops/violet/sign"
)

func newReleaseCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "release",
		Short: "Sign off a model version's release for your role, or verify a release record offline",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newReleaseDecideCommand(g, release.Approve), newReleaseDecideCommand(g, release.Reject), newReleaseVerifyCommand())
	return cmd
}

// releaseDecideOptions are the flags of release approve and reject.
type releaseDecideOptions struct {
	server, model, role, reason string
	key                         cli.SigningKeyOptions
}

func newReleaseDecideCommand(g *globalOptions, decision string) *cobra.Command {
	o := &releaseDecideOptions{key: cli.SigningKeyOptions{Purpose: "sign the decision with "}}
	cmd := &cobra.Command{
		Use:   decision + " RELEASE --server URL --model DIR|FILE --role ROLE --reason TEXT [--key KEY.pem]",
		Short: strings.ToUpper(decision[:1]) + decision[1:] + " a release request for your role, about the version you reviewed",
		Long: `Record your decision on release request RELEASE of the Violet server, for the role
of your API token (` + TokenEnv + `), which --role must name. --model is the model you
reviewed: its manifest digest must be the release's, so nobody approves a
version they did not look at. With --key, the decision is signed (a DSSE
attestation about the version): violet gate --signoff-key and violet release
verify --key check it.`,
		Example: `  VIOLET_TOKEN=... violet release ` + decision + ` 12 --server https://violet.example.com --model ./fraud-detector \
    --role security --reason "scanned clean, signature verified" --key my-signoff-key.pem`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReleaseDecide(cmd.Context(), cmd, g, o, decision, args[0])
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "release "+decision)
	f := cmd.Flags()
	f.StringVar(&o.server, "server", "", "the Violet server's `URL`")
	f.StringVar(&o.model, "model", "", "the model you reviewed (`DIR|FILE`): its digest must be the release's")
	f.StringVar(&o.role, "role", "", "the `ROLE` you decide for: your token's")
	f.StringVar(&o.reason, "reason", "", "why (`TEXT`): kept with the decision and in the audit log")
	o.key.AddFlags(f)
	return cmd
}

func runReleaseDecide(ctx context.Context, cmd *cobra.Command, g *globalOptions, o *releaseDecideOptions, decision, arg string) error {
	var id int64
	if _, err := fmt.Sscanf(arg, "%d", &id); err != nil || id <= 0 || fmt.Sprint(id) != arg {
		return usageError(fmt.Errorf("release %q: want the release request's number", arg))
	}
	u := uploadOptions{url: o.server}
	switch {
	case o.server == "" || o.model == "" || o.role == "" || strings.TrimSpace(o.reason) == "":
		return usageError(errors.New("--server, --model, --role and --reason are needed"))
	case o.key.Given():
		if err := o.key.Validate(); err != nil {
			return usageError(err)
		}
	}
	if err := u.validate([]string{o.model}); err != nil {
		return usageError(err)
	}
	digest, _, err := hashVersion(ctx, o.model)
	if err != nil {
		return usageError(err)
	}
	c := &server.Client{BaseURL: o.server, Token: os.Getenv(TokenEnv)}
	rec, err := c.ReleaseRecord(ctx, id)
	if err != nil {
		return usageError(err)
	}
	if rec.Digest != digest {
		return usageError(fmt.Errorf("release %d is of version %s; %s is %s: review the release's version", id, rec.Digest, o.model, digest))
	}
	d := release.Decision{Release: id, Model: rec.Model, Digest: digest, Role: o.role, Decision: decision, Reason: o.reason}
	var sig []byte
	if o.key.Given() {
		signer, err := o.key.Signer()
		if err != nil {
			return usageError(err)
		}
		if sig, err = release.Sign(d, signer); err != nil {
			return usageError(err)
		}
	}
	stored, err := c.DecideRelease(ctx, id, decision, o.reason, digest, sig)
	if err != nil {
		return usageError(err)
	}
	if stored.Role != o.role {
		return usageError(fmt.Errorf("the server recorded the decision for %s, not --role %s", stored.Role, o.role))
	}
	signed := "unsigned"
	if len(sig) > 0 {
		signed = "signed"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Recorded: %s %s release %d (%s, %s) as %s, %s\n", stored.By, decision, id, rec.Model, digest, stored.Role, signed)
	return nil
}

// releaseVerifyOptions are the flags of release verify.
type releaseVerifyOptions struct {
	model         string
	keys          []string
	requireSigned bool
}

func newReleaseVerifyCommand() *cobra.Command {
	o := &releaseVerifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify RECORD.json --model DIR|FILE [--key PUB.pem ...] [--require-signed]",
		Short: "Check a release record offline: every required role approved this very version",
		Long: `Check a release record (GET /api/v1/releases/ID/record of the Violet server)
without the server: the model at --model must be the release's version (its
manifest digest), every role the release requires must have approved it, each
by another person, and no role's latest decision may reject it. A signed
decision counts only when its signature verifies with one of the --key public
keys and signs exactly that decision; with --require-signed, an unsigned one
does not count.`,
		Example: `  violet release verify release-12.json --model ./fraud-detector --key sec-lead.pub.pem --key legal.pub.pem --require-signed`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReleaseVerify(cmd.Context(), cmd.OutOrStdout(), o, args[0])
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "release verify")
	f := cmd.Flags()
	f.StringVar(&o.model, "model", "", "the model to release (`DIR|FILE`)")
	f.StringSliceVar(&o.keys, "key", nil, "an approver's public key (`FILE`); repeatable")
	f.BoolVar(&o.requireSigned, "require-signed", false, "count only signed decisions")
	return cmd
}

// maxRecord bounds a release record read.
const maxRecord = 64 << 20

func runReleaseVerify(ctx context.Context, stdout io.Writer, o *releaseVerifyOptions, path string) error {
	if o.model == "" {
		return usageError(errors.New("--model is needed: the record is checked against the model you hold"))
	}
	data, err := readBoundedFile(path, maxRecord)
	if err != nil {
		return usageError(err)
	}
	var rec release.Record
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil || rec.Digest == "" || len(rec.Required) == 0 {
		return usageError(fmt.Errorf("%s: not a release record (GET /api/v1/releases/ID/record): %v", path, err))
	}
	var verifiers []sign.Verifier
	for _, k := range o.keys {
		v, err := loadVerifier(&verifyOptions{key: k})
		if err != nil {
			return usageError(err)
		}
		verifiers = append(verifiers, v)
	}
	digest, _, err := hashVersion(ctx, o.model)
	if err != nil {
		return usageError(err)
	}
	st := release.Verify(rec, digest, nil, verifiers, o.requireSigned)
	verdict := "APPROVED"
	if !st.Approved {
		verdict = "NOT APPROVED"
	}
	fmt.Fprintf(stdout, "%s: release %d of %s (%s), tier %s, requires %s\n", verdict, rec.ID, rec.Model, digest, rec.Tier, strings.Join(rec.Required, ", "))
	for _, m := range st.Missing {
		fmt.Fprintf(stdout, "  missing: the approval of %s\n", m)
	}
	for _, r := range st.Rejected {
		fmt.Fprintf(stdout, "  rejected by %s\n", r)
	}
	for _, p := range st.Problems {
		fmt.Fprintf(stdout, "  %s\n", p)
	}
	if !st.Approved {
		return exitError{code: report.ExitFindings}
	}
	return nil
}

// readBoundedFile reads a file of at most max bytes.
func readBoundedFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return data, nil
}
