package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/violet-mlsecops/violet/internal/cli"
	"github.com/violet-mlsecops/violet/jobs"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/store"
)

// rescanOptions are the flags of violet rescan.
type rescanOptions struct {
	store   storeOptions
	out     cli.OutputOptions
	model   int64
	all     bool
	wait    bool
	timeout time.Duration
	// kind is what the jobs do again: rescan, verify or bom.
	kind string
}

func newRescanCommand(g *globalOptions) *cobra.Command {
	o := &rescanOptions{out: cli.OutputOptions{Formats: []string{"text", "json"}, FormatUsage: "output format: text or json",
		OutputUsage: "write the report to `FILE` (default: standard output)"}}
	cmd := &cobra.Command{
		Use:   "rescan",
		Short: "Re-judge stored versions with the current scanner and policy, and report changed verdicts",
		Long: `Queue a rescan job for each stored version of --model ID (or of every model,
--all) that has a location (a scan job stored it), in the server's database:
a worker fetches the location again, checks it still holds the version, scans
it with its scanner and policy and stores a new scan run. With --wait, wait
for the jobs and report, per version, the verdict before and after (pass,
fail: a finding at or above high, incomplete) and the findings added and
removed. A new finding of severity high or more in a version with an
approved release is sent to the rescan.new_finding webhooks.

--kind verify verifies the stored versions again against the team's
trusted signers instead (after a signer was removed: a leaked key), and
reports which no longer verify (a released one is sent to the verify.failed
webhooks); --kind bom writes their ML-BOMs again.`,
		Example: `  violet rescan --data /var/lib/violet --all --wait
  violet rescan --database postgres://violet@/violet --model 12 --wait -f json
  violet rescan --data /var/lib/violet --all --kind verify --wait`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRescan(cmd, g, o)
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "rescan")
	o.store.addFlags(cmd, "the server's data folder `DIR` (its SQLite database)")
	o.out.AddFlags(cmd.Flags())
	cmd.Flags().Int64Var(&o.model, "model", 0, "rescan the versions of the model with this `ID`")
	cmd.Flags().BoolVar(&o.all, "all", false, "rescan the versions of every model")
	cmd.Flags().BoolVar(&o.wait, "wait", false, "wait for the rescans and report what changed")
	cmd.Flags().DurationVar(&o.timeout, "timeout", time.Hour, "with --wait: give up after this long")
	cmd.Flags().Var(cli.NewChoice(&o.kind, store.ScanKindRescan, store.ScanKindRescan, store.ScanKindVerify, store.ScanKindBOM), "kind",
		"what the jobs do: rescan, verify (against the team's trusted signers) or bom")
	return cmd
}

func runRescan(cmd *cobra.Command, g *globalOptions, o *rescanOptions) error {
	if (o.model != 0) == o.all {
		return usageError(errors.New("name the versions: --model ID or --all"))
	}
	if err := o.out.Validate(); err != nil {
		return usageError(err)
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	st, err := o.store.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if o.model != 0 {
		if _, err := st.Model(ctx, o.model); err != nil {
			return usageError(fmt.Errorf("--model %d: %w", o.model, err))
		}
	}
	r, err := jobs.New(ctx, jobs.Config{Store: st, ScannerVersion: programVersion()})
	if err != nil {
		return usageError(err)
	}
	reqs, err := r.RequestRescans(ctx, store.Actor{Name: "violet rescan", Remote: "local"}, o.model, o.kind, false)
	if err != nil {
		return usageError(err)
	}
	g.notice(cmd, "Queued %d %s jobs\n", len(reqs), o.kind)
	if !o.wait || len(reqs) == 0 {
		return o.write(cmd, reqs, nil)
	}
	wctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	done, err := r.Wait(wctx, reqs, 500*time.Millisecond)
	if err != nil {
		return usageError(fmt.Errorf("%w (the jobs stay queued: is a worker running?)", err))
	}
	changes, err := jobs.Changes(ctx, st, done)
	if err != nil {
		return usageError(err)
	}
	if err := o.write(cmd, done, changes); err != nil {
		return err
	}
	for _, c := range changes {
		if c.After != jobs.VerdictPass {
			code := report.ExitFindings
			if c.After == jobs.VerdictIncomplete {
				code = report.ExitIncomplete
			}
			return exitError{code: code, msg: "a version does not pass (see the report)"}
		}
	}
	return nil
}

// rescanJSON is one rescan in the JSON report.
type rescanJSON struct {
	Request  int64    `json:"request"`
	Model    int64    `json:"model"`
	Version  int64    `json:"version"`
	Location string   `json:"location"`
	Status   string   `json:"status"`
	Before   string   `json:"before,omitempty"`
	After    string   `json:"after,omitempty"`
	Changed  bool     `json:"changed"`
	Added    []string `json:"added,omitempty"`
	Removed  []string `json:"removed,omitempty"`
	Kept     int      `json:"kept"`
	Error    string   `json:"error,omitempty"`
}

// findingNames names findings as rule at location.
func findingNames(fs []store.Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Rule+" "+f.Severity.String()+" at "+f.Location)
	}
	return out
}

// write writes the queued requests, or with changes what each changed.
func (o *rescanOptions) write(cmd *cobra.Command, reqs []store.ScanRequest, changes []jobs.Change) error {
	rows := make([]rescanJSON, 0, len(reqs))
	for i, q := range reqs {
		row := rescanJSON{Request: q.ID, Model: q.ModelID, Version: q.VersionID, Location: q.Location, Status: q.Status, Error: q.Error}
		if changes != nil {
			c := changes[i]
			row.Before, row.After, row.Changed, row.Kept = c.Before, c.After, c.Changed(), c.Kept
			row.Added, row.Removed = findingNames(c.Added), findingNames(c.Removed)
		}
		rows = append(rows, row)
	}
	var b bytes.Buffer
	if o.out.Format == "json" {
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"rescans": rows}); err != nil {
			return err
		}
	} else {
		writeRescanText(&b, rows, changes != nil, o.kind)
	}
	if err := o.out.Write(cmd.OutOrStdout(), b.Bytes()); err != nil {
		return usageError(err)
	}
	return nil
}

// rescanVerbs name what a kind of job did, in the text report's total.
var rescanVerbs = map[string]string{store.ScanKindRescan: "rescanned", store.ScanKindVerify: "verified",
	store.ScanKindBOM: "given a BOM"}

func writeRescanText(w io.Writer, rows []rescanJSON, done bool, kind string) {
	if !done {
		for _, r := range rows {
			fmt.Fprintf(w, "queued  model %d version %d  %s  (request %d)\n", r.Model, r.Version, r.Location, r.Request)
		}
		return
	}
	changed := 0
	for _, r := range rows {
		mark := "same   "
		if r.Changed {
			mark, changed = "CHANGED", changed+1
		}
		fmt.Fprintf(w, "%s model %d version %d: %s -> %s  (+%d -%d =%d)  %s\n", mark, r.Model, r.Version, r.Before, r.After,
			len(r.Added), len(r.Removed), r.Kept, r.Location)
		for _, a := range r.Added {
			fmt.Fprintf(w, "    + %s\n", a)
		}
		for _, a := range r.Removed {
			fmt.Fprintf(w, "    - %s\n", a)
		}
		if r.Error != "" {
			fmt.Fprintf(w, "    ! %s\n", r.Error)
		}
	}
	fmt.Fprintf(w, "%d versions %s, %d verdicts changed\n", len(rows), rescanVerbs[kind], changed)
}
