package report

import (
	"compress/gzip"
	"strings"
	"unicode/utf8"
)

// GitHub code scanning rejects a SARIF file over one of these limits
// (docs.github.com, "SARIF support for code scanning" and "SARIF results
// exceed limit"). WriteSARIF stays within them; the tests check every file
// it writes against them.
const (
	githubMaxRuns        = 20         // runs per file
	githubMaxResults     = 25_000     // results per run
	githubMaxRules       = 25_000     // rules per run
	githubMaxExtensions  = 100        // tool extensions per run
	githubMaxLocations   = 1_000      // locations per result
	githubMaxTags        = 20         // tags per rule
	githubMaxRuleName    = 255        // characters of a rule's name
	githubMaxDescription = 1_024      // characters of a rule's short and full descriptions
	githubMaxGzipBytes   = 10_000_000 // bytes of the gzip-compressed file (10 MB)
)

// Violet's own bounds on what one SARIF file carries, so that no input, however
// crafted, can push the file over GitHub's limits. The JSON report keeps
// everything whole.
const (
	// sarifSizeBudget is what the compressed file may weigh: a margin under
	// githubMaxGzipBytes.
	sarifSizeBudget = 9_000_000
	// maxTextBytes bounds a message, an evidence property and the name of
	// a member.
	maxTextBytes = 2_048
	// maxNotifications bounds the notifications of files that could not be
	// fully analyzed; one more says how many were left out.
	maxNotifications = 500
	// maxTargets bounds the targets listed in the invocation's properties.
	maxTargets = 500
)

// clip returns s cut to at most n bytes (n ≥ 3) at a character boundary,
// with "…" in place of what was cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.ToValidUTF8(s[:max(cut, 0)], "") + ellipsis
}

// gzipSize returns the size of data compressed with gzip at its fastest
// level, which compresses no better than the default level the upload
// action uses: the size is an upper bound of what GitHub receives.
func gzipSize(data []byte) int64 {
	var n countingWriter
	zw, _ := gzip.NewWriterLevel(&n, gzip.BestSpeed)
	_, _ = zw.Write(data) // a countingWriter never fails
	zw.Close()
	return int64(n)
}

// countingWriter counts the bytes written to it.
type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
