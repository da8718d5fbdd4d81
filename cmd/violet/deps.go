package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/violet-mlsecops/violet/deps"
	"github.com/violet-mlsecops/violet/internal/cli"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/store"
)

// depsOptions are the flags of violet deps.
type depsOptions struct {
	out     cli.OutputOptions
	failOn  cli.FailOnOptions
	config  cli.ConfigOptions
	osv     cli.OSVOptions
	verbose bool
	// upload sends the JSON report to a Violet server.
	upload uploadOptions
}

func newDepsCommand(g *globalOptions) *cobra.Command {
	o := &depsOptions{
		out: cli.OutputOptions{Formats: []string{"text", "json", "sarif", "cyclonedx"}, FormatUsage: "output format: text, json, sarif or cyclonedx",
			OutputUsage: "write the report to `FILE` instead of standard output"},
		config: cli.ConfigOptions{Usage: "read fail_on from this configuration `FILE` (default: .violet.yaml of the project you run in, as scan reads it; its other keys are the scan's)"},
	}
	cmd := &cobra.Command{
		Use:   "deps PATH",
		Short: "Check the Python packages around a model: vulnerable, malicious, typosquatted, unpinned",
		Long: `Find the requirement, lock and project files under PATH (requirements*.txt, poetry.lock,
uv.lock, Pipfile.lock, pdm.lock, pylock.toml, environment.yml, pyproject.toml, Pipfile,
setup.cfg, and setup.py, read statically and never run) and check every package:
known vulnerabilities and malicious releases from OSV (an offline database with
--osv-db, the OSV API with --online), typosquats of popular ML packages, extra
indexes that open the door to dependency confusion, and unpinned, unhashed or
direct-URL requirements.

The threshold is --fail-on, else fail_on of the project's .violet.yaml (or of
--config), else high.`,
		Example: `  violet deps --osv-db PyPI-all.zip ./training-job
  violet deps --online --format sarif -o deps.sarif .
  violet deps --format cyclonedx --osv-db PyPI-all.zip . > deps.cdx.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return interruptible(cmd.Context(), func(ctx context.Context) error {
				return runDeps(ctx, cmd, g, o, args[0])
			})
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "deps")
	f := cmd.Flags()
	o.out.AddFlags(f)
	o.failOn.AddFlags(f)
	o.config.AddFlags(f)
	o.osv.AddFlags(f)
	f.BoolVarP(&o.verbose, "verbose", "v", false, "list the dependency files without findings too in the text report")
	o.upload.addFlags(f)
	return cmd
}

func runDeps(ctx context.Context, cmd *cobra.Command, g *globalOptions, o *depsOptions, path string) error {
	for _, v := range []interface{ Validate() error }{&o.out, &o.failOn, &o.config, &o.osv} {
		if err := v.Validate(); err != nil {
			return usageError(err)
		}
	}
	if err := o.upload.validate([]string{path}); err != nil {
		return usageError(err)
	}
	cfg, _, err := o.config.Load()
	if err != nil {
		return usageError(err)
	}
	failOn, err := o.failOn.Threshold(cfg.FailOn)
	if err != nil {
		return usageError(err)
	}
	write, err := depsWriter(o.out.Format)
	if err != nil {
		return usageError(err)
	}
	q, err := o.osv.Querier()
	if err != nil {
		return err
	}
	if q == nil {
		g.notice(cmd, "violet: no vulnerability data (--osv-db or --online): checking names, pins and indexes only\n")
	}
	started := time.Now()
	res, err := deps.CheckPath(ctx, path, q)
	if err != nil {
		return err
	}
	rep := res.Report(programVersion(), started, failOn)
	var out bytes.Buffer
	text := report.TextOptions{Verbose: o.verbose, Color: o.out.Output == "" && g.color(cmd.OutOrStdout())}
	if err := write(&out, res, rep, text); err != nil {
		return err
	}
	if err := o.out.Write(cmd.OutOrStdout(), out.Bytes()); err != nil {
		return err
	}
	code := rep.ExitCode(failOn)
	if o.upload.url != "" {
		if err := o.upload.uploadReport(ctx, cmd, g, path, store.EvidenceDeps, rep, code); err != nil {
			return err
		}
	}
	if code != report.ExitPass {
		return exitError{code: code}
	}
	return nil
}

// depsWriter returns the writer of a format; text options apply to text.
func depsWriter(format string) (func(*bytes.Buffer, *deps.Result, *report.Report, report.TextOptions) error, error) {
	switch format {
	case "text":
		return func(w *bytes.Buffer, _ *deps.Result, r *report.Report, o report.TextOptions) error {
			return report.WriteText(w, r, o)
		}, nil
	case "json":
		return func(w *bytes.Buffer, _ *deps.Result, r *report.Report, _ report.TextOptions) error {
			return report.WriteJSON(w, r)
		}, nil
	case "sarif":
		return func(w *bytes.Buffer, _ *deps.Result, r *report.Report, _ report.TextOptions) error {
			return report.WriteSARIF(w, r)
		}, nil
	case "cyclonedx":
		return func(w *bytes.Buffer, res *deps.Result, _ *report.Report, _ report.TextOptions) error {
			return deps.WriteCycloneDX(w, res, programVersion())
		}, nil
	}
	return nil, fmt.Errorf("--format %q: want text, json, sarif or cyclonedx", format)
}
