package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/violet-mlsecops/violet/gate"
	"github.com/violet-mlsecops/violet/report"
)

func newPolicyCommand(*globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Test a release policy (Rego), or show the default one",
		Long: `A release policy decides whether "violet gate" lets a model out. It is written
in Rego (package violet.gate, rules "deny contains {"id": ..., "msg": ...} if ...").
See docs/policy.md.`,
	}
	cmd.AddCommand(newPolicyTestCommand(), newPolicyShowCommand())
	return cmd
}

// policyTestOptions are the flags of violet policy test.
type policyTestOptions struct {
	data    []string
	verbose bool
}

func newPolicyTestCommand() *cobra.Command {
	o := &policyTestOptions{}
	cmd := &cobra.Command{
		Use:   "test [DIR...]",
		Short: "Run the Rego tests of a policy",
		Long: `Run the tests (rules named test_... in *_test.rego files) of the policy in DIR,
with its modules (*.rego) and data (data.json, data.yaml) and the --data files
merged over the default data. With no DIR, the embedded default policy's tests.`,
		Example: `  violet policy show -o my-policy && violet policy test my-policy
  violet policy test --data team.yaml ./policy`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return interruptible(cmd.Context(), func(ctx context.Context) error {
				return runPolicyTest(ctx, cmd, o, args)
			})
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "policy test")
	f := cmd.Flags()
	f.StringArrayVar(&o.data, "data", nil, "a data `FILE` (JSON or YAML) merged over the policy's data; repeatable")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "print the errors of tests that stopped on one in full")
	return cmd
}

func runPolicyTest(ctx context.Context, cmd *cobra.Command, o *policyTestOptions, dirs []string) error {
	results, err := gate.RunPolicyTests(ctx, dirs, o.data)
	if err != nil {
		return exitError{code: report.ExitIncomplete, msg: err.Error()}
	}
	out := cmd.OutOrStdout()
	var pass, fail, errs, skip int
	for _, r := range results {
		name := strings.TrimPrefix(r.Package, "data.") + "." + r.Name
		switch {
		case r.Pass:
			pass++
			fmt.Fprintf(out, "PASS  %s (%s)\n", name, r.Duration.Round(1000))
		case r.Skip:
			skip++
			fmt.Fprintf(out, "SKIP  %s\n", name)
		case r.Fail:
			fail++
			fmt.Fprintf(out, "FAIL  %s (%s)\n", name, r.Location)
		default:
			errs++
			msg := fmt.Sprint(r.Err)
			if !o.verbose {
				msg, _, _ = strings.Cut(msg, "\n")
			}
			fmt.Fprintf(out, "ERROR %s (%s): %s\n", name, r.Location, msg)
		}
	}
	fmt.Fprintf(out, "%d tests: %d passed, %d failed, %d errors, %d skipped\n", len(results), pass, fail, errs, skip)
	switch {
	case errs > 0:
		return exitError{code: report.ExitIncomplete}
	case fail > 0:
		return exitError{code: report.ExitFindings}
	}
	return nil
}

// policyShowOptions are the flags of violet policy show.
type policyShowOptions struct {
	output string
}

func newPolicyShowCommand() *cobra.Command {
	o := &policyShowOptions{}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the default policy and its data, or write them to a folder",
		Long: `Print the embedded default policy: its Rego modules, its data (data.json: every
threshold and list a team may override) and its tests. With -o DIR, write them
as files into DIR (which must not hold files of the same names), to start a
policy of your own.`,
		Example: `  violet policy show | less
  violet policy show -o policy && violet policy test policy`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPolicyShow(cmd, o)
		},
	}
	cmd.Long = withExitCodes(cmd.Long, "policy show")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the policy's files into `DIR`")
	return cmd
}

func runPolicyShow(cmd *cobra.Command, o *policyShowOptions) error {
	files, err := gate.DefaultPolicyFiles()
	if err != nil {
		return exitError{code: report.ExitIncomplete, msg: err.Error()}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	// The overview (gate.rego), the modules, the data, then the tests.
	rank := func(name string) int {
		switch {
		case name == "gate.rego":
			return -1
		case strings.HasSuffix(name, "_test.rego"):
			return 2
		case strings.HasSuffix(name, ".rego"):
			return 0
		}
		return 1
	}
	slices.SortFunc(names, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	if o.output == "" {
		out := cmd.OutOrStdout()
		for i, name := range names {
			if i > 0 {
				fmt.Fprintln(out)
			}
			comment := "#"
			if strings.HasSuffix(name, ".json") {
				comment = "//"
			}
			fmt.Fprintf(out, "%s ==> %s <==\n", comment, name)
			out.Write(files[name])
		}
		return nil
	}
	if err := os.MkdirAll(o.output, 0o755); err != nil {
		return exitError{code: report.ExitIncomplete, msg: err.Error()}
	}
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(o.output, name)); err == nil {
			return exitError{code: report.ExitIncomplete, msg: fmt.Sprintf("%s already exists: not overwritten", filepath.Join(o.output, name))}
		} else if !errors.Is(err, os.ErrNotExist) {
			return exitError{code: report.ExitIncomplete, msg: err.Error()}
		}
	}
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(o.output, name), files[name], 0o644); err != nil {
			return exitError{code: report.ExitIncomplete, msg: err.Error()}
		}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %d files to %s: edit data.json, then run: violet policy test %s\n", len(names), o.output, o.output)
	return nil
}
