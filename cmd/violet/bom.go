package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/spf13/cobra"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/bom"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/cli"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/scan"
	"github.com/violet-mlsecops/violet/store"
)

// bomOptions are the flags of violet bom.
type bomOptions struct {
	out      cli.OutputOptions
	scan     bool
	check    bool
	minScore int
	// upload sends the CycloneDX BOM to a Violet server.
	upload uploadOptions
}

func newBOMCommand(g *globalOptions) *cobra.Command {
	o := &bomOptions{out: cli.OutputOptions{Formats: []string{"cyclonedx", "cyclonedx-1.7", "spdx3", "text", "json", "cyclonedx-1.6"},
		FormatUsage: "output format: cyclonedx, cyclonedx-1.7, spdx3 (with --check: text or json)",
		OutputUsage: "write to `FILE` instead of standard output"}}
	cmd := &cobra.Command{
		Use:   "bom PATH",
		Short: "Write the ML bill of materials of a model folder, cache snapshot or model file",
		Long: `Write the Machine Learning Bill of Materials of a model: what it is (name, supplier,
commit, license, SHA-256 of every file), its model card (task, architecture,
inputs and outputs, datasets, metrics, intended uses, limitations, ethical and
environmental considerations), its lineage (base models, LoRA adapters), the
Python packages it needs, and with --scan what the scanner found.

Formats: cyclonedx (CycloneDX 1.6 JSON, the default), cyclonedx-1.7, spdx3
(SPDX 3.0.1 JSON-LD with the AI and Dataset profiles). --check prints which
fields a compliance review expects are missing, with a score.
Set SOURCE_DATE_EPOCH for a reproducible timestamp. --scan uses the scanner's
defaults (like the gate's own scan), not a .violet.yaml.`,
		Example: `  violet bom ./my-model > my-model.cdx.json
  violet bom --format spdx3 ~/.cache/huggingface/hub/models--org--name
  violet bom --scan -o bom.json ./my-model
  violet bom --check --min-score 80 ./my-model`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return interruptible(cmd.Context(), func(ctx context.Context) error {
				return runBOM(ctx, cmd, g, o, args[0])
			})
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "bom")
	f := cmd.Flags()
	o.out.AddFlags(f)
	f.BoolVar(&o.scan, "scan", false, "scan the model and record the findings as vulnerabilities")
	f.BoolVar(&o.check, "check", false, "report the completeness of the BOM instead of writing it")
	f.IntVar(&o.minScore, "min-score", 0, "with --check, exit 1 when the completeness score is below `PERCENT`")
	o.upload.addFlags(f)
	return cmd
}

// bomTime is the BOM's creation time: SOURCE_DATE_EPOCH when set, so that
// the same model gives the same BOM, else now.
func bomTime() (time.Time, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", s)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	return time.Now().UTC().Truncate(time.Second), nil
}

func runBOM(ctx context.Context, cmd *cobra.Command, g *globalOptions, o *bomOptions, path string) error {
	formats := map[string]bool{"cyclonedx": true, "cyclonedx-1.6": true, "cyclonedx-1.7": true, "spdx3": true}
	if o.check {
		formats = map[string]bool{"text": true, "json": true, "cyclonedx": true}
	}
	if !formats[o.out.Format] {
		return usageError(fmt.Errorf("--format %q: not a format of violet bom%s", o.out.Format, map[bool]string{true: " --check (text or json)"}[o.check]))
	}
	if o.minScore < 0 || o.minScore > 100 {
		return usageError(fmt.Errorf("--min-score %d: must be a percentage, 0 to 100", o.minScore))
	}
	if o.minScore != 0 && !o.check {
		return usageError(fmt.Errorf("--min-score applies to --check only"))
	}
	if err := o.upload.validate([]string{path}); err != nil {
		return usageError(err)
	}
	if o.upload.url != "" && (o.check || !strings.HasPrefix(o.out.Format, "cyclonedx")) {
		return usageError(errors.New("--upload uploads a CycloneDX BOM: not with --check or --format spdx3"))
	}
	created, err := bomTime()
	if err != nil {
		return usageError(err)
	}
	progress := g.progress(cmd)
	stop := progress.Busy("reading " + path)
	m, err := bom.Read(ctx, path)
	stop()
	if err != nil {
		return err
	}
	if o.scan {
		r, err := scan.Scan(ctx, []string{path}, scan.Options{Analyzers: scan.Analyzers(pickle.DefaultPolicy()), Limits: analyzer.DefaultLimits(), FailOn: finding.High,
			Progress: progress.Counter("scanned"), Logger: g.logger})
		if err != nil {
			return err
		}
		m.Findings = relativeFindings(r.AllFindings(), path)
	}
	var out bytes.Buffer
	switch {
	case o.check:
		c := bom.Check(m)
		if o.out.Format == "json" {
			data, _ := json.MarshalIndent(c, "", "  ")
			out.Write(append(data, '\n'))
		} else {
			c.WriteText(&out, m.Name)
		}
		if err := o.out.Write(cmd.OutOrStdout(), out.Bytes()); err != nil {
			return err
		}
		if err := unreadError(m); err != nil {
			return err
		}
		if c.Score < o.minScore {
			return exitError{code: report.ExitFindings, msg: fmt.Sprintf("completeness %d%% is below --min-score %d%%", c.Score, o.minScore)}
		}
		return nil
	case o.out.Format == "spdx3":
		err = bom.WriteSPDX(&out, m, bom.SPDXOptions{Created: created, Tool: "violet " + programVersion()})
	default:
		v := cdx.SpecVersion1_6
		if o.out.Format == "cyclonedx-1.7" {
			v = cdx.SpecVersion1_7
		}
		err = bom.WriteCycloneDX(&out, m, bom.CycloneDXOptions{Version: v, Timestamp: created, ToolVersion: programVersion()})
	}
	if err != nil {
		return err
	}
	if err := o.out.Write(cmd.OutOrStdout(), out.Bytes()); err != nil {
		return err
	}
	if err := unreadError(m); err != nil {
		return err
	}
	if o.upload.url != "" {
		if err := o.upload.upload(ctx, cmd, g, path, store.EvidenceBOM, out.Bytes()); err != nil {
			return usageError(fmt.Errorf("upload failed: %w", err))
		}
	}
	return nil
}

// unreadError is exit 2 naming the entries of the model folder the BOM
// does not cover (links out of the folder, unreadable files and folders),
// or nil: a BOM that leaves files out is not a complete inventory.
func unreadError(m *bom.Model) error {
	if len(m.Unread) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the BOM is incomplete: %d entries of the model folder were not read:", len(m.Unread))
	for _, u := range m.Unread {
		fmt.Fprintf(&b, "\n  %s: %s", report.SafeText(u.Path), report.SafeText(u.Reason))
	}
	return exitError{code: report.ExitIncomplete, msg: b.String()}
}

// relativeFindings makes the findings' paths relative to the model, as
// the BOM names the files.
func relativeFindings(fs []finding.Finding, root string) []finding.Finding {
	out := make([]finding.Finding, len(fs))
	for i, f := range fs {
		if rel, err := relPath(root, f.Location.Path); err == nil {
			f.Location.Path = rel
		}
		out[i] = f
	}
	return out
}

// relPath is p relative to root, with forward slashes; a file given as
// the root is its own name.
func relPath(root, p string) (string, error) {
	info, err := os.Stat(root)
	if err == nil && !info.IsDir() {
		return filepath.Base(p), nil
	}
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}
