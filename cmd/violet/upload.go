package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/violet-mlsecops/violet/jobs"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/server"
	"github.com/violet-mlsecops/violet/store"
)

// TokenEnv is the variable that holds the API token of --upload: a secret,
// so it is no flag (a flag shows in the process list and shell history).
const TokenEnv = "VIOLET_TOKEN"

// uploadOptions are the flags that upload a report to a Violet server.
type uploadOptions struct {
	url, model string
	// location is the remote location (hf://, s3://, oci://) the target
	// folder was fetched from; "" for a local target.
	location string
	// version is the target's version when the command knows it without a
	// folder to hash (a remote model verified, then removed, or never
	// pulled); nil: hashed from the target.
	version *uploadVersion
}

// uploadVersion is a version's digest and files, as hashVersion gives them.
type uploadVersion struct {
	digest string
	files  []store.File
}

func (u *uploadOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&u.url, "upload", "", "upload the JSON report to the Violet server at `URL` (token from "+TokenEnv+"); a failed upload fails the command")
	f.StringVar(&u.model, "upload-model", "", "with --upload: the model's `NAME` on the server (default: the folder's or file's name)")
}

// validate checks the upload flags against the targets.
func (u *uploadOptions) validate(targets []string) error {
	if u.url == "" {
		if u.model != "" {
			return errors.New("--upload-model needs --upload")
		}
		return nil
	}
	if p, err := url.Parse(u.url); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("--upload %q: want http(s)://host[:port]", u.url)
	}
	if len(targets) != 1 || targets[0] == "-" {
		return fmt.Errorf("--upload uploads the report of one model folder or file: %d targets given", len(targets))
	}
	if os.Getenv(TokenEnv) == "" {
		return fmt.Errorf("--upload needs the API token in %s", TokenEnv)
	}
	return nil
}

// upload sends the report of target, of the evidence kind, with the
// version's digest and files as violet hash computes them. A failure is
// an error naming the server's code.
func (u *uploadOptions) upload(ctx context.Context, cmd *cobra.Command, g *globalOptions, target, kind string, rep []byte) error {
	var digest string
	var files []store.File
	var err error
	if u.version != nil {
		digest, files = u.version.digest, u.version.files
	} else if digest, files, err = hashVersion(ctx, target); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	name := u.model
	srcKind, ref, defaultName := store.SourcePath, absolute(target), filepath.Base(absolute(target))
	if u.location != "" {
		srcKind, ref, defaultName = sourceRef(u.location)
	}
	if name == "" {
		name = defaultName
	}
	c := &server.Client{BaseURL: u.url, Token: os.Getenv(TokenEnv)}
	res, err := c.Upload(ctx, server.Upload{Model: name, Source: store.Model{SourceKind: srcKind, SourceRef: ref},
		Digest: digest, Files: files, Kind: kind, Report: rep})
	if err != nil {
		return err
	}
	verb := "Uploaded"
	if !res.Created {
		verb = "Already on the server:"
	}
	g.notice(cmd, "%s the %s report of %s (version %s, evidence %d) to %s\n", verb, kind, name, digest, res.Evidence, u.url)
	return nil
}

// uploadReport uploads the JSON report rep of target, of the evidence
// kind, for a command whose report gave the exit code code: a failed
// upload is exit 2, except that 1 (findings) wins, as for every error of
// scan and deps. It is never ignored: the message names the server's
// code.
func (u *uploadOptions) uploadReport(ctx context.Context, cmd *cobra.Command, g *globalOptions, target, kind string, r *report.Report, code int) error {
	var b bytes.Buffer
	if err := report.WriteJSON(&b, r); err != nil {
		return err
	}
	return u.uploadJSON(ctx, cmd, g, target, kind, b.Bytes(), code)
}

// uploadJSON uploads the JSON report rep of target, of the evidence kind,
// for a command whose result gave the exit code code, as uploadReport.
func (u *uploadOptions) uploadJSON(ctx context.Context, cmd *cobra.Command, g *globalOptions, target, kind string, rep []byte, code int) error {
	err := u.upload(ctx, cmd, g, target, kind, rep)
	if err == nil {
		return nil
	}
	if code == report.ExitFindings {
		return exitError{code: code, msg: "upload failed: " + err.Error()}
	}
	return exitError{code: report.ExitIncomplete, msg: "upload failed: " + err.Error()}
}

// hashVersion returns the version of the model at target as the server
// knows it: the manifest digest that violet hash prints (the signature
// file left out) and the files with their sizes.
func hashVersion(ctx context.Context, target string) (string, []store.File, error) {
	abs, err := filepath.Abs(target)
	if err != nil {
		return "", nil, err
	}
	return jobs.HashVersion(ctx, abs)
}
