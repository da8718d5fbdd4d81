package deps

import (
	"fmt"
	"strings"

	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
)

// CVSS scores are computed by github.com/pandatix/go-cvss, which
// implements the formulas of FIRST's specifications (v3.0, v3.1 with its
// Roundup, v4.0 with its macro-vector tables) and checks vectors
// strictly: the header, every base metric present once, known values.

// CVSS3BaseScore computes the base score of a CVSS v3.0 or v3.1 vector
// ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" is 9.8). Temporal and
// environmental metrics in the vector are checked and ignored.
func CVSS3BaseScore(vector string) (float64, error) {
	v := strings.TrimSpace(vector)
	var score float64
	var err error
	switch {
	case strings.HasPrefix(v, "CVSS:3.1/"):
		var c *gocvss31.CVSS31
		if c, err = gocvss31.ParseVector(v); err == nil {
			score = c.BaseScore()
		}
	case strings.HasPrefix(v, "CVSS:3.0/"):
		var c *gocvss30.CVSS30
		if c, err = gocvss30.ParseVector(v); err == nil {
			score = c.BaseScore()
		}
	default:
		return 0, fmt.Errorf("not a CVSS v3 vector: %q", truncate(v))
	}
	if err != nil {
		return 0, fmt.Errorf("bad CVSS v3 vector %q: %w", truncate(v), err)
	}
	return score, nil
}

// cvss4NotBase are the metrics of a CVSS v4.0 vector that are not base
// metrics and change its score: threat and environmental (supplemental
// metrics change nothing).
var cvss4NotBase = []string{"E", "CR", "IR", "AR", "MAV", "MAC", "MAT", "MPR", "MUI", "MVC", "MVI", "MVA", "MSC", "MSI", "MSA"}

// CVSS4BaseScore computes the base score (CVSS-B) of a CVSS v4.0 vector
// ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N" is
// 9.3). Threat, environmental and supplemental metrics in the vector are
// checked and ignored.
func CVSS4BaseScore(vector string) (float64, error) {
	v := strings.TrimSpace(vector)
	if !strings.HasPrefix(v, "CVSS:4.0/") {
		return 0, fmt.Errorf("not a CVSS v4.0 vector: %q", truncate(v))
	}
	c, err := gocvss40.ParseVector(v)
	if err != nil {
		return 0, fmt.Errorf("bad CVSS v4.0 vector %q: %w", truncate(v), err)
	}
	for _, m := range cvss4NotBase {
		if err := c.Set(m, "X"); err != nil {
			return 0, fmt.Errorf("CVSS v4.0 metric %s: %w", m, err)
		}
	}
	return c.Score(), nil
}
