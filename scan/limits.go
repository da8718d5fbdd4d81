package scan

import (
	"errors"
	"fmt"
	"io"

	"github.com/violet-mlsecops/violet/finding"
)

// LimitError is returned by readers of container members when a limit of
// the engine is reached; it carries the rule of the finding to report.
type LimitError struct {
	// Rule is the finding rule id (finding.LimitSize, finding.LimitRatio).
	Rule string
	// Msg says what was exceeded.
	Msg string
}

func (e *LimitError) Error() string { return e.Msg }

// budget is the shared account of one file on disk: every decompressed byte
// of every member inside it is counted here.
type budget struct {
	maxTotal int64
	total    int64
	members  int
}

// countingReader counts the bytes a decompressor produces against the
// file's budget and the member's compression ratio.
type countingReader struct {
	r          io.Reader
	b          *budget
	out        int64
	compressed int64 // -1 when unknown
	maxRatio   float64
	floor      int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.out += int64(n)
	c.b.total += int64(n)
	if c.b.total > c.b.maxTotal {
		return n, &LimitError{Rule: finding.LimitSize, Msg: fmt.Sprintf("decompressed content exceeds %d bytes", c.b.maxTotal)}
	}
	if c.compressed > 0 && c.out > c.floor && float64(c.out)/float64(c.compressed) > c.maxRatio {
		return n, &LimitError{Rule: finding.LimitRatio, Msg: fmt.Sprintf("member expands more than %.0f times (%d bytes from %d)", c.maxRatio, c.out, c.compressed)}
	}
	return n, err
}

// limitRule returns the rule of a limit error inside err, or "".
func limitRule(err error) (string, string) {
	var le *LimitError
	if errors.As(err, &le) {
		return le.Rule, le.Msg
	}
	return "", ""
}
