package deps

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// CVSS3BaseScore computes the base score of a CVSS v3.0 or v3.1 vector
// ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" is 9.8), following the
// formulas of the CVSS v3.1 specification, section 7.1, with its
// Roundup (Appendix A). Temporal and environmental metrics in the
// vector are accepted and ignored.
func CVSS3BaseScore(vector string) (float64, error) {
	parts := strings.Split(strings.TrimSpace(vector), "/")
	if len(parts) < 9 || (parts[0] != "CVSS:3.1" && parts[0] != "CVSS:3.0") {
		return 0, fmt.Errorf("not a CVSS v3 vector: %q", vector)
	}
	m := map[string]string{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, ":")
		if !ok {
			return 0, fmt.Errorf("bad CVSS v3 metric %q", p)
		}
		if _, dup := m[k]; dup {
			return 0, fmt.Errorf("repeated CVSS v3 metric %q", k)
		}
		m[k] = v
	}
	weight := func(k string, w map[string]float64) (float64, error) {
		x, ok := w[m[k]]
		if !ok {
			return 0, fmt.Errorf("bad or missing CVSS v3 metric %s:%s", k, m[k])
		}
		return x, nil
	}
	var errs []error
	get := func(k string, w map[string]float64) float64 {
		x, err := weight(k, w)
		errs = append(errs, err)
		return x
	}
	changed := m["S"] == "C"
	if m["S"] != "C" && m["S"] != "U" {
		return 0, fmt.Errorf("bad or missing CVSS v3 metric S:%s", m["S"])
	}
	av := get("AV", map[string]float64{"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2})
	ac := get("AC", map[string]float64{"L": 0.77, "H": 0.44})
	prW := map[string]float64{"N": 0.85, "L": 0.62, "H": 0.27}
	if changed {
		prW = map[string]float64{"N": 0.85, "L": 0.68, "H": 0.5}
	}
	pr := get("PR", prW)
	ui := get("UI", map[string]float64{"N": 0.85, "R": 0.62})
	cia := map[string]float64{"H": 0.56, "L": 0.22, "N": 0}
	c, i, a := get("C", cia), get("I", cia), get("A", cia)
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	iss := 1 - (1-c)*(1-i)*(1-a)
	var impact float64
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	} else {
		impact = 6.42 * iss
	}
	expl := 8.22 * av * ac * pr * ui
	if impact <= 0 {
		return 0, nil
	}
	if changed {
		return roundup(math.Min(1.08*(impact+expl), 10)), nil
	}
	return roundup(math.Min(impact+expl, 10)), nil
}

// roundup is CVSS v3.1's Roundup: the smallest number with one decimal
// that is at least x, computed on integers to avoid float artefacts.
func roundup(x float64) float64 {
	n := int64(math.Round(x * 100000))
	if n%10000 == 0 {
		return float64(n) / 100000
	}
	return float64(n/10000+1) / 10
}
