package discover

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// codeownersPaths are where GitHub looks for CODEOWNERS, in its order.
var codeownersPaths = []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}

// Bounds of a CODEOWNERS file.
const (
	maxCodeowners      = 1 << 20
	maxCodeownersRules = 10000
)

// ownerRule is one line of a CODEOWNERS file.
type ownerRule struct {
	re     *regexp.Regexp
	owners []string
}

// Codeowners is a parsed CODEOWNERS file.
type Codeowners struct {
	rules []ownerRule
}

// loadCodeowners reads the first CODEOWNERS file GitHub would use in base.
func loadCodeowners(base string) *Codeowners {
	for _, p := range codeownersPaths {
		f, err := os.Open(filepath.Join(base, filepath.FromSlash(p)))
		if err != nil {
			continue
		}
		data, _ := io.ReadAll(io.LimitReader(f, maxCodeowners))
		f.Close()
		return ParseCodeowners(data)
	}
	return nil
}

// ParseCodeowners parses a CODEOWNERS file. Lines it cannot read are
// skipped; a pattern with no owners unsets the owners of its paths.
func ParseCodeowners(src []byte) *Codeowners {
	c := &Codeowners{}
	for _, line := range strings.Split(string(src), "\n") {
		if len(c.rules) >= maxCodeownersRules {
			break
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		re, err := regexp.Compile(patternRegexp(fields[0]))
		if err != nil {
			continue
		}
		c.rules = append(c.rules, ownerRule{re: re, owners: fields[1:]})
	}
	return c
}

// Owners returns the owners of a slash path relative to the repository
// root: those of the last matching pattern.
func (c *Codeowners) Owners(p string) []string {
	if c == nil {
		return nil
	}
	for i := len(c.rules) - 1; i >= 0; i-- {
		if c.rules[i].re.MatchString(p) {
			return c.rules[i].owners
		}
	}
	return nil
}

// patternRegexp translates a gitignore-style CODEOWNERS pattern. A pattern
// with a slash before its end is anchored at the root, otherwise it matches
// at any depth; a pattern that matches a folder matches all below it.
func patternRegexp(p string) string {
	anchored := strings.HasPrefix(p, "/") || strings.Contains(strings.TrimSuffix(p, "/"), "/")
	p = strings.TrimPrefix(p, "/")
	dirOnly := strings.HasSuffix(p, "/")
	p = strings.TrimSuffix(p, "/")
	var b strings.Builder
	if anchored {
		b.WriteString("^")
	} else {
		b.WriteString("^(?:.*/)?")
	}
	for i := 0; i < len(p); i++ {
		switch {
		case strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case p[i] == '*':
			b.WriteString("[^/]*")
		case p[i] == '?':
			b.WriteString("[^/]")
		case p[i] == '\\' && i+1 < len(p):
			b.WriteString(regexp.QuoteMeta(p[i+1 : i+2]))
			i++
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	if dirOnly {
		b.WriteString("/.*$")
	} else {
		b.WriteString("(?:/.*)?$")
	}
	return b.String()
}
