package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
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
	verbose bool
}

func newScanCommand() *cobra.Command {
	o := &scanOptions{}
	cmd := &cobra.Command{
		Use:   "scan PATH...",
		Short: "Scan model files and folders for malicious or unsafe content",
		Long: `Scan model files, folders and archives. The format of each file is decided by its content.

Exit codes: 0 passed, 1 a finding at or above --fail-on, 2 could not scan
(bad usage, an unreadable file, or a file that could not be fully analyzed).`,
		Example: `  violet scan model.pt
  violet scan --format sarif --output violet.sarif ./models
  violet scan --allow mylib.models.MyNet checkpoint.pt`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScan(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "output format: text, json or sarif")
	f.StringVarP(&o.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	f.StringVar(&o.failOn, "fail-on", "", "fail (exit 1) on findings at or above `SEVERITY`: info, low, medium, high, critical (default high)")
	f.StringVar(&o.config, "config", "", "read the configuration from `FILE` (default: .violet.yaml in the scanned folder)")
	f.StringSliceVar(&o.allow, "allow", nil, "allow the pickle global `module.name` (or module.*, module.**); repeatable")
	f.StringSliceVar(&o.ignore, "ignore", nil, "do not scan paths matching `GLOB`; repeatable")
	f.DurationVar(&o.timeout, "timeout", 0, "time budget of each file (default 2m)")
	f.IntVar(&o.workers, "workers", 0, "files scanned in parallel (default: all cores)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "list clean files too in the text report")
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
	cfg := scan.DefaultConfig()
	path := o.config
	if path == "" {
		path = scan.FindConfig(targets)
	}
	if path != "" {
		if cfg, err = scan.LoadConfig(path); err != nil {
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
	if code := r.ExitCode(failOn); code != report.ExitPass {
		return exitError{code: code}
	}
	return nil
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
