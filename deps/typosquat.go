package deps

import "strings"

var popularSet = func() map[string]bool {
	m := make(map[string]bool, len(popularPackages))
	for _, p := range popularPackages {
		m[PEP503Name(p)] = true
	}
	return m
}()

// Ways a name imitates a popular package, as returned by Typosquat.
const (
	SquatKnown       = "known typosquat"
	SquatSeparator   = "separator removed or added"
	SquatAffix       = "py/python prefix or suffix"
	SquatConfusable  = "confusable characters"
	SquatEdit        = "one character edited"
	SquatTranspose   = "adjacent characters swapped"
	minEditTargetLen = 5
)

// Typosquat says whether the package name looks like a typosquat of a
// popular ML/AI package (popularPackages): it returns the imitated
// package, how (one of the Squat* constants) and true. Names are
// compared in PEP 503 form, so "Scikit_Learn" is scikit-learn itself
// and never a squat. Popular names and known legitimate near-names
// (legitNearNames, e.g. "dataset", "scapy") are not squats. Checks, in
// order: known squats from real incidents; a name equal to a popular
// one once separators are removed ("scikitlearn"); a py/python prefix
// or suffix ("pytorch-py"); confusable characters (0/o, 1/l/i, rn/m,
// vv/w); one substitution, insertion or deletion, or a swap of two
// adjacent characters, for popular names of 5 characters or more.
func Typosquat(name string) (target string, how string, ok bool) {
	n := PEP503Name(name)
	if n == "" || popularSet[n] {
		return "", "", false
	}
	if _, legit := legitNearNames[n]; legit {
		return "", "", false
	}
	if t, ok := knownSquats[n]; ok {
		return t, SquatKnown, true
	}
	bare := strings.ReplaceAll(n, "-", "")
	for _, p := range popularPackages {
		if strings.ReplaceAll(p, "-", "") == bare {
			return p, SquatSeparator, true
		}
	}
	for _, s := range affixStrips(n) {
		if len(s) >= 3 && popularSet[s] {
			return s, SquatAffix, true
		}
	}
	sk := skeleton(n)
	for _, p := range popularPackages {
		if skeleton(p) == sk {
			return p, SquatConfusable, true
		}
	}
	for _, p := range popularPackages {
		if len(p) < minEditTargetLen {
			continue
		}
		switch editKind(n, p) {
		case 1:
			return p, SquatEdit, true
		case 2:
			return p, SquatTranspose, true
		}
	}
	return "", "", false
}

// affixStrips are n without one py/python prefix or suffix.
func affixStrips(n string) []string {
	var out []string
	for _, pre := range []string{"python-", "python", "py-", "py"} {
		if s, ok := strings.CutPrefix(n, pre); ok {
			out = append(out, s)
		}
	}
	for _, suf := range []string{"-python", "python", "-py", "py"} {
		if s, ok := strings.CutSuffix(n, suf); ok {
			out = append(out, s)
		}
	}
	return out
}

// skeleton folds characters that look alike and drops separators.
func skeleton(s string) string {
	s = strings.ReplaceAll(s, "-", "")
	s = strings.ReplaceAll(s, "rn", "m")
	s = strings.ReplaceAll(s, "vv", "w")
	return strings.Map(func(r rune) rune {
		switch r {
		case '0':
			return 'o'
		case '1', 'i', '|':
			return 'l'
		case '5':
			return 's'
		}
		return r
	}, s)
}

// editKind is 1 when a and b differ by one substitution, insertion or
// deletion, 2 when by one swap of adjacent characters, else 0.
func editKind(a, b string) int {
	if a == b {
		return 0
	}
	la, lb := len(a), len(b)
	switch {
	case la == lb:
		diff := -1
		for i := 0; i < la; i++ {
			if a[i] != b[i] {
				if diff >= 0 {
					if i == diff+1 && a[diff] == b[i] && a[i] == b[diff] && a[i+1:] == b[i+1:] {
						return 2
					}
					return 0
				}
				diff = i
			}
		}
		return 1
	case la == lb+1:
		return oneInsert(b, a)
	case lb == la+1:
		return oneInsert(a, b)
	}
	return 0
}

// oneInsert is 1 when long is short with one character inserted.
func oneInsert(short, long string) int {
	i := 0
	for i < len(short) && short[i] == long[i] {
		i++
	}
	if short[i:] == long[i+1:] {
		return 1
	}
	return 0
}
