package cli

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"github.com/violet-mlsecops/violet/deps"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/scan"
	"github.com/violet-mlsecops/violet/sign"
)

// OutputOptions are --format (-f) and --output (-o): what a command
// writes, and where.
type OutputOptions struct {
	// Format is the value of --format.
	Format string
	// Output is the file of --output; "" is standard output.
	Output string
	// Formats are the values --format takes, the default first; none:
	// the command has no --format (hash writes JSON only).
	Formats []string
	// FormatUsage and OutputUsage are the help texts of the two flags.
	FormatUsage, OutputUsage string
}

// AddFlags adds --format (when o has Formats) and --output to fs.
func (o *OutputOptions) AddFlags(fs *pflag.FlagSet) {
	if len(o.Formats) > 0 {
		fs.VarP(NewChoice(&o.Format, o.Formats[0], o.Formats...), "format", "f", o.FormatUsage)
	}
	fs.StringVarP(&o.Output, "output", "o", "", o.OutputUsage)
}

// Validate checks the format (the flag checks it when set; this checks a
// value set in code too).
func (o *OutputOptions) Validate() error {
	if len(o.Formats) > 0 && !slices.Contains(o.Formats, o.Format) {
		return fmt.Errorf("--format %q: want %s", o.Format, OrList(o.Formats))
	}
	return nil
}

// Write writes data to the --output file, or to stdout without one.
func (o *OutputOptions) Write(stdout io.Writer, data []byte) error {
	if o.Output == "" {
		_, err := stdout.Write(data)
		return err
	}
	return os.WriteFile(o.Output, data, 0o644)
}

// FailOnOptions is --fail-on: the severity at or above which a finding
// fails the command (exit 1).
type FailOnOptions struct {
	// FailOn is the severity's name, "" when the flag is not given.
	FailOn string
}

// AddFlags adds --fail-on to fs.
func (o *FailOnOptions) AddFlags(fs *pflag.FlagSet) {
	fs.Var(severityValue{&o.FailOn}, "fail-on", "fail (exit 1) on findings at or above `SEVERITY`: info, low, medium, high, critical (default high)")
}

// Validate checks the severity's name.
func (o *FailOnOptions) Validate() error {
	if o.FailOn == "" {
		return nil
	}
	_, err := finding.ParseSeverity(o.FailOn)
	if err != nil {
		return fmt.Errorf("--fail-on: %w", err)
	}
	return nil
}

// Threshold is the severity of --fail-on, else configured (the fail_on of
// .violet.yaml, "" for none), else high.
func (o *FailOnOptions) Threshold(configured string) (finding.Severity, error) {
	if err := o.Validate(); err != nil {
		return 0, err
	}
	for _, s := range []string{o.FailOn, configured} {
		if s != "" {
			sev, err := finding.ParseSeverity(s)
			if err != nil {
				return 0, fmt.Errorf("fail_on: %w", err)
			}
			return sev, nil
		}
	}
	return finding.High, nil
}

// ConfigOptions is --config: the .violet.yaml a command reads.
type ConfigOptions struct {
	// Path is the file of --config, "" when the flag is not given.
	Path string
	// Usage is the help text of the flag: it says what the command reads
	// from the file.
	Usage string
}

// AddFlags adds --config to fs.
func (o *ConfigOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Path, "config", "", o.Usage)
}

// Validate checks nothing the flag can get wrong: the file is read by Load.
func (o *ConfigOptions) Validate() error { return nil }

// Load reads the configuration: the file of --config, else the .violet.yaml
// of the project of the working directory (scan.ProjectConfig), else the
// defaults. path is the absolute path of the file read, "" when none was.
func (o *ConfigOptions) Load() (cfg *scan.Config, path string, err error) {
	file := o.Path
	if file == "" {
		if file, err = scan.ProjectConfig("."); err != nil || file == "" {
			return scan.DefaultConfig(), "", err
		}
	}
	if cfg, err = scan.LoadConfig(file); err != nil {
		return nil, "", err
	}
	if path, err = filepath.Abs(file); err != nil {
		return nil, "", err
	}
	return cfg, path, nil
}

// SigningKeyOptions are --key, --cert and --chain: an ECDSA private key,
// and for certificate signing its certificate and the chain to the root.
type SigningKeyOptions struct {
	// Key, Cert and Chain are the files of the flags.
	Key, Cert string
	Chain     []string
	// Purpose starts the help texts ("with --attest: "), for a command
	// that signs only when asked.
	Purpose string
}

// AddFlags adds --key, --cert and --chain to fs.
func (o *SigningKeyOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Key, "key", "", o.Purpose+"the ECDSA private key, PEM (`FILE`)")
	fs.StringVar(&o.Cert, "cert", "", o.Purpose+"the signing certificate of the key, PEM (`FILE`)")
	fs.StringSliceVar(&o.Chain, "chain", nil, o.Purpose+"the certificates from the signing certificate up to the root, PEM (`FILE`); repeatable")
}

// Given reports whether any of the flags is given.
func (o *SigningKeyOptions) Given() bool {
	return o.Key != "" || o.Cert != "" || len(o.Chain) > 0
}

// Validate checks that the flags name a key, with the certificate that a
// chain needs.
func (o *SigningKeyOptions) Validate() error {
	switch {
	case o.Key == "":
		return errors.New("no --key: --cert and --chain are the certificates of a key")
	case o.Cert == "" && len(o.Chain) > 0:
		return errors.New("--chain needs --cert")
	case slices.Contains(o.Chain, ""):
		return errors.New("--chain: an empty path")
	}
	return nil
}

// Signer reads the key, and the certificates when --cert is given.
func (o *SigningKeyOptions) Signer() (sign.Signer, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(o.Key)
	if err != nil {
		return nil, err
	}
	key, err := sign.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Key, err)
	}
	if o.Cert == "" {
		return sign.NewKeySigner(key)
	}
	leaf, err := ReadCertificates(o.Cert)
	if err != nil {
		return nil, err
	}
	chain, err := ReadAllCertificates(o.Chain)
	if err != nil {
		return nil, err
	}
	return sign.NewCertificateSigner(key, leaf[0], chain)
}

// ReadAllCertificates reads the PEM certificates of every file.
func ReadAllCertificates(paths []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, p := range paths {
		cs, err := ReadCertificates(p)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// ReadCertificates reads the PEM certificates of a file.
func ReadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cs, err := sign.ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cs, nil
}

// OSVOptions are --osv-db, --online and --cache-dir: where the
// vulnerability data of a dependency check comes from.
type OSVOptions struct {
	// DB is the offline database of --osv-db.
	DB string
	// Online queries the OSV API.
	Online bool
	// CacheDir is the cache of the online answers.
	CacheDir string
}

// AddFlags adds --osv-db, --online and --cache-dir to fs.
func (o *OSVOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.DB, "osv-db", "", "the OSV database: the PyPI all.zip export, or a folder of OSV JSON records (`PATH`)")
	fs.BoolVar(&o.Online, "online", false, "query the OSV API (api.osv.dev) for the pinned packages, with a local cache")
	fs.StringVar(&o.CacheDir, "cache-dir", "", "the cache of --online answers (default: the user cache folder, violet/osv)")
}

// Validate refuses contradictory flags, before anything is read.
func (o *OSVOptions) Validate() error {
	switch {
	case o.DB != "" && o.Online:
		return errors.New("use --osv-db or --online, not both")
	case o.CacheDir != "" && !o.Online:
		return errors.New("--cache-dir is the cache of --online: use it with --online")
	}
	return nil
}

// Source names the data the flags choose: "offline", "online", or ""
// without any.
func (o *OSVOptions) Source() string {
	switch {
	case o.DB != "":
		return "offline"
	case o.Online:
		return "online"
	}
	return ""
}

// Querier is the vulnerability source the flags choose, or nil. The
// offline database is read when the packages to check are known (its
// records of those packages only); a path that does not exist fails now.
func (o *OSVOptions) Querier() (deps.Querier, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	switch {
	case o.DB != "":
		if _, err := os.Stat(o.DB); err != nil {
			return nil, fmt.Errorf("osv database: %w", err)
		}
		return &deps.OfflineDB{Path: o.DB}, nil
	case o.Online:
		dir := o.CacheDir
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
