package scan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	fswalk "github.com/violet-mlsecops/violet/internal/walk"

	"gopkg.in/yaml.v3"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// ConfigFile is the name of the configuration file looked for in a scanned
// folder.
const ConfigFile = ".violet.yaml"

// Config is the content of .violet.yaml (docs/configuration.md).
type Config struct {
	// FailOn is the severity at or above which the scan fails.
	FailOn string `yaml:"fail_on"`
	// Allow extends the pickle allowlist: module.name, module.* or module.**.
	Allow []string `yaml:"allow"`
	// Ignore lists glob patterns of paths not to scan.
	Ignore []string `yaml:"ignore"`
	// Severity overrides the severity of rules, by rule id.
	Severity map[string]string `yaml:"severity"`
	// Limits overrides the limits of the engine.
	Limits analyzer.Limits `yaml:"limits"`
}

// DefaultConfig is the configuration of a scan without a file.
func DefaultConfig() *Config {
	return &Config{Limits: analyzer.DefaultLimits()}
}

// MaxConfigSize is the largest configuration file read.
const MaxConfigSize = 1 << 20

// LoadConfig reads a configuration file over the defaults. Unknown keys are
// errors, so that a typo never silently weakens a scan. The file is read
// bounded: it must be a regular file (a FIFO or a device is refused without
// blocking) of at most MaxConfigSize bytes.
func LoadConfig(path string) (*Config, error) {
	data, err := readBounded(path, MaxConfigSize)
	if err != nil {
		return nil, err
	}
	c := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// readBounded reads a regular file of at most limit bytes. It opens the
// file without blocking (a FIFO would wait for a writer) and checks the
// type on the open descriptor, so that a file swapped after a check is
// judged as what was opened.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, info.Mode().Type())
	}
	if info.Size() > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return data, nil
}

// ProjectConfig returns the configuration of the project that dir (the
// working directory) belongs to: .violet.yaml in dir or in a parent folder
// up to the top of its git work tree (the first folder holding .git), or
// only in dir when dir is in no work tree. It returns "" when there is
// none. A configuration that is a link must resolve inside the project.
// A scanned model never configures its own scan: configuration comes from
// the person who runs Violet, here or through --config.
func ProjectConfig(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	top := fswalk.GitTop(dir)
	if top == "" {
		top = dir
	}
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, ConfigFile)
		if _, err := os.Lstat(p); err == nil {
			if err := insideProject(top, p); err != nil {
				return "", err
			}
			return p, nil
		}
		if d == top || filepath.Dir(d) == d {
			return "", nil
		}
	}
}

// insideProject refuses a configuration whose links lead out of top.
func insideProject(top, path string) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	realTop, err := filepath.EvalSymlinks(top)
	if err != nil {
		return err
	}
	if rel, err := filepath.Rel(realTop, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%s is a link to %s, outside the project %s: not read (pass it with --config if you mean it)", path, real, top)
	}
	return nil
}

// Validate checks values that the decoder cannot.
func (c *Config) Validate() error {
	if c.FailOn != "" {
		if _, err := finding.ParseSeverity(c.FailOn); err != nil {
			return fmt.Errorf("fail_on: %w", err)
		}
	}
	for rule, sev := range c.Severity {
		if _, ok := finding.Lookup(rule); !ok {
			return fmt.Errorf("severity: unknown rule %q (see docs/rules.md)", rule)
		}
		if _, err := finding.ParseSeverity(sev); err != nil {
			return fmt.Errorf("severity of %s: %w", rule, err)
		}
	}
	l := c.Limits
	if l.MaxDepth < 1 || l.MaxTotalBytes < 1 || l.MaxRatio < 1 || l.MaxMembers < 1 || l.Timeout <= 0 ||
		l.MaxPickleStack < 1 || l.MaxPickleMemo < 1 || l.RatioFloor < 0 || l.MaxPickleOps < 0 {
		return errors.New("limits: every limit must be positive")
	}
	return nil
}

// SeverityOverrides returns the parsed severity overrides.
func (c *Config) SeverityOverrides() map[string]finding.Severity {
	out := map[string]finding.Severity{}
	for rule, sev := range c.Severity {
		s, _ := finding.ParseSeverity(sev)
		out[rule] = s
	}
	return out
}

// IsConfigFile reports whether a file name is that of a Violet
// configuration, which the engine reports, and never reads, when a scanned
// target holds one.
func IsConfigFile(name string) bool {
	return name == ConfigFile || name == ".violet.yml"
}
