package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/violet-mlsecops/violet/internal/cli"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
	"github.com/violet-mlsecops/violet/source"
	"github.com/violet-mlsecops/violet/store"
)

// watchOptions are the flags of violet watch.
type watchOptions struct {
	scan     scanOptions
	interval time.Duration
	once     bool
	state    string
}

func newWatchCommand(g *globalOptions) *cobra.Command {
	o := &watchOptions{scan: scanOptions{
		out: cli.OutputOptions{Formats: []string{"text", "json", "sarif"}, FormatUsage: "output format: text, json or sarif",
			OutputUsage: "append the reports to `FILE` instead of standard output"},
		config: cli.ConfigOptions{Usage: "read the configuration from `FILE` (default: .violet.yaml of the project you run in)"},
	}}
	cmd := &cobra.Command{
		Use:   "watch LOCATION",
		Short: "Scan each new version of a model as it appears in a registry, bucket or hub",
		Long: `Poll a model's location every --interval and scan each version once:
hf://org/model[@branch] (a new commit), s3://bucket/prefix (a new listing:
keys, ETags, sizes), oci://host/repo:tag (a new digest of the tag), or
oci://host/repo (every tag, and a tag moved to a new digest), or a local
folder. Each report is printed (or appended to --output) and, with --upload,
sent to the Violet server. --state keeps the versions scanned in a small JSON
file, so that a restart does not scan them again; a version whose scan could
not run is tried again at the next poll.

With --once, poll once and exit with the scans' worst exit code (a location
that cannot be read is 2); without it, run until interrupted (exit 0), a
poll that fails is logged and tried again.`,
		Example: `  violet watch hf://org/model --interval 10m --state watch.json
  violet watch oci://registry.example.com/models/llm --once --state llm.json -f json
  VIOLET_TOKEN=... violet watch s3://models/fraud/ --upload https://violet.example.com`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWatch(cmd.Context(), cmd, g, o, args[0])
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "watch")
	f := cmd.Flags()
	o.scan.out.AddFlags(f)
	o.scan.failOn.AddFlags(f)
	o.scan.config.AddFlags(f)
	o.scan.upload.addFlags(f)
	o.scan.sources.addFlags(f)
	f.DurationVar(&o.interval, "interval", 5*time.Minute, "time between polls")
	f.BoolVar(&o.once, "once", false, "poll once, scan what is new, and exit")
	f.StringVar(&o.state, "state", "", "keep the versions scanned in `FILE` (JSON; default: none, every version seen in this run)")
	f.BoolVarP(&o.scan.verbose, "verbose", "v", false, "list clean files too in the text report")
	return cmd
}

// watchState is the state file: the version scanned of each location.
type watchState struct {
	// Location is the watched location.
	Location string `json:"location"`
	// Scanned maps a location (a tag's, for a repository) to the version
	// last scanned there.
	Scanned map[string]string `json:"scanned"`
}

// maxStateSize bounds the state file read.
const maxStateSize = 16 << 20

// loadState reads the state file, or starts an empty state.
func loadState(path, location string) (*watchState, error) {
	st := &watchState{Location: location, Scanned: map[string]string{}}
	if path == "" {
		return st, nil
	}
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if info.Size() > maxStateSize {
		return nil, fmt.Errorf("--state %s: larger than %d bytes", path, maxStateSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("--state %s: %w", path, err)
	}
	if st.Location != location {
		return nil, fmt.Errorf("--state %s is the state of %s, not %s", path, st.Location, location)
	}
	if st.Scanned == nil {
		st.Scanned = map[string]string{}
	}
	return st, nil
}

// save writes the state file atomically (a temporary file renamed).
func (st *watchState) save(path string) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".violet-watch-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func runWatch(ctx context.Context, cmd *cobra.Command, g *globalOptions, o *watchOptions, location string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	write, err := o.scan.validate()
	if err != nil {
		return usageError(err)
	}
	if o.interval <= 0 {
		return usageError(fmt.Errorf("--interval %s: must be positive", o.interval))
	}
	if err := o.scan.upload.validate([]string{location}); err != nil {
		return usageError(err)
	}
	opts, err := o.scan.scanOptions(cmd, g, o.scan.upload.url != "")
	if err != nil {
		return usageError(err)
	}
	opts.Progress = nil
	st, err := loadState(o.state, location)
	if err != nil {
		return usageError(err)
	}
	w := &watcher{cmd: cmd, g: g, o: o, write: write, opts: opts, st: st, srcOpts: o.scan.sources.options()}
	for {
		code, err := w.poll(ctx, location)
		if o.once {
			if err != nil && code == report.ExitFindings {
				// Findings win over 2, as in scan; the error is still said.
				return exitError{code: code, msg: fmt.Sprintf("cannot read %s: %v", location, err)}
			}
			if err != nil {
				return fetchError(location, err)
			}
			if code != report.ExitPass {
				return exitError{code: code}
			}
			return nil
		}
		if err != nil && ctx.Err() == nil {
			g.logger.Warn("watch: poll failed, trying again at the next one", "location", location, "error", err)
		}
		t := time.NewTimer(o.interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// watcher polls one location.
type watcher struct {
	cmd     *cobra.Command
	g       *globalOptions
	o       *watchOptions
	write   reportWriter
	opts    scan.Options
	st      *watchState
	srcOpts source.Options
}

// poll scans what is new at location and returns the worst exit code of
// its scans; an error says a version could not be scanned (it is tried
// again at the next poll).
func (w *watcher) poll(ctx context.Context, location string) (int, error) {
	targets := []string{location}
	if isOCIRepository(location) {
		tags, err := source.OCITags(ctx, location, w.srcOpts)
		if err != nil {
			return report.ExitIncomplete, err
		}
		targets = targets[:0]
		for _, tag := range tags {
			targets = append(targets, strings.TrimSuffix(location, "/")+":"+tag)
		}
	}
	worst := report.ExitPass
	var errs []error
	for _, t := range targets {
		code, err := w.one(ctx, t)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t, err))
			code = report.ExitIncomplete
		}
		worst = worseCode(worst, code)
	}
	return worst, errors.Join(errs...)
}

// worseCode is the exit code that wins: 1 (findings) over 2 over 0, as in
// scan.
func worseCode(a, b int) int {
	if a == report.ExitFindings || b == report.ExitFindings {
		return report.ExitFindings
	}
	return max(a, b)
}

// isOCIRepository reports whether location is oci://host/repo with no tag
// and no digest.
func isOCIRepository(location string) bool {
	rest, ok := strings.CutPrefix(location, source.SchemeOCI)
	if !ok || strings.Contains(rest, "@") {
		return false
	}
	return !strings.Contains(rest[strings.LastIndex(rest, "/")+1:], ":")
}

// one scans location if its version is new.
func (w *watcher) one(ctx context.Context, location string) (int, error) {
	src, err := source.Open(ctx, location, w.srcOpts)
	if err != nil {
		return report.ExitIncomplete, err
	}
	defer src.Close()
	version := src.Location()
	if v, ok := src.(source.Versioned); ok {
		version = v.Version()
	}
	if w.st.Scanned[location] == version {
		return report.ExitPass, nil
	}
	f := &fetched{location: src.Location(), version: version}
	target := src.Location()
	if source.IsRemote(location) {
		if f.dir, err = os.MkdirTemp("", "violet-watch-"); err != nil {
			return report.ExitIncomplete, err
		}
		defer os.RemoveAll(f.dir)
		if _, err := source.Fetch(ctx, src, f.dir, w.srcOpts.Limits); err != nil {
			return report.ExitIncomplete, err
		}
		target = f.dir
	}
	r, err := scan.Scan(ctx, []string{target}, w.opts)
	if err != nil {
		return report.ExitIncomplete, err
	}
	if f.dir != "" {
		f.renameReport(r)
	}
	if err := w.output(r); err != nil {
		return report.ExitIncomplete, err
	}
	code := r.ExitCode(w.opts.FailOn)
	w.g.notice(w.cmd, "watch: scanned %s (version %s): exit %d\n", src.Location(), version, code)
	if w.o.scan.upload.url != "" {
		up := w.o.scan.upload
		if f.dir != "" {
			up.location = f.location
		}
		if err := up.uploadReport(ctx, w.cmd, w.g, target, store.EvidenceScan, r, code); err != nil {
			return report.ExitIncomplete, err
		}
	}
	w.st.Scanned[location] = version
	if err := w.st.save(w.o.state); err != nil {
		return code, fmt.Errorf("--state: %w", err)
	}
	return code, nil
}

// output writes a report to standard output or appends it to --output.
func (w *watcher) output(r *report.Report) error {
	out := w.cmd.OutOrStdout()
	if p := w.o.scan.out.Output; p != "" {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	return w.write(out, r, report.TextOptions{Verbose: w.o.scan.verbose})
}
