package deps

import (
	"strings"
	"testing"
)

// The expected scores are those of FIRST's specifications and
// calculators for the vectors, not of the library that computes them.
func TestCVSS3Vectors(t *testing.T) {
	for v, want := range map[string]float64{
		"CVSS:3.1/AC:L/AV:N/PR:N/UI:N/S:U/C:H/I:H/A:H":  9.8, // any order
		" CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H": 9.8,
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H":  10.0,
		"CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H":  7.8,
		"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N":  5.9,
		"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H":  6.5,
		// Temporal and environmental metrics do not change the base score.
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:U/CR:L/MAV:P/MA:N": 9.8,
	} {
		if got, err := CVSS3BaseScore(v); err != nil || got != want {
			t.Errorf("%s = %v %v, want %v", v, got, err, want)
		}
	}
	for _, v := range []string{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:Q",
		"cvss:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		"AV:N/AC:L/Au:N/C:P/I:P/A:P",
	} {
		if _, err := CVSS3BaseScore(v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}

// The v4.0 vectors and scores are FIRST's examples
// (first.org/cvss/v4.0/examples); where an example has threat or
// environmental metrics, the base score is that of its base metrics,
// another example.
func TestCVSS4(t *testing.T) {
	for v, want := range map[string]float64{
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N":         9.3,
		"CVSS:4.0/AV:L/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N":         7.3,
		"CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N":         4.6,
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N":         5.1,
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N":         6.9,
		"CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H":         9.4,
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N":         7.1,
		"CVSS:4.0/AV:P/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N":         5.4,
		"CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:H/SA:N/S:P/V:D": 8.3,
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N":         0,
		// Threat and environmental metrics are not the base: these
		// examples score 5.2, 6.6 and 8.1 with them.
		"CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U":                                          7.7,
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:L/E:U":                                          8.7,
		"CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:L/SC:N/SI:N/SA:N/CR:H/IR:L/AR:L/MAV:N/MAC:H/MVC:H/MVI:L/MVA:L": 8.3,
	} {
		if got, err := CVSS4BaseScore(v); err != nil || got != want {
			t.Errorf("%s = %v %v, want %v", v, got, err, want)
		}
	}
	for _, v := range []string{
		"", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:Q",
		"CVSS:4.0/AV:N/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:Z",
	} {
		if _, err := CVSS4BaseScore(v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}

// FuzzCVSS: neither scorer panics, and a score is between 0 and 10.
func FuzzCVSS(f *testing.F) {
	f.Add("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H/E:P")
	f.Add("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:N/A:N")
	f.Add("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N/E:A")
	f.Fuzz(func(t *testing.T, v string) {
		for _, score := range []func(string) (float64, error){CVSS3BaseScore, CVSS4BaseScore} {
			s, err := score(v)
			if err == nil && (s < 0 || s > 10) {
				t.Fatalf("%q scores %v", v, s)
			}
			if err != nil && !strings.Contains(err.Error(), "CVSS") {
				t.Fatalf("%q: error %v", v, err)
			}
		}
	})
}
