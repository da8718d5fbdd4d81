package deps

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParseRequirement: the one PEP 508 parser (every reader of deps and
// violet discover use it) never panics, and what it accepts is sane.
func FuzzParseRequirement(f *testing.F) {
	for _, s := range []string{
		"torch[cuda]>=2.1,<3; python_version >= '3.9'", "a (==1.0)", "b===x", "c==2.*", "d @ https://e/d-1.0-py3-none-any.whl ; os_name=='nt'",
		"git+https://e/r.git#egg=e", "./local/pkg[dev]", "https://e/f-2.0.tar.gz", "-e .", "g ~= 1.4.2 , != 1.4.5", "h;", "i[", "j @",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseRequirement(s)
		if err != nil {
			if !reflect.DeepEqual(p, Package{}) {
				t.Fatalf("error %v with a package %+v", err, p)
			}
			return
		}
		if p.Name != "" && !validPackageName.MatchString(p.Name) {
			t.Fatalf("%q: invalid name %q", s, p.Name)
		}
		if p.Source == SourceIndex {
			if p.Name == "" || p.URL != "" {
				t.Fatalf("%q: index package %+v", s, p)
			}
			if p.Version != "" && p.Specifier != "" {
				t.Fatalf("%q: both a version and a specifier: %+v", s, p)
			}
			for _, c := range strings.Split(p.Specifier, ",") {
				if p.Specifier != "" && !specifierClause.MatchString(c) {
					t.Fatalf("%q: invalid clause %q in %+v", s, c, p)
				}
			}
		} else if p.URL == "" {
			t.Fatalf("%q: %s package without a URL: %+v", s, p.Source, p)
		}
		if strings.ContainsAny(p.Version, " \t\n,;") {
			t.Fatalf("%q: version %q", s, p.Version)
		}
	})
}

// A requirement that is only markers (";\", "; /x": read as a path
// before its markers) names nothing: an error, as pip gives, not an
// empty package.
func TestParseRequirementEmptyPath(t *testing.T) {
	for _, s := range []string{";\\", "; /x", ";./a"} {
		if p, err := ParseRequirement(s); err == nil {
			t.Errorf("%q accepted: %+v", s, p)
		}
	}
	dir := writeFiles(t, map[string]string{"requirements.txt": "torch==2.5.1\n; /x\n"})
	_, err := ParseFile(dir + "/requirements.txt")
	wantParseError(t, err, "requirements.txt", 2, "invalid requirement")
}
