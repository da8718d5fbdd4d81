package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/violet-mlsecops/violet/finding"
)

// Chooser is a flag value that takes one of a fixed set of words: shell
// completion lists them.
type Chooser interface {
	pflag.Value
	// Choices are the words the value takes, in the order help lists them.
	Choices() []string
}

// Choice is a string flag value that takes one of a fixed set of words,
// checked when the flag (or its VIOLET_ variable) is set.
type Choice struct {
	value   *string
	choices []string
}

// NewChoice makes *p, set to def, a flag value that takes one of choices.
func NewChoice(p *string, def string, choices ...string) *Choice {
	*p = def
	return &Choice{value: p, choices: choices}
}

// Set sets the value, or says which words it takes.
func (c *Choice) Set(s string) error {
	if !slices.Contains(c.choices, s) {
		return fmt.Errorf("want %s", OrList(c.choices))
	}
	*c.value = s
	return nil
}

// String is the value.
func (c *Choice) String() string { return *c.value }

// Type is "string", as help shows a string flag.
func (c *Choice) Type() string { return "string" }

// Choices are the words the value takes.
func (c *Choice) Choices() []string { return c.choices }

// severityValue is the value of --fail-on: a severity name, in any case.
type severityValue struct{ value *string }

// Set checks that s names a severity.
func (v severityValue) Set(s string) error {
	if _, err := finding.ParseSeverity(s); err != nil {
		return fmt.Errorf("unknown severity: want %s", OrList(Severities()))
	}
	*v.value = s
	return nil
}

func (v severityValue) String() string    { return *v.value }
func (v severityValue) Type() string      { return "string" }
func (v severityValue) Choices() []string { return Severities() }

// Severities are the names of the severities, from the least to the most
// serious.
func Severities() []string {
	var names []string
	for s := finding.Info; s <= finding.Critical; s++ {
		names = append(names, s.String())
	}
	return names
}

// OrList writes words as "a, b or c".
func OrList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
