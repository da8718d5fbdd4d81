package finding_test

import (
	"testing"

	"github.com/violet-mlsecops/violet/finding"
)

func TestLocationString(t *testing.T) {
	for _, tc := range []struct {
		loc  finding.Location
		want string
	}{
		{finding.Location{Path: "m.pt", Offset: -1}, "m.pt"},
		{finding.Location{Path: "m.pt", Member: []string{"archive/data.pkl"}, Offset: 58}, "m.pt!archive/data.pkl@58"},
		{finding.Location{Path: "requirements.txt", Offset: -1, Line: 12}, "requirements.txt:12"},
	} {
		if got := tc.loc.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.loc, got, tc.want)
		}
	}
}
