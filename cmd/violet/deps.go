package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/violet-mlsecops/violet/deps"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/report"
)

// depsOptions are the flags of violet deps.
type depsOptions struct {
	format, output, failOn, osvDB, cacheDir string
	online                                  bool
}

func newDepsCommand() *cobra.Command {
	o := &depsOptions{}
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

Exit codes: 0 passed, 1 a finding at or above --fail-on (default high),
2 could not check (bad usage; an unreadable or empty database; a file or folder
that could not be read, reported while everything else is still checked).`,
		Example: `  violet deps --osv-db PyPI-all.zip ./training-job
  violet deps --online --format sarif -o deps.sarif .
  violet deps --format cyclonedx --osv-db PyPI-all.zip . > deps.cdx.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return interruptible(cmd.Context(), func(ctx context.Context) error {
				return runDeps(ctx, cmd, o, args[0])
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "output format: text, json, sarif or cyclonedx")
	f.StringVarP(&o.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	f.StringVar(&o.failOn, "fail-on", "", "fail (exit 1) on findings at or above `SEVERITY` (default high)")
	f.StringVar(&o.osvDB, "osv-db", "", "the OSV database: the PyPI all.zip export, or a folder of OSV JSON records (`PATH`)")
	f.BoolVar(&o.online, "online", false, "query the OSV API (api.osv.dev) for the pinned packages, with a local cache")
	f.StringVar(&o.cacheDir, "cache-dir", "", "the cache of --online answers (default: the user cache folder, violet/osv)")
	return cmd
}

// validate checks the flags before anything is read.
func (o *depsOptions) validate() error {
	switch {
	case o.osvDB != "" && o.online:
		return errors.New("use --osv-db or --online, not both")
	case o.cacheDir != "" && !o.online:
		return errors.New("--cache-dir is the cache of --online: use it with --online")
	}
	return nil
}

// querier is the vulnerability source the flags choose, or nil. The
// offline database is read when the packages to check are known (its
// records of those packages only); a path that does not exist fails now.
func (o *depsOptions) querier() (deps.Querier, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	switch {
	case o.osvDB != "":
		if _, err := os.Stat(o.osvDB); err != nil {
			return nil, fmt.Errorf("osv database: %w", err)
		}
		return &deps.OfflineDB{Path: o.osvDB}, nil
	case o.online:
		dir := o.cacheDir
		if dir == "" {
			base, err := os.UserCacheDir()
			if err != nil {
				return nil, fmt.Errorf("no cache folder: set --cache-dir (%v)", err)
			}
			dir = filepath.Join(base, "violet", "osv")
		}
		return &deps.Online{Client: &http.Client{Timeout: 30 * time.Second}, CacheDir: dir}, nil
	}
	return nil, nil
}

func runDeps(ctx context.Context, cmd *cobra.Command, o *depsOptions, path string) error {
	failOn := finding.High
	if o.failOn != "" {
		s, err := finding.ParseSeverity(o.failOn)
		if err != nil {
			return usageError(err)
		}
		failOn = s
	}
	write, err := depsWriter(o.format)
	if err != nil {
		return usageError(err)
	}
	if err := o.validate(); err != nil {
		return usageError(err)
	}
	q, err := o.querier()
	if err != nil {
		return exitError{code: report.ExitIncomplete, msg: err.Error()}
	}
	if q == nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "violet: no vulnerability data (--osv-db or --online): checking names, pins and indexes only")
	}
	started := time.Now()
	res, err := deps.CheckPath(ctx, path, q)
	if err != nil {
		return exitError{code: report.ExitIncomplete, msg: err.Error()}
	}
	rep := res.Report(programVersion(), started, failOn)
	var out bytes.Buffer
	if err := write(&out, res, rep); err != nil {
		return err
	}
	if err := writeOutput(cmd.OutOrStdout(), o.output, out.Bytes()); err != nil {
		return err
	}
	if code := rep.ExitCode(failOn); code != report.ExitPass {
		return exitError{code: code}
	}
	return nil
}

// depsWriter returns the writer of a format.
func depsWriter(format string) (func(*bytes.Buffer, *deps.Result, *report.Report) error, error) {
	switch format {
	case "text":
		return func(w *bytes.Buffer, _ *deps.Result, r *report.Report) error {
			return report.WriteText(w, r, report.TextOptions{})
		}, nil
	case "json":
		return func(w *bytes.Buffer, _ *deps.Result, r *report.Report) error { return report.WriteJSON(w, r) }, nil
	case "sarif":
		return func(w *bytes.Buffer, _ *deps.Result, r *report.Report) error { return report.WriteSARIF(w, r) }, nil
	case "cyclonedx":
		return func(w *bytes.Buffer, res *deps.Result, _ *report.Report) error {
			return deps.WriteCycloneDX(w, res, programVersion())
		}, nil
	}
	return nil, fmt.Errorf("--format %q: want text, json, sarif or cyclonedx", format)
}
