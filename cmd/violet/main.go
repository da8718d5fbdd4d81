// Command violet is Violet's command-line tool: flags in, library calls,
// report out. Every decision lives in a library package.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/violet-mlsecops/violet/internal/cli"
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

// exitCode is the one place an error becomes an exit code, and the message
// to print: nil passes; an exitError carries its code (1 for findings, a
// failed verification, a denied release, a failed test); any other error
// (bad usage, a flag value or a VIOLET_ variable refused, unreadable input,
// an interrupt) is 2. An error never passes.
func exitCode(err error) (code int, msg string) {
	var ee exitError
	switch {
	case err == nil:
		return report.ExitPass, ""
	case errors.As(err, &ee):
		return ee.code, ee.msg
	default:
		return report.ExitIncomplete, err.Error()
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root, g := newRootWith()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	code, msg := exitCode(root.Execute())
	if msg != "" {
		if code == report.ExitIncomplete {
			msg += cli.EnvNote(msg, g.env, nil)
		}
		fmt.Fprintln(stderr, "violet:", msg)
	}
	return code
}

// globalOptions are the flags of the root command, which every command
// takes, and what a command gets from them before it runs.
type globalOptions struct {
	quiet    bool
	noColor  bool
	logLevel string
	// logger writes the logs of --log-level on standard error.
	logger *slog.Logger
	// env holds the flags set from VIOLET_ variables: the variable, by
	// flag name.
	env map[string]string
}

// notice prints a remark on standard error, unless --quiet.
func (g *globalOptions) notice(cmd *cobra.Command, format string, args ...any) {
	if !g.quiet {
		fmt.Fprintf(cmd.ErrOrStderr(), format, args...)
	}
}

// progress is the progress line of the command: nil (none) unless
// standard error is a terminal and the command is not --quiet.
func (g *globalOptions) progress(cmd *cobra.Command) *cli.Progress {
	return cli.NewProgress(cmd.ErrOrStderr(), g.quiet)
}

// color reports whether a text report written to w is coloured.
func (g *globalOptions) color(w io.Writer) bool {
	return cli.Color(w, g.noColor)
}

// newRoot returns the command tree.
func newRoot() *cobra.Command {
	root, _ := newRootWith()
	return root
}

// newRootWith returns the command tree and the options of its root.
func newRootWith() (*cobra.Command, *globalOptions) {
	g := &globalOptions{logger: slog.New(slog.DiscardHandler)}
	root := &cobra.Command{
		Use:   "violet",
		Short: "Violet: security controls for machine-learning models, in the pipeline",
		Long: "Violet is an MLSecOps toolkit: it scans model files for code that runs when they are loaded (scan), signs and\n" +
			"verifies models (sign, verify, hash), writes their bill of materials (bom), checks the Python packages around\n" +
			"them (deps), finds the ML in a code base (discover), and decides on a release under a policy (gate, policy).\n\n" +
			"Every flag can also be set by an environment variable VIOLET_<FLAG> (VIOLET_FAIL_ON=critical,\n" +
			"VIOLET_FORMAT=json); the flag wins over the variable.\n\n" +
			exitCodesHelp(""),
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       programVersion(),
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.setUp(cmd)
		},
	}
	f := root.PersistentFlags()
	f.BoolVarP(&g.quiet, "quiet", "q", false, "print nothing on standard error but errors, warnings and logs: no progress, no notices (the report is still written)")
	f.BoolVar(&g.noColor, "no-color", false, "never colour the text report (NO_COLOR=1 does the same)")
	f.Var(cli.NewChoice(&g.logLevel, cli.DefaultLogLevel, cli.LogLevels...), "log-level", "log on standard error at `LEVEL` and above: debug, info, warn or error (debug explains the scan's decisions)")
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(newScanCommand(g), newGateCommand(g), newDepsCommand(g), newBOMCommand(g), newHashCommand(g), newSignCommand(g), newVerifyCommand(g), newDiscoverCommand(g), newPolicyCommand(g), newServeCommand(g), newWorkerCommand(g), newRescanCommand(g), newWatchCommand(g), newReleaseCommand(g), newAuditCommand(), newVersionCommand())
	registerCompletions(root)
	return root, g
}

// setUp applies the VIOLET_ variables to the flags the command line did
// not set, and makes the logger of --log-level. Shell completion
// (cobra's __complete) reads no variable.
func (g *globalOptions) setUp(cmd *cobra.Command) error {
	if cmd.Name() != cobra.ShellCompRequestCmd && cmd.Name() != cobra.ShellCompNoDescRequestCmd {
		env, err := cli.ApplyEnv(cmd.Flags(), nil)
		if err != nil {
			return err
		}
		g.env = env
	}
	logger, err := cli.NewLogger(cmd.ErrOrStderr(), g.logLevel)
	if err != nil {
		return err
	}
	g.logger = logger
	for flag, name := range g.env {
		logger.Info("flag set from the environment", "flag", "--"+flag, "variable", name)
	}
	return nil
}

// flagError words a flag value the flag refuses as the commands word
// their usage errors: --hash "md5": want sha256 or blake3.
func flagError(_ *cobra.Command, err error) error {
	var bad *pflag.InvalidValueError
	if errors.As(err, &bad) {
		return fmt.Errorf("--%s %q: %v", bad.GetFlag().Name, bad.GetValue(), bad.Unwrap())
	}
	return err
}

// registerCompletions makes shell completion offer the words of every flag
// that takes one of a fixed set (formats, severities, levels), in every
// command of the tree.
func registerCompletions(cmd *cobra.Command) {
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if c, ok := f.Value.(cli.Chooser); ok {
			words := c.Choices()
			cmd.RegisterFlagCompletionFunc(f.Name, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return words, cobra.ShellCompDirectiveNoFileComp
			})
		}
	})
	for _, c := range cmd.Commands() {
		registerCompletions(c)
	}
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
