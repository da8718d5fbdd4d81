package deps

import (
	"errors"
	"fmt"
	"strings"
)

// VersionSet is the set of versions a PEP 440 specifier allows, widened
// to one interval: its comparisons bound it, "!=" clauses and the
// pre-release rules are ignored. It is used to tell when every version a
// requirement allows is affected by an advisory: a wider set can only
// make that harder, never report a version the specifier excludes.
type VersionSet struct {
	Lo, Hi Bound
}

// Bound is one end of a VersionSet or of an advisory's range.
type Bound struct {
	// Set is false for no bound (below or above every version).
	Set bool
	// V is the bounding version; Inclusive says whether V itself is in.
	V         Version
	Inclusive bool
	// Locals, on an inclusive upper bound at a public version, lets in
	// V's local versions too (V+cpu sorts after V): "<=V" and "==V"
	// allow them.
	Locals bool
}

// maxSpecifierLen bounds the input of ParseSpecifier.
const maxSpecifierLen = 1024

// ParseSpecifier reads a PEP 440 version specifier (">=2.0,<2.6",
// "~=2.5.0", "==2.5.*"; empty: any version) as a VersionSet. A clause it
// cannot read is an error; "===" (arbitrary equality) is one, since it
// compares strings, not versions.
func ParseSpecifier(spec string) (VersionSet, error) {
	var s VersionSet
	if len(spec) > maxSpecifierLen {
		return s, errors.New("specifier longer than 1024 bytes")
	}
	if strings.TrimSpace(spec) == "" {
		return s, nil
	}
	for _, clause := range strings.Split(spec, ",") {
		lo, hi, err := clauseBounds(strings.TrimSpace(clause))
		if err != nil {
			return VersionSet{}, err
		}
		if lo.Set && lowerBelow(s.Lo, lo) {
			s.Lo = lo
		}
		if hi.Set && upperAbove(s.Hi, hi) {
			s.Hi = hi
		}
	}
	return s, nil
}

// specifierOperators are PEP 440's comparison operators, longest first.
var specifierOperators = []string{"===", "~=", "==", "!=", "<=", ">=", "<", ">"}

// clauseBounds returns the bounds one clause puts on the versions.
func clauseBounds(clause string) (lo, hi Bound, err error) {
	op := ""
	for _, o := range specifierOperators {
		if strings.HasPrefix(clause, o) {
			op = o
			break
		}
	}
	if op == "" {
		return lo, hi, fmt.Errorf("specifier clause %q has no operator", clause)
	}
	text := strings.TrimSpace(clause[len(op):])
	if op == "===" {
		return lo, hi, fmt.Errorf("arbitrary equality %q is not a version comparison", clause)
	}
	prefix := (op == "==" || op == "!=") && strings.HasSuffix(text, ".*")
	if prefix {
		text = strings.TrimSuffix(text, ".*")
	}
	v, err := ParseVersion(text)
	if err != nil {
		return lo, hi, fmt.Errorf("specifier clause %q: %w", clause, err)
	}
	if prefix && (v.preL != "" || v.hasPost || v.hasDev || len(v.local) > 0) {
		return lo, hi, fmt.Errorf("specifier clause %q: a prefix match takes a release only", clause)
	}
	switch op {
	case "!=":
		// excludes a version or a prefix: the interval stays as wide
	case "==":
		if prefix {
			lo, hi = prefixBounds(v, len(v.release))
			return lo, hi, nil
		}
		// "==V" allows V, and its local versions when V has none.
		return Bound{Set: true, V: v, Inclusive: true}, Bound{Set: true, V: v, Inclusive: true, Locals: len(v.local) == 0}, nil
	case "~=":
		if len(v.release) < 2 {
			return lo, hi, fmt.Errorf("specifier clause %q: ~= needs at least two release numbers", clause)
		}
		_, hi = prefixBounds(v, len(v.release)-1)
		return Bound{Set: true, V: v, Inclusive: true}, hi, nil
	case "<":
		hi = Bound{Set: true, V: v}
	case "<=":
		hi = Bound{Set: true, V: v, Inclusive: true, Locals: len(v.local) == 0}
	case ">":
		lo = Bound{Set: true, V: v}
	case ">=":
		lo = Bound{Set: true, V: v, Inclusive: true}
	}
	return lo, hi, nil
}

// prefixBounds are the bounds of "==P.*" where P is the first n release
// numbers of v: from P.dev0 (the least version with that prefix) to,
// excluded, the next prefix's .dev0.
func prefixBounds(v Version, n int) (lo, hi Bound) {
	release := append([]string(nil), v.release[:n]...)
	lo = Bound{Set: true, V: Version{epoch: v.epoch, release: release, hasDev: true, devN: "0"}, Inclusive: true}
	next := append([]string(nil), release...)
	next[n-1] = incrementDigits(next[n-1])
	hi = Bound{Set: true, V: Version{epoch: v.epoch, release: next, hasDev: true, devN: "0"}}
	return lo, hi
}

// incrementDigits adds one to a decimal number of any length.
func incrementDigits(d string) string {
	b := []byte(d)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			return string(b)
		}
		b[i] = '0'
	}
	return "1" + string(b)
}

// lowerBelow says whether lower bound a lets in versions below b's: a
// starts before b (no bound starts before every bound).
func lowerBelow(a, b Bound) bool {
	switch {
	case !a.Set:
		return b.Set
	case !b.Set:
		return false
	}
	if c := a.V.Compare(b.V); c != 0 {
		return c < 0
	}
	return a.Inclusive && !b.Inclusive
}

// upperAbove says whether upper bound a lets in versions above b's.
func upperAbove(a, b Bound) bool {
	switch {
	case !a.Set:
		return b.Set
	case !b.Set:
		return false
	}
	if a.Locals || b.Locals {
		// V's local versions lie between V and the next public version.
		if c := a.V.Public().Compare(b.V.Public()); c != 0 {
			return c > 0
		}
		return a.Locals && !b.Locals
	}
	if c := a.V.Compare(b.V); c != 0 {
		return c > 0
	}
	return a.Inclusive && !b.Inclusive
}

// Empty says whether no version is in s.
func (s VersionSet) Empty() bool {
	if !s.Lo.Set || !s.Hi.Set {
		return false
	}
	if s.Hi.Locals {
		if c := s.Lo.V.Public().Compare(s.Hi.V); c != 0 {
			return c > 0
		}
		// V's local versions are in, unless the set starts after V
		// itself (">V" excludes them).
		return !s.Lo.Inclusive && len(s.Lo.V.local) == 0
	}
	c := s.Lo.V.Compare(s.Hi.V)
	return c > 0 || c == 0 && !(s.Lo.Inclusive && s.Hi.Inclusive)
}

// Within says whether every version of s is in [lo, hi].
func (s VersionSet) Within(lo, hi Bound) bool {
	return !lowerBelow(s.Lo, lo) && !upperAbove(s.Hi, hi)
}

// String writes s as an interval, for messages and tests.
func (s VersionSet) String() string {
	var b strings.Builder
	if s.Lo.Set && s.Lo.Inclusive {
		b.WriteString("[")
	} else {
		b.WriteString("(")
	}
	if s.Lo.Set {
		b.WriteString(s.Lo.V.String())
	}
	b.WriteString(", ")
	if s.Hi.Set {
		b.WriteString(s.Hi.V.String())
	}
	if s.Hi.Locals {
		b.WriteString("+*")
	}
	if s.Hi.Set && s.Hi.Inclusive {
		b.WriteString("]")
	} else {
		b.WriteString(")")
	}
	return b.String()
}
