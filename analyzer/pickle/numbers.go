package pickle

import (
	"math"
	"strconv"
	"strings"
)

// maxStrDigits is CPython's int_max_str_digits (3.11+): decimal strings
// longer than that are refused.
const maxStrDigits = 4300

// cutNUL returns b up to its first NUL: the C unpickler parses its text
// arguments as C strings.
func cutNUL(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// parseINT parses the argument of INT as _pickle.c does: PyOS_strtol in
// base 0, ending at the newline or a NUL, and failing that
// PyLong_FromString in base 0.
func parseINT(line []byte) (value, bool) {
	s := string(line)
	if n, end, ok := strtol(s); ok && (end == len(s) || s[end] == 0) {
		return value{k: kInt, n: n}, true
	}
	return pyLongFromString(cutNUL(line), 0)
}

// strtol is C's strtol in base 0 on a long: it returns the value, the index
// just after the digits (0 when none were read) and false on overflow.
func strtol(s string) (int64, int, bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	base := 10
	switch {
	case i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && i+2 < len(s) && digitValue(s[i+2]) < 16:
		base, i = 16, i+2
	case i < len(s) && s[i] == '0':
		base = 8
	}
	start := i
	var u uint64
	overflow := false
	for i < len(s) {
		d := digitValue(s[i])
		if d >= base {
			break
		}
		if u > (math.MaxUint64-uint64(d))/uint64(base) {
			overflow = true
		}
		u = u*uint64(base) + uint64(d)
		i++
	}
	if i == start {
		return 0, 0, true
	}
	if overflow || (!neg && u > math.MaxInt64) || (neg && u > 1<<63) {
		return 0, i, false
	}
	if neg {
		return -int64(u), i, true
	}
	return int64(u), i, true
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// pyLongFromString is PyLong_FromString(s, NULL, base) for base 0 or 10:
// surrounding white space, a sign, a base prefix (base 0), underscores
// between digits, no leading zeros in base 0, at most maxStrDigits decimal
// digits.
func pyLongFromString(s string, base int) (value, bool) {
	t := strings.TrimFunc(s, func(r rune) bool { return r < 0x80 && isCSpace(byte(r)) })
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	b := 10
	if base == 0 && len(t) > 1 && t[0] == '0' {
		switch t[1] {
		case 'x', 'X':
			b, t = 16, t[2:]
		case 'o', 'O':
			b, t = 8, t[2:]
		case 'b', 'B':
			b, t = 2, t[2:]
		}
		if b != 10 && strings.HasPrefix(t, "_") {
			t = t[1:]
		}
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") {
		return value{}, false
	}
	digits := strings.ReplaceAll(t, "_", "")
	for i := 0; i < len(digits); i++ {
		if digitValue(digits[i]) >= b {
			return value{}, false
		}
	}
	if base == 0 && b == 10 && len(digits) > 1 && digits[0] == '0' && strings.Trim(digits, "0") != "" {
		return value{}, false // "010" is not a base-0 literal
	}
	if b == 10 && len(digits) > maxStrDigits {
		return value{}, false
	}
	if n, err := strconv.ParseUint(digits, b, 63); err == nil {
		if neg {
			return value{k: kInt, n: -int64(n)}, true
		}
		return value{k: kInt, n: int64(n)}, true
	}
	if neg {
		digits = "-" + digits
	}
	return value{k: kBigInt, s: truncate(digits, 64)}, true
}

// parseFLOAT parses the argument of FLOAT as PyOS_string_to_double does:
// no white space, no hexadecimal, no underscores, ending at the newline or
// a NUL.
func parseFLOAT(line []byte) (float64, bool) {
	s := cutNUL(line)
	if s == "" || strings.ContainsAny(s, "_xX \t") || strings.HasPrefix(s, "0x") {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) {
		return 0, false
	}
	return f, true
}
