package main

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/violet-mlsecops/violet/discover"
	"github.com/violet-mlsecops/violet/internal/cli"
	"github.com/violet-mlsecops/violet/report"
)

// discoverOptions are the flags of violet discover.
type discoverOptions struct {
	out     cli.OutputOptions
	noGit   bool
	commits int
	workers int
}

// discoverWriters are the output formats of violet discover.
var discoverWriters = map[string]func(io.Writer, *discover.Result) error{
	"text": discover.WriteText,
	"json": discover.WriteJSON,
	"cyclonedx": func(w io.Writer, r *discover.Result) error {
		return discover.WriteCycloneDX(w, r, programVersion())
	},
}

func newDiscoverCommand(*globalOptions) *cobra.Command {
	o := &discoverOptions{out: cli.OutputOptions{Formats: []string{"text", "json", "cyclonedx"}, FormatUsage: "output format: text, json or cyclonedx",
		OutputUsage: "write the inventory to `FILE` instead of standard output"}}
	cmd := &cobra.Command{
		Use:   "discover PATH",
		Short: "Find the ML in a code base: models, notebooks, ML dependencies, model references, and their owners",
		Long: `Walk a code base and list where machine learning lives: model files (by content), model folders,
Hugging Face cache snapshots, notebooks that import ML libraries, Python dependency files that pull
them, and the hub and hosted models named in code and configuration. Each asset has its owners, from
CODEOWNERS and the recent git history.

Git history is read by Violet itself, never by running git: nothing a scanned repository configures
(hooks, pagers, fsmonitor, gpg, diff drivers, filters) runs.

Discovery is an inventory, not a gate.`,
		Example: `  violet discover .
  violet discover --format json -o ml-inventory.json ~/src/platform
  violet discover --format cyclonedx -o ml-bom.cdx.json .`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiscover(cmd.Context(), cmd.OutOrStdout(), o, args[0])
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "discover")
	f := cmd.Flags()
	o.out.AddFlags(f)
	f.BoolVar(&o.noGit, "no-git", false, "do not read git history for owners (CODEOWNERS only)")
	f.IntVar(&o.commits, "git-commits", 0, "how many recent commits the owners come from (default 1000)")
	f.IntVar(&o.workers, "workers", 0, "folders read in parallel (default: twice the cores)")
	return cmd
}

func runDiscover(ctx context.Context, stdout io.Writer, o *discoverOptions, root string) error {
	if err := o.out.Validate(); err != nil {
		return usageError(err)
	}
	write := discoverWriters[o.out.Format]
	var res *discover.Result
	err := interruptible(ctx, func(ctx context.Context) (err error) {
		res, err = discover.Discover(ctx, root, discover.Options{NoGit: o.noGit, GitCommits: o.commits, Workers: o.workers})
		return err
	})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := write(&buf, res); err != nil {
		return err
	}
	if err := o.out.Write(stdout, buf.Bytes()); err != nil {
		return err
	}
	if n := res.Stats.Unreadable; n > 0 {
		return exitError{code: report.ExitIncomplete, msg: fmt.Sprintf("%d files or folders under %s could not be read: the inventory is incomplete", n, root)}
	}
	return nil
}
