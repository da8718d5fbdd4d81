// Command violet is Violet's command-line tool: flags in, library calls,
// report out. Every decision lives in a library package.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/violet-mlsecops/violet/report"
)

// version, commit and date are set at build time by the release build
// (-ldflags "-X main.version=v1.2.3 -X main.commit=... -X main.date=...");
// a plain go build takes the commit and date from the version control
// information the go command records.
var version, commit, date = "", "", ""

// buildCommit returns the commit and the commit date of the build, "" when
// unknown.
func buildCommit() (rev, at string) {
	rev, at = commit, date
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && rev == "":
				rev = s.Value
			case s.Key == "vcs.time" && at == "":
				at = s.Value
			case s.Key == "vcs.modified" && s.Value == "true" && commit == "":
				defer func() { rev += "+dirty" }()
			}
		}
	}
	return rev, at
}

// exitError carries an exit code, and a message for standard error, out of
// a command.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf("exit status %d", e.code)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	var ee exitError
	switch {
	case err == nil:
		return report.ExitPass
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintln(stderr, "violet:", ee.msg)
		}
		return ee.code
	default:
		// Cobra's own errors: unknown flags and commands, bad arguments.
		fmt.Fprintln(stderr, "violet:", err)
		return report.ExitIncomplete
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "violet",
		Short: "Violet: security controls for machine-learning models, in the pipeline",
		Long: "Violet is an MLSecOps toolkit: it scans model files for code that runs when they are loaded (scan), signs and\n" +
			"verifies models (sign, verify, hash), writes their bill of materials (bom), checks the Python packages around\n" +
			"them (deps), finds the ML in a code base (discover), and decides on a release under a policy (gate, policy).\n" +
			"Exit codes: 0 passed, 1 findings at or above --fail-on (a signature that does not verify, a denied release),\n" +
			"2 could not do the job (bad usage, unreadable or not fully analyzed input).",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       programVersion(),
	}
	root.AddCommand(newScanCommand(), newGateCommand(), newDepsCommand(), newBOMCommand(), newHashCommand(), newSignCommand(), newVerifyCommand(), newDiscoverCommand(), newPolicyCommand(), newVersionCommand())
	return root
}

// programVersion is the version set at build time (-ldflags -X), else the
// version the build recorded (report.BuildVersion: the module version, a
// pseudo-version of the commit, or a digest of an unstamped executable),
// never "dev": reports and SARIF logs name the build that wrote them.
func programVersion() string {
	if version != "" {
		return version
	}
	return report.BuildVersion()
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "violet", programVersion())
			if rev, at := buildCommit(); rev != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "commit %s", rev)
				if at != "" {
					fmt.Fprintf(cmd.OutOrStdout(), " (%s)", at)
				}
				fmt.Fprintln(cmd.OutOrStdout())
			}
			return nil
		},
	}
}
