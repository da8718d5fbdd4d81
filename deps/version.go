package deps

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// Version is a parsed PEP 440 version
// (https://packaging.python.org/en/latest/specifications/version-specifiers/).
// Its zero value is not a valid version; use ParseVersion.
type Version struct {
	epoch   string   // digits, leading zeros stripped ("0" by default)
	release []string // digits, leading zeros stripped, trailing zeros kept
	preL    string   // "", "a", "b" or "rc"
	preN    string
	postN   string // "" when there is no post-release
	hasPost bool
	devN    string
	hasDev  bool
	local   []string // lower-case segments; digits with leading zeros stripped
}

// The canonical PEP 440 pattern (Appendix B of PEP 440, as in
// packaging.version.VERSION_PATTERN), anchored, case-insensitive.
var pep440 = regexp.MustCompile(`(?i)^\s*v?` +
	`(?:(?P<epoch>[0-9]+)!)?` +
	`(?P<release>[0-9]+(?:\.[0-9]+)*)` +
	`(?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?` +
	`(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?` +
	`(?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?` +
	`(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$`)

// maxVersionLen bounds the input of ParseVersion.
const maxVersionLen = 256

// ErrInvalidVersion is returned (wrapped) for a string that is not a
// PEP 440 version.
var ErrInvalidVersion = errors.New("invalid PEP 440 version")

// ParseVersion parses a PEP 440 version, accepting every spelling the
// specification normalizes: case, a leading "v", surrounding white
// space, "alpha"/"beta"/"c"/"pre"/"preview" for a/b/rc, "rev"/"r" and
// "-N" for post-releases, implicit numbers ("1.0rc" = "1.0rc0") and
// "-", "_", "." separators ("1.0-rc.1" = "1.0rc1"). Legacy versions
// that are not PEP 440 are rejected, as modern pip and packaging do.
func ParseVersion(s string) (Version, error) {
	if len(s) > maxVersionLen {
		return Version{}, errors.Join(ErrInvalidVersion, errors.New("version longer than 256 bytes"))
	}
	m := pep440.FindStringSubmatch(s)
	if m == nil {
		return Version{}, &versionError{s}
	}
	g := func(name string) string { return m[pep440.SubexpIndex(name)] }
	v := Version{epoch: "0"}
	if e := g("epoch"); e != "" {
		v.epoch = trimZeros(e)
	}
	for _, r := range strings.Split(g("release"), ".") {
		v.release = append(v.release, trimZeros(r))
	}
	if l := strings.ToLower(g("pre_l")); l != "" {
		switch l {
		case "alpha":
			l = "a"
		case "beta":
			l = "b"
		case "c", "pre", "preview":
			l = "rc"
		}
		v.preL, v.preN = l, trimZeros(g("pre_n"))
	}
	if g("post") != "" {
		v.hasPost = true
		n := g("post_n1")
		if n == "" {
			n = g("post_n2")
		}
		v.postN = trimZeros(n)
	}
	if g("dev") != "" {
		v.hasDev, v.devN = true, trimZeros(g("dev_n"))
	}
	if l := g("local"); l != "" {
		for _, p := range strings.FieldsFunc(strings.ToLower(l), func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
			if isDigits(p) {
				p = trimZeros(p)
			}
			v.local = append(v.local, p)
		}
	}
	return v, nil
}

type versionError struct{ s string }

func (e *versionError) Error() string { return "invalid PEP 440 version " + strconv.Quote(e.s) }
func (e *versionError) Unwrap() error { return ErrInvalidVersion }

// trimZeros strips leading zeros of a digit string; "" and "000" give "0".
func trimZeros(d string) string {
	d = strings.TrimLeft(d, "0")
	if d == "" {
		return "0"
	}
	return d
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// cmpNum compares two digit strings without leading zeros numerically,
// for any length.
func cmpNum(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// String is the normalized form of the version ("1!2.0rc1.post3.dev4+ubuntu.1").
func (v Version) String() string {
	var b strings.Builder
	if v.epoch != "0" {
		b.WriteString(v.epoch + "!")
	}
	b.WriteString(strings.Join(v.release, "."))
	if v.preL != "" {
		b.WriteString(v.preL + v.preN)
	}
	if v.hasPost {
		b.WriteString(".post" + v.postN)
	}
	if v.hasDev {
		b.WriteString(".dev" + v.devN)
	}
	if len(v.local) > 0 {
		b.WriteString("+" + strings.Join(v.local, "."))
	}
	return b.String()
}

// Public is the version without its local segment.
func (v Version) Public() Version {
	v.local = nil
	return v
}

// IsPrerelease says whether the version is a pre- or dev-release.
func (v Version) IsPrerelease() bool { return v.preL != "" || v.hasDev }

// Compare orders two versions as PEP 440 does: -1, 0 or +1. Release
// segments are compared with zero padding (1.0 == 1.0.0); dev-releases
// sort before pre-releases, which sort before the release, which sorts
// before its post-releases; a local version sorts after its public one.
func (v Version) Compare(w Version) int {
	if c := cmpNum(v.epoch, w.epoch); c != 0 {
		return c
	}
	for i := 0; i < max(len(v.release), len(w.release)); i++ {
		a, b := "0", "0"
		if i < len(v.release) {
			a = v.release[i]
		}
		if i < len(w.release) {
			b = w.release[i]
		}
		if c := cmpNum(a, b); c != 0 {
			return c
		}
	}
	if c := cmpPre(v, w); c != 0 {
		return c
	}
	// Post: none sorts first.
	switch {
	case v.hasPost && !w.hasPost:
		return 1
	case !v.hasPost && w.hasPost:
		return -1
	case v.hasPost:
		if c := cmpNum(v.postN, w.postN); c != 0 {
			return c
		}
	}
	// Dev: none sorts last.
	switch {
	case v.hasDev && !w.hasDev:
		return -1
	case !v.hasDev && w.hasDev:
		return 1
	case v.hasDev:
		if c := cmpNum(v.devN, w.devN); c != 0 {
			return c
		}
	}
	return cmpLocal(v.local, w.local)
}

// preKey ranks the pre-release phase: a dev-release of a final release
// (1.0.dev1) sorts before every pre-release (1.0a1); no pre-release
// sorts after every pre-release.
func preKey(v Version) int {
	switch {
	case v.preL == "" && !v.hasPost && v.hasDev:
		return -1
	case v.preL == "":
		return 3
	case v.preL == "a":
		return 0
	case v.preL == "b":
		return 1
	default:
		return 2
	}
}

func cmpPre(v, w Version) int {
	kv, kw := preKey(v), preKey(w)
	if kv != kw {
		if kv < kw {
			return -1
		}
		return 1
	}
	if kv >= 0 && kv <= 2 {
		return cmpNum(v.preN, w.preN)
	}
	return 0
}

// cmpLocal: no local sorts first; segments compare numerically when
// both are numbers, a number sorts after a string, strings compare
// lexically; a longer local with an equal prefix sorts after.
func cmpLocal(a, b []string) int {
	for i := 0; i < min(len(a), len(b)); i++ {
		na, nb := isDigits(a[i]), isDigits(b[i])
		var c int
		switch {
		case na && nb:
			c = cmpNum(a[i], b[i])
		case na:
			c = 1
		case nb:
			c = -1
		default:
			c = strings.Compare(a[i], b[i])
		}
		if c != 0 {
			return c
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// CompareVersions parses and compares two PEP 440 versions.
func CompareVersions(a, b string) (int, error) {
	va, err := ParseVersion(a)
	if err != nil {
		return 0, err
	}
	vb, err := ParseVersion(b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}
