package store

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxEvidenceSize is the largest evidence report the store accepts, in
// bytes. Callers (the HTTP server) check it while reading an upload, so as
// never to hold more; AddEvidence enforces it again.
const MaxEvidenceSize = 32 << 20

// MaxVersionFiles is the most files one model version may list.
const MaxVersionFiles = 100_000

// MaxFindings is the most findings one RecordFindings call may carry.
const MaxFindings = 100_000

// textRule bounds one kind of text argument.
type textRule struct {
	min, max  int            // length in bytes
	multiline bool           // newlines and tabs allowed
	pattern   *regexp.Regexp // when set, the whole value must match
}

// textRules are the bounds of every text the store takes from a caller.
var textRules = map[string]textRule{
	"team name":        {min: 1, max: 128},
	"login":            {min: 1, max: 128, pattern: regexp.MustCompile(`^[a-z0-9][a-z0-9._@+-]*$`)},
	"display name":     {max: 256},
	"token name":       {min: 1, max: 128},
	"model name":       {min: 1, max: 256},
	"source ref":       {min: 1, max: 2048},
	"label":            {max: 256},
	"scanner version":  {max: 128},
	"scan location":    {min: 1, max: 2048},
	"policy digest":    {max: 128},
	"relation":         {min: 1, max: 64},
	"lineage name":     {min: 1, max: 512},
	"lineage ref":      {max: 2048},
	"ecosystem":        {min: 1, max: 64},
	"package name":     {min: 1, max: 256},
	"package version":  {max: 256},
	"specifier":        {max: 1024},
	"source":           {min: 1, max: 256},
	"release title":    {min: 1, max: 256},
	"course title":     {min: 1, max: 256},
	"vendor":           {min: 1, max: 256},
	"product":          {min: 1, max: 256},
	"risk title":       {min: 1, max: 256},
	"risk text":        {max: 8192, multiline: true},
	"threat text":      {max: 8192, multiline: true},
	"control":          {min: 1, max: 128, pattern: regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`)},
	"incident title":   {min: 1, max: 256},
	"incident summary": {max: 8192, multiline: true},
	"event text":       {min: 1, max: 8192, multiline: true},
	"who":              {min: 1, max: 256},
	"drill findings":   {min: 1, max: 16384, multiline: true},
	"follow-up action": {min: 1, max: 1024},
	"signer":           {min: 1, max: 1024},
	"signer name":      {min: 1, max: 128},
	"signer identity":  {min: 1, max: 1024},
	"signer issuer":    {min: 1, max: 1024},
	"owner":            {min: 1, max: 512},
	"asset":            {min: 1, max: 4096},
	"file path":        {min: 1, max: 4096},
	"rule":             {min: 1, max: 128, pattern: regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`)},
	"location":         {max: 4096},
	"message":          {max: 8192, multiline: true},
	"reason":           {max: 8192, multiline: true},
	"actor":            {min: 1, max: 256},
	"remote":           {max: 256},
	"password hash": {min: 1, max: 512,
		pattern: regexp.MustCompile(`^\$argon2id\$v=19\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$`)},
}

// checkText checks v against the rule of field: valid UTF-8, no control
// characters (but newlines and tabs where multiline), no surrounding
// spaces, within the lengths, matching the pattern.
func checkText(field, v string) error {
	r, ok := textRules[field]
	if !ok {
		panic("store: no text rule for " + field)
	}
	bad := func(why string) error { return fmt.Errorf("%s %q: %s: %w", field, clip(v), why, ErrInvalid) }
	switch {
	case len(v) < r.min:
		return bad("empty")
	case len(v) > r.max:
		return bad(fmt.Sprintf("longer than %d bytes", r.max))
	case !utf8.ValidString(v):
		return bad("not UTF-8")
	case strings.TrimSpace(v) != v && !r.multiline:
		return bad("leading or trailing space")
	}
	for _, c := range v {
		if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) && !(r.multiline && (c == '\n' || c == '\t')) {
			return bad("control character")
		}
	}
	if r.pattern != nil && !r.pattern.MatchString(v) {
		return bad("not of the expected form")
	}
	return nil
}

// clip shortens a value for an error message.
func clip(v string) string {
	if len(v) > 64 {
		return v[:64] + "..."
	}
	return v
}

// sha256Hex matches a lower-case hex SHA-256.
var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkSHA256 checks a lower-case hex SHA-256.
func checkSHA256(field, v string) error {
	if !sha256Hex.MatchString(v) {
		return fmt.Errorf("%s %q: not a lower-case hex SHA-256: %w", field, clip(v), ErrInvalid)
	}
	return nil
}

// checkDigest checks a manifest digest: "sha256:" and 64 lower-case hex.
func checkDigest(v string) error {
	hexPart, ok := strings.CutPrefix(v, "sha256:")
	if !ok || !sha256Hex.MatchString(hexPart) {
		return fmt.Errorf("manifest digest %q: want sha256:<64 lower-case hex>: %w", clip(v), ErrInvalid)
	}
	return nil
}

// checkFilePath checks a model file's path: relative, POSIX, clean ("." for
// a single-file model), without "..".
func checkFilePath(p string) error {
	if err := checkText("file path", p); err != nil {
		return err
	}
	if p == "." {
		return nil
	}
	if strings.HasPrefix(p, "/") || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") ||
		strings.Contains(p, "\\") {
		return fmt.Errorf("file path %q: not a clean relative POSIX path inside the model: %w", clip(p), ErrInvalid)
	}
	return nil
}

// validActor checks who makes a change.
func validActor(a Actor) error {
	if err := checkText("actor", a.Name); err != nil {
		return err
	}
	return checkText("remote", a.Remote)
}

// oneOf checks that v is one of allowed.
func oneOf(field, v string, allowed []string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%s %q: want one of %s: %w", field, clip(v), strings.Join(allowed, ", "), ErrInvalid)
}
