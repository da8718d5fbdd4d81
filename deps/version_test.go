package deps

import (
	"errors"
	"testing"
)

func TestVersionOrder(t *testing.T) {
	// PEP 440's own ordering example (section "Summary of permitted
	// suffixes and relative ordering"), then epochs and local versions.
	order := []string{
		"1.dev0", "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
		"1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345",
		"1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5",
		"1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1",
		"4.37.2", "4.37.2.post1", "4.38.0.dev0", "4.38.0rc1", "4.38.0", "4.38.0+local",
		"1!0.1", "1!1.0",
	}
	for i := range order {
		for j := range order {
			c, err := CompareVersions(order[i], order[j])
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if c != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", order[i], order[j], c, want)
			}
		}
	}
}

func TestVersionEqualAndNormalize(t *testing.T) {
	for _, tc := range [][3]string{
		{"1.0", "1.0.0", "1.0"},
		{"1.0rc1", "1.0-rc.1", "1.0rc1"},
		{"1.0c1", "1.0RC1", "1.0rc1"},
		{"1.0alpha1", "1.0a1", "1.0a1"},
		{"1.0-beta_2", "1.0b2", "1.0b2"},
		{"1.0preview3", "1.0rc3", "1.0rc3"},
		{"1.0-1", "1.0.post1", "1.0.post1"},
		{"1.0rev", "1.0.post0", "1.0.post0"},
		{"1.0.r2", "1.0.post2", "1.0.post2"},
		{"1.0-dev", "1.0.dev0", "1.0.dev0"},
		{"v1.0", " 1.0 ", "1.0"},
		{"0!1.0", "1.0", "1.0"},
		{"01.002", "1.2", "1.2"},
		{"1.0+Ubuntu-1", "1.0+ubuntu.1", "1.0+ubuntu.1"},
		{"1.0+01", "1.0+1", "1.0+1"},
		{"1.0RC", "1.0rc0", "1.0rc0"},
		{"99999999999999999999999.1", "99999999999999999999999.1.0", "99999999999999999999999.1"},
	} {
		c, err := CompareVersions(tc[0], tc[1])
		if err != nil || c != 0 {
			t.Errorf("%q vs %q: %d %v", tc[0], tc[1], c, err)
		}
		v, _ := ParseVersion(tc[0])
		if v.String() != tc[2] {
			t.Errorf("String(%q) = %q, want %q", tc[0], v.String(), tc[2])
		}
	}
	if c, _ := CompareVersions("100000000000000000000", "99999999999999999999"); c != 1 {
		t.Error("big numbers compare numerically")
	}
}

func TestVersionInvalid(t *testing.T) {
	for _, s := range []string{"", "abc", "1.0.", "1..0", "1.0+", "1.0+a..b", "1.0-", "1.0a1a2", "1.0 2", "1.0+é", "french toast", "2.0.0-SNAPSHOT", "*"} {
		if _, err := ParseVersion(s); !errors.Is(err, ErrInvalidVersion) {
			t.Errorf("ParseVersion(%q) accepted", s)
		}
	}
	long := make([]byte, 300)
	for i := range long {
		long[i] = '1'
	}
	if _, err := ParseVersion(string(long)); err == nil {
		t.Error("overlong version accepted")
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.0", "1!2.0rc1.post3.dev4+ubuntu.1", "1.0-rc.1", "v1.0", "0.0.0a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		if v.Compare(v) != 0 {
			t.Fatalf("%q != itself", s)
		}
		w, err := ParseVersion(v.String())
		if err != nil {
			t.Fatalf("normalized %q of %q does not parse: %v", v.String(), s, err)
		}
		if w.Compare(v) != 0 || w.String() != v.String() {
			t.Fatalf("round trip of %q: %q", s, w.String())
		}
	})
}
