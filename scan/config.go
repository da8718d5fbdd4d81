package scan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

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

// LoadConfig reads a configuration file over the defaults. Unknown keys are
// errors, so that a typo never silently weakens a scan.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
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

// FindConfig returns the path of .violet.yaml in the first target that is
// a folder holding one, or "".
func FindConfig(targets []string) string {
	for _, t := range targets {
		if info, err := os.Stat(t); err == nil && info.IsDir() {
			p := filepath.Join(t, ConfigFile)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	return ""
}
