package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
	"github.com/violet-mlsecops/violet/sign"
)

// scanOptions are the flags of violet scan.
type scanOptions struct {
	format  string
	output  string
	failOn  string
	config  string
	allow   []string
	ignore  []string
	timeout time.Duration
	workers int
	// requireModels makes a scan that finds no file Violet reads exit 2.
	requireModels bool
	verbose       bool
	explain       bool
	// attest, key, cert and chain: write a signed scan attestation.
	attest, key, cert string
	chain             []string
}

func newScanCommand() *cobra.Command {
	o := &scanOptions{}
	cmd := &cobra.Command{
		Use:   "scan PATH...",
		Short: "Scan model files and folders for malicious or unsafe content",
		Long: `Scan model files, folders and archives. The format of each file is decided by its content.

PATH "-" reads standard input (cat model.pt | violet scan -); a pipe, a FIFO
or a device named as PATH (/dev/stdin, <(...)) is read the same way, within
--timeout. In folders, files are opened without following links out of the
folder and without blocking; a link out, a file swapped for a FIFO or a link
while the scan runs, or a read that outlasts --timeout makes the file
incomplete (exit 2).

With --attest, also write a signed in-toto attestation of the result (a Sigstore
bundle, as violet sign writes them), bound to the SHA-256 of every file scanned,
that violet gate verifies: see docs/signing.md, "Scan attestations".

Exit codes: 0 passed, 1 a finding at or above --fail-on, 2 could not scan
(bad usage, an unreadable file, or a file that could not be fully analyzed)
or could not write the attestation.`,
		Example: `  violet scan model.pt
  curl -sL https://example.com/model.pt | violet scan -
  violet scan --format sarif --output violet.sarif ./models
  violet scan --allow mylib.models.MyNet checkpoint.pt
  violet scan --explain checkpoint.pt    # every pickle global, how it is used, which entry decided
  violet scan ./my-model --attest my-model.scan.sigstore.json --key signing-key.pem`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScan(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "output format: text, json or sarif")
	f.StringVarP(&o.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	f.StringVar(&o.failOn, "fail-on", "", "fail (exit 1) on findings at or above `SEVERITY`: info, low, medium, high, critical (default high)")
	f.StringVar(&o.config, "config", "", "read the configuration from `FILE` (default: .violet.yaml of the project you run in: this folder, up to the top of its git work tree; never one inside a scanned target)")
	f.StringSliceVar(&o.allow, "allow", nil, "allow the pickle global `module.name` (or module.*, module.**); repeatable")
	f.StringSliceVar(&o.ignore, "ignore", nil, "do not scan paths matching `GLOB`; repeatable")
	f.DurationVar(&o.timeout, "timeout", 0, "time budget of each file (default 2m)")
	f.IntVar(&o.workers, "workers", 0, "files scanned in parallel (default: all cores)")
	f.BoolVar(&o.requireModels, "require-models", false, "exit 2 when the targets hold no file Violet reads as a model (a wrong path, a checkout without LFS content): for CI")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "list clean files too in the text report")
	f.BoolVar(&o.explain, "explain", false, "report every pickle global: how it is used and which allowlist, library or denylist entry decided (PICKLE-GLOBAL, info)")
	f.StringVar(&o.attest, "attest", "", "write a signed attestation of the scan to `FILE` (needs --key; one target only)")
	f.StringVar(&o.key, "key", "", "with --attest: the ECDSA private key, PEM (`FILE`)")
	f.StringVar(&o.cert, "cert", "", "with --attest: the signing certificate of the key, PEM (`FILE`)")
	f.StringSliceVar(&o.chain, "chain", nil, "with --attest: the certificates from the signing certificate up to the root, PEM (`FILE`); repeatable")
	return cmd
}

func runScan(ctx context.Context, stdout, stderr io.Writer, o *scanOptions, targets []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()

	write, err := writerFor(o.format)
	if err != nil {
		return usageError(err)
	}
	if o.workers < 0 {
		return usageError(fmt.Errorf("--workers %d: must be 0 (all cores) or more", o.workers))
	}
	if o.timeout < 0 {
		return usageError(fmt.Errorf("--timeout %s: must be positive", o.timeout))
	}
	signer, err := attestSigner(o, targets)
	if err != nil {
		return usageError(err)
	}
	cfg := scan.DefaultConfig()
	path := o.config
	if path == "" {
		if path, err = scan.ProjectConfig("."); err != nil {
			return usageError(err)
		}
	}
	configPath := ""
	if path != "" {
		if cfg, err = scan.LoadConfig(path); err != nil {
			return usageError(err)
		}
		if configPath, err = filepath.Abs(path); err != nil {
			return usageError(err)
		}
	}
	failOn := finding.High
	for _, s := range []string{cfg.FailOn, o.failOn} {
		if s != "" {
			if failOn, err = finding.ParseSeverity(s); err != nil {
				return usageError(fmt.Errorf("--fail-on: %w", err))
			}
		}
	}
	policy, err := pickle.DefaultPolicy().WithAllowed(append(cfg.Allow, o.allow...)...)
	if err != nil {
		return usageError(err)
	}
	if o.explain {
		policy = policy.WithExplain()
	}
	if o.timeout > 0 {
		cfg.Limits.Timeout = o.timeout
	}
	opts := scan.Options{
		Analyzers: scan.Analyzers(policy),
		Limits:    cfg.Limits,
		Workers:   o.workers,
		Ignore:    append(cfg.Ignore, o.ignore...),
		Severity:  cfg.SeverityOverrides(),
		FailOn:    failOn,
		Version:   programVersion(),

		ConfigPath: configPath,
		// An attestation names each file by the digest of the bytes the
		// scan analyzed.
		Digest: signer != nil,
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		opts.Progress = func(done, total int) {
			fmt.Fprintf(stderr, "\rscanned %d/%d files", done, total)
			if done == total {
				fmt.Fprint(stderr, "\r\033[K")
			}
		}
	}
	r, err := scan.Scan(ctx, targets, opts)
	if err != nil {
		return usageError(err)
	}
	r.RequireModels = o.requireModels
	var attestErr error
	if signer != nil {
		attestErr = checkDigests(r)
	}
	out := stdout
	if o.output != "" {
		f, err := os.Create(o.output)
		if err != nil {
			return usageError(err)
		}
		defer f.Close()
		out = f
	}
	color := false
	if f, ok := out.(*os.File); ok && o.format == "text" && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == "" {
		color = true
	}
	if err := write(out, r, report.TextOptions{Color: color, Verbose: o.verbose}); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	code := r.ExitCode(failOn)
	if signer != nil {
		if attestErr == nil {
			attestErr = writeAttestation(o.attest, r, code, signer)
		}
		if attestErr != nil {
			return exitError{code: report.ExitIncomplete, msg: "attestation not written: " + attestErr.Error()}
		}
		fmt.Fprintf(stderr, "Attestation: %s\n", o.attest)
	}
	if code != report.ExitPass {
		return exitError{code: code}
	}
	return nil
}

// attestSigner checks the attestation flags and loads the signer; it is nil
// without --attest.
func attestSigner(o *scanOptions, targets []string) (sign.Signer, error) {
	if o.attest == "" {
		if o.key != "" || o.cert != "" || len(o.chain) > 0 {
			return nil, errors.New("--key, --cert and --chain sign an attestation: they need --attest")
		}
		return nil, nil
	}
	if o.key == "" {
		return nil, errors.New("--attest needs --key (and --cert and --chain for certificate signing)")
	}
	if len(targets) != 1 {
		return nil, fmt.Errorf("--attest attests the scan of one model: %d targets given", len(targets))
	}
	if targets[0] == scan.Stdin {
		return nil, errors.New("--attest attests the scan of files: standard input has none the gate could check")
	}
	return loadSigner(o.key, o.cert, o.chain)
}

// checkDigests checks that the scan bound every file of r to the SHA-256
// of the bytes it analyzed (scan.Options.Digest; the report shows them).
// A file it did not read (a symbolic link out of the folder, a placeholder
// whose content was never fetched, a Violet configuration inside the
// target), or that changed while it was scanned, has none: the
// attestation would name bytes no scan judged, so it is an error naming
// each such file.
func checkDigests(r *report.Report) error {
	var unbound []string
	for _, f := range r.Files {
		if f.SHA256 == "" {
			unbound = append(unbound, f.Path+" ("+whyNotRead(f)+")")
		}
	}
	if len(unbound) > 0 {
		return fmt.Errorf("the scan did not read all the files it would attest: %s", strings.Join(unbound, "; "))
	}
	return nil
}

// whyNotRead says why the scan has no digest of f.
func whyNotRead(f report.File) string {
	reasons := map[string]string{
		finding.SymlinkOutside:    "a symbolic link out of the folder: replace it with the file",
		finding.ContentNotFetched: "a placeholder: fetch the content",
		finding.ScanConfigIgnored: "a Violet configuration, which the scan does not read: move it out of the model",
	}
	for _, x := range f.Findings {
		if why, ok := reasons[x.Rule]; ok {
			return why
		}
		if x.Rule == finding.ScanError {
			return x.Message
		}
	}
	return "not read"
}

// writeAttestation signs the scan predicate of r about its files (bound to
// their digests by the scan: checkDigests) and writes the bundle to path. The bundle itself, when it is
// written inside the scanned folder over an earlier one, is no subject.
func writeAttestation(path string, r *report.Report, exitCode int, s sign.Signer) error {
	pred, err := report.ScanPredicate(r, exitCode)
	if err != nil {
		return err
	}
	self := absolute(path)
	var subjects []sign.Subject
	for _, f := range r.Files {
		if absolute(f.Path) == self {
			continue
		}
		name, err := report.AttestedName(r.Targets[0], f.Path)
		if err != nil {
			return err
		}
		subjects = append(subjects, sign.Subject{Name: name, SHA256: f.SHA256})
	}
	bundle, err := sign.Attest(subjects, sign.ScanPredicateType, pred, s)
	if err != nil {
		return err
	}
	return os.WriteFile(path, bundle, 0o644)
}

// writerFor returns the report writer of a format.
func writerFor(format string) (func(io.Writer, *report.Report, report.TextOptions) error, error) {
	switch format {
	case "text":
		return report.WriteText, nil
	case "json":
		return func(w io.Writer, r *report.Report, _ report.TextOptions) error { return report.WriteJSON(w, r) }, nil
	case "sarif":
		return func(w io.Writer, r *report.Report, _ report.TextOptions) error { return report.WriteSARIF(w, r) }, nil
	}
	return nil, fmt.Errorf("--format %q: want text, json or sarif", format)
}

// usageError makes the command report err and exit 2.
func usageError(err error) error {
	return exitError{code: report.ExitIncomplete, msg: err.Error()}
}
