package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/violet-mlsecops/violet/discover"
	"github.com/violet-mlsecops/violet/internal/cli"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/server"
)

// discoverOptions are the flags of violet discover.
type discoverOptions struct {
	out     cli.OutputOptions
	noGit   bool
	commits int
	workers int
	// upload sends the JSON inventory to a Violet server, as the code
	// base uploadSource names.
	upload, uploadSource string
}

// discoverWriters are the output formats of violet discover.
var discoverWriters = map[string]func(io.Writer, *discover.Result) error{
	"text": discover.WriteText,
	"json": discover.WriteJSON,
	"cyclonedx": func(w io.Writer, r *discover.Result) error {
		return discover.WriteCycloneDX(w, r, programVersion())
	},
}

func newDiscoverCommand(g *globalOptions) *cobra.Command {
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
  violet discover --format cyclonedx -o ml-bom.cdx.json .
  VIOLET_TOKEN=... violet discover --upload https://violet.example.com --upload-source github.com/org/platform .`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiscover(cmd.Context(), cmd, g, o, args[0])
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "discover")
	f := cmd.Flags()
	o.out.AddFlags(f)
	f.BoolVar(&o.noGit, "no-git", false, "do not read git history for owners (CODEOWNERS only)")
	f.IntVar(&o.commits, "git-commits", 0, "how many recent commits the owners come from (default 1000)")
	f.IntVar(&o.workers, "workers", 0, "folders read in parallel (default: twice the cores)")
	f.StringVar(&o.upload, "upload", "", "upload the JSON inventory to the Violet server at `URL` (token from "+TokenEnv+"): the owners of the assets that are models of the team's inventory become theirs; a failed upload fails the command")
	f.StringVar(&o.uploadSource, "upload-source", "", "with --upload: the code base's `NAME` on the server, e.g. github.com/org/repo (default: the folder's name)")
	return cmd
}

// validateUpload checks the upload flags of violet discover.
func (o *discoverOptions) validateUpload() error {
	if o.upload == "" {
		if o.uploadSource != "" {
			return errors.New("--upload-source needs --upload")
		}
		return nil
	}
	u := uploadOptions{url: o.upload}
	return u.validate([]string{"."})
}

func runDiscover(ctx context.Context, cmd *cobra.Command, g *globalOptions, o *discoverOptions, root string) error {
	if err := o.out.Validate(); err != nil {
		return usageError(err)
	}
	if err := o.validateUpload(); err != nil {
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
	if err := o.out.Write(cmd.OutOrStdout(), buf.Bytes()); err != nil {
		return err
	}
	if o.upload != "" {
		if err := uploadDiscovery(ctx, cmd, g, o, root, res); err != nil {
			return exitError{code: report.ExitIncomplete, msg: "upload failed: " + err.Error()}
		}
	}
	if n := res.Stats.Unreadable; n > 0 {
		return exitError{code: report.ExitIncomplete, msg: fmt.Sprintf("%d files or folders under %s could not be read: the inventory is incomplete", n, root)}
	}
	return nil
}

// uploadDiscovery uploads the JSON inventory of root and says what the
// server matched.
func uploadDiscovery(ctx context.Context, cmd *cobra.Command, g *globalOptions, o *discoverOptions, root string, res *discover.Result) error {
	var rep bytes.Buffer
	if err := discover.WriteJSON(&rep, res); err != nil {
		return err
	}
	source := o.uploadSource
	if source == "" {
		source = filepath.Base(absolute(root))
	}
	c := &server.Client{BaseURL: o.upload, Token: os.Getenv(TokenEnv)}
	r, err := c.UploadDiscovery(ctx, source, rep.Bytes())
	if err != nil {
		return err
	}
	verb := "Uploaded"
	if !r.Created {
		verb = "Already on the server:"
	}
	g.notice(cmd, "%s the inventory of %s (discovery %d) to %s: %d assets are models of the inventory, %d model assets are not\n",
		verb, source, r.ID, o.upload, r.Matched, len(r.Unmatched))
	for _, a := range r.Unmatched {
		g.notice(cmd, "  not in the inventory: %s\n", a)
	}
	return nil
}
