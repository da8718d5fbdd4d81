package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/cli"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
	"github.com/violet-mlsecops/violet/sign"
	"github.com/violet-mlsecops/violet/store"
)

// scanOptions are the flags of violet scan.
type scanOptions struct {
	out     cli.OutputOptions
	failOn  cli.FailOnOptions
	config  cli.ConfigOptions
	allow   []string
	ignore  []string
	timeout time.Duration
	workers int
	// cache is the folder of the content cache (--cache), or "".
	cache string
	// requireModels makes a scan that finds no file Violet reads exit 2.
	requireModels bool
	verbose       bool
	explain       bool
	// analyzers and skipAnalyzers select the analyzers by name.
	analyzers, skipAnalyzers []string
	// attest and key: write a signed scan attestation.
	attest string
	key    cli.SigningKeyOptions
	// upload sends the JSON report to a Violet server.
	upload uploadOptions
	// sources reads remote targets (hf://, s3://, oci://).
	sources sourceOptions
}

func newScanCommand(g *globalOptions) *cobra.Command {
	o := &scanOptions{
		out: cli.OutputOptions{Formats: []string{"text", "json", "sarif"}, FormatUsage: "output format: text, json or sarif",
			OutputUsage: "write the report to `FILE` instead of standard output"},
		config: cli.ConfigOptions{Usage: "read the configuration from `FILE` (default: .violet.yaml of the project you run in: this folder, up to the top of its git work tree; never one inside a scanned target)"},
		key:    cli.SigningKeyOptions{Purpose: "with --attest: "},
	}
	cmd := &cobra.Command{
		Use:   "scan PATH|LOCATION...",
		Short: "Scan model files and folders for malicious or unsafe content",
		Long: `Scan model files, folders and archives. The format of each file is decided by its content.

PATH "-" reads standard input (cat model.pt | violet scan -); a pipe, a FIFO
or a device named as PATH (/dev/stdin, <(...)) is read the same way, within
--timeout. In folders, files are opened without following links out of the
folder and without blocking; a link out, a file swapped for a FIFO or a link
while the scan runs, or a read that outlasts --timeout makes the file
incomplete (exit 2).

A LOCATION is a remote model: hf://org/model[@revision] (the Hugging Face
API, or a mirror with --hf-endpoint), s3://bucket/prefix, or
oci://host/repo:tag (or @sha256:...). It is copied into a private temporary
folder, scanned there and reported under its location, pinned to the
commit or digest it resolved to; the folder is removed. A location that
cannot be read is exit 2. See docs/sources.md.

With --attest, also write a signed in-toto attestation of the result (a Sigstore
bundle, as violet sign writes them), bound to the SHA-256 of every file scanned,
that violet gate verifies: see docs/signing.md, "Scan attestations".

--analyzers and --skip-analyzers choose the analyzers by name: a file that
only a left-out analyzer reads is then not checked (the report lists the
analyzers that ran). -v lists the clean and skipped files too; --log-level
debug explains which analyzer claimed each input and why files were skipped.
The analyzers: ` + strings.Join(scan.Names(scan.Analyzers(pickle.DefaultPolicy())), ", ") + `.`,
		Example: `  violet scan model.pt
  curl -sL https://example.com/model.pt | violet scan -
  violet scan --format sarif --output violet.sarif ./models
  violet scan --allow mylib.models.MyNet checkpoint.pt
  violet scan --explain checkpoint.pt    # every pickle global, how it is used, which entry decided
  violet scan ./my-model --attest my-model.scan.sigstore.json --key signing-key.pem
  violet scan --skip-analyzers gguf,onnx ./models
  violet scan hf://openai-community/gpt2
  violet scan s3://models/fraud-detector/v3/ oci://registry.example.com/models/llm:1.2`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScan(cmd.Context(), cmd, g, o, args)
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "scan")
	f := cmd.Flags()
	o.out.AddFlags(f)
	o.failOn.AddFlags(f)
	o.config.AddFlags(f)
	f.StringSliceVar(&o.allow, "allow", nil, "allow the pickle global `module.name` (or module.*, module.**); repeatable")
	f.StringSliceVar(&o.ignore, "ignore", nil, "do not scan paths matching `GLOB`; repeatable")
	f.DurationVar(&o.timeout, "timeout", 0, "time budget of each file (default 2m)")
	f.IntVar(&o.workers, "workers", 0, "files scanned in parallel (default: all cores)")
	f.StringVar(&o.cache, "cache", "", "keep the results of fully analyzed files by content in the private folder `DIR` (1 GiB at most): a file of the same bytes and name is not analyzed again while the analyzers, their versions and the configuration are the same")
	f.BoolVar(&o.requireModels, "require-models", false, "exit 2 when the targets hold no file Violet reads as a model (a wrong path, a checkout without LFS content): for CI")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "list clean files too in the text report")
	f.BoolVar(&o.explain, "explain", false, "report every pickle global: how it is used and which allowlist, library or denylist entry decided (PICKLE-GLOBAL, info)")
	f.StringVar(&o.attest, "attest", "", "write a signed attestation of the scan to `FILE` (needs --key; one target only)")
	o.key.AddFlags(f)
	o.upload.addFlags(f)
	o.sources.addFlags(f)
	f.StringSliceVar(&o.analyzers, "analyzers", nil, "run only the analyzers named `NAME,...`")
	f.StringSliceVar(&o.skipAnalyzers, "skip-analyzers", nil, "do not run the analyzers named `NAME,...`")
	for _, name := range []string{"analyzers", "skip-analyzers"} {
		cmd.RegisterFlagCompletionFunc(name, completeAnalyzers)
	}
	return cmd
}

// completeAnalyzers completes a comma-separated list of analyzer names.
func completeAnalyzers(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	prefix := toComplete[:strings.LastIndex(toComplete, ",")+1]
	var words []string
	for _, name := range scan.Names(scan.Analyzers(pickle.DefaultPolicy())) {
		if !slices.Contains(strings.Split(prefix, ","), name) && strings.HasPrefix(prefix+name, toComplete) {
			words = append(words, prefix+name)
		}
	}
	return words, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

func runScan(ctx context.Context, cmd *cobra.Command, g *globalOptions, o *scanOptions, targets []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()

	write, err := o.validate()
	if err != nil {
		return usageError(err)
	}
	signer, err := attestSigner(o, targets)
	if err != nil {
		return usageError(err)
	}
	if err := o.upload.validate(targets); err != nil {
		return usageError(err)
	}
	// An attestation and an upload bind the report to the files' digests.
	opts, err := o.scanOptions(cmd, g, signer != nil || o.upload.url != "")
	if err != nil {
		return usageError(err)
	}
	// A remote model is fetched into a private temporary folder, scanned
	// there, and reported under its location.
	local, remote, cleanup, err := fetchTargets(ctx, targets, o.sources.options())
	if err != nil {
		return err
	}
	defer cleanup()
	r, err := scan.Scan(ctx, local, opts)
	if err != nil {
		return usageError(err)
	}
	for _, f := range remote {
		f.renameReport(r)
	}
	r.RequireModels = o.requireModels
	var attestErr error
	if signer != nil {
		attestErr = checkDigests(r)
	}
	if err := o.writeReport(cmd, g, write, r); err != nil {
		return err
	}
	code := r.ExitCode(opts.FailOn)
	if signer != nil {
		if attestErr == nil {
			attestErr = writeAttestation(o.attest, r, code, signer)
		}
		if attestErr != nil {
			return exitError{code: report.ExitIncomplete, msg: "attestation not written: " + attestErr.Error()}
		}
		g.notice(cmd, "Attestation: %s\n", o.attest)
	}
	if o.upload.url != "" {
		if len(remote) == 1 {
			o.upload.location = remote[0].location
		}
		if err := o.upload.uploadReport(ctx, cmd, g, local[0], store.EvidenceScan, r, code); err != nil {
			return err
		}
	}
	if code != report.ExitPass {
		return exitError{code: code}
	}
	return nil
}

// reportWriter writes a report in one format.
type reportWriter = func(io.Writer, *report.Report, report.TextOptions) error

// validate checks the flag values that need no file, and returns the
// writer of the format asked for.
func (o *scanOptions) validate() (reportWriter, error) {
	if err := o.out.Validate(); err != nil {
		return nil, err
	}
	write, err := writerFor(o.out.Format)
	if err != nil {
		return nil, err
	}
	if err := o.failOn.Validate(); err != nil {
		return nil, err
	}
	if o.workers < 0 {
		return nil, fmt.Errorf("--workers %d: must be 0 (all cores) or more", o.workers)
	}
	if o.timeout < 0 {
		return nil, fmt.Errorf("--timeout %s: must be positive", o.timeout)
	}
	if o.attest != "" && (len(o.analyzers) > 0 || len(o.skipAnalyzers) > 0) {
		return nil, errors.New("--attest attests a scan by every analyzer: do not combine it with --analyzers or --skip-analyzers")
	}
	return write, nil
}

// scanOptions builds the engine's options from the flags and the
// configuration (--config, or the project's .violet.yaml).
func (o *scanOptions) scanOptions(cmd *cobra.Command, g *globalOptions, digest bool) (scan.Options, error) {
	cfg, configPath, err := o.config.Load()
	if err != nil {
		return scan.Options{}, err
	}
	failOn, err := o.failOn.Threshold(cfg.FailOn)
	if err != nil {
		return scan.Options{}, err
	}
	policy, err := pickle.DefaultPolicy().WithAllowed(append(cfg.Allow, o.allow...)...)
	if err != nil {
		return scan.Options{}, err
	}
	if o.explain {
		policy = policy.WithExplain()
	}
	if o.timeout > 0 {
		cfg.Limits.Timeout = o.timeout
	}
	analyzers, err := scan.Select(scan.Analyzers(policy), o.analyzers, o.skipAnalyzers)
	if err != nil {
		return scan.Options{}, err
	}
	if len(o.analyzers) > 0 || len(o.skipAnalyzers) > 0 {
		g.logger.Warn("not every analyzer runs: a file only a left-out analyzer reads is not checked", "analyzers", strings.Join(scan.Names(analyzers), ","))
	}
	var cache scan.Cache
	if o.cache != "" {
		c, err := scan.OpenDirCache(o.cache, 0)
		if err != nil {
			return scan.Options{}, usageError(err)
		}
		cache = c
	}
	return scan.Options{
		Cache:      cache,
		Analyzers:  analyzers,
		Limits:     cfg.Limits,
		Workers:    o.workers,
		Ignore:     append(cfg.Ignore, o.ignore...),
		Severity:   cfg.SeverityOverrides(),
		FailOn:     failOn,
		Version:    programVersion(),
		ConfigPath: configPath,
		// An attestation names each file by the digest of the bytes the
		// scan analyzed.
		Digest:   digest,
		Progress: g.progress(cmd).Counter("scanned"),
		Logger:   g.logger,
	}, nil
}

// writeReport writes the report to --output or standard output.
func (o *scanOptions) writeReport(cmd *cobra.Command, g *globalOptions, write reportWriter, r *report.Report) error {
	out := cmd.OutOrStdout()
	if o.out.Output != "" {
		f, err := os.Create(o.out.Output)
		if err != nil {
			return usageError(err)
		}
		defer f.Close()
		out = f
	}
	color := o.out.Format == "text" && g.color(out)
	if err := write(out, r, report.TextOptions{Color: color, Verbose: o.verbose}); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// attestSigner checks the attestation flags and loads the signer; it is nil
// without --attest.
func attestSigner(o *scanOptions, targets []string) (sign.Signer, error) {
	if o.attest == "" {
		if o.key.Given() {
			return nil, errors.New("--key, --cert and --chain sign an attestation: they need --attest")
		}
		return nil, nil
	}
	if o.key.Key == "" {
		return nil, errors.New("--attest needs --key (and --cert and --chain for certificate signing)")
	}
	if len(targets) != 1 {
		return nil, fmt.Errorf("--attest attests the scan of one model: %d targets given", len(targets))
	}
	if targets[0] == scan.Stdin {
		return nil, errors.New("--attest attests the scan of files: standard input has none the gate could check")
	}
	return o.key.Signer()
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
