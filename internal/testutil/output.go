package testutil

import (
	"context"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// Output is an analyzer.Output for tests of one analyzer: it keeps the
// findings and the formats, and accepts members without analyzing them.
type Output struct {
	// Findings are the findings reported, in order.
	Findings []finding.Finding
	// Formats are the format names reported.
	Formats []string
}

// Report keeps f.
func (o *Output) Report(f finding.Finding) { o.Findings = append(o.Findings, f) }

// Member accepts m without analyzing it.
func (o *Output) Member(context.Context, analyzer.Member) error { return nil }

// Format keeps the format name.
func (o *Output) Format(name string) { o.Formats = append(o.Formats, name) }
