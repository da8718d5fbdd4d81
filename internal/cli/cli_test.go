package cli

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// env is a lookup over a map.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// flags is a flag set with one flag of each kind the commands use.
func flags() (*pflag.FlagSet, *FailOnOptions, *OutputOptions, *[]string, *bool, *int) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fail := &FailOnOptions{}
	fail.AddFlags(fs)
	out := &OutputOptions{Formats: []string{"text", "json"}}
	out.AddFlags(fs)
	allow := fs.StringSlice("allow", nil, "")
	strict := fs.Bool("require-models", false, "")
	workers := fs.Int("workers", 0, "")
	fs.Bool("version", false, "")
	return fs, fail, out, allow, strict, workers
}

func TestEnvName(t *testing.T) {
	for flag, want := range map[string]string{"fail-on": "VIOLET_FAIL_ON", "format": "VIOLET_FORMAT", "no-git": "VIOLET_NO_GIT", "log-level": "VIOLET_LOG_LEVEL"} {
		if got := EnvName(flag); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", flag, got, want)
		}
	}
}

// TestApplyEnv: a variable sets its flag, of every type; the flag wins;
// an empty variable is unset; VIOLET_VERSION (the CI templates' version to
// install) sets nothing.
func TestApplyEnv(t *testing.T) {
	fs, fail, out, allow, strict, workers := flags()
	if err := fs.Parse([]string{"--format", "text"}); err != nil {
		t.Fatal(err)
	}
	applied, err := ApplyEnv(fs, env(map[string]string{
		"VIOLET_FAIL_ON": "critical", "VIOLET_FORMAT": "json", "VIOLET_ALLOW": "a.b,c.*",
		"VIOLET_REQUIRE_MODELS": "true", "VIOLET_WORKERS": "", "VIOLET_VERSION": "latest",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if fail.FailOn != "critical" || out.Format != "text" || !slices.Equal(*allow, []string{"a.b", "c.*"}) || !*strict || *workers != 0 {
		t.Errorf("fail-on %q, format %q (the flag wins), allow %q, require-models %v, workers %d (empty: unset)", fail.FailOn, out.Format, *allow, *strict, *workers)
	}
	if v, _ := fs.GetBool("version"); v {
		t.Error("VIOLET_VERSION set --version")
	}
	want := map[string]string{"fail-on": "VIOLET_FAIL_ON", "allow": "VIOLET_ALLOW", "require-models": "VIOLET_REQUIRE_MODELS"}
	if len(applied) != len(want) {
		t.Errorf("applied %v, want %v", applied, want)
	}
	for k, v := range want {
		if applied[k] != v {
			t.Errorf("applied %v, want %v", applied, want)
		}
	}
}

// TestApplyEnvRefuses: a value the flag refuses is an error naming the
// variable, for a word out of its set as for a value of the wrong type.
func TestApplyEnvRefuses(t *testing.T) {
	for name, value := range map[string]string{
		"VIOLET_FAIL_ON": "severe", "VIOLET_FORMAT": "xml", "VIOLET_REQUIRE_MODELS": "yes", "VIOLET_WORKERS": "many",
	} {
		fs, _, _, _, _, _ := flags()
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		_, err := ApplyEnv(fs, env(map[string]string{name: value}))
		if err == nil || !strings.Contains(err.Error(), name+`="`+value+`"`) {
			t.Errorf("%s=%s: %v", name, value, err)
		}
	}
}

func TestEnvNote(t *testing.T) {
	applied := map[string]string{"key": "VIOLET_KEY", "workers": "VIOLET_WORKERS"}
	lookup := env(map[string]string{"VIOLET_KEY": "k.pem", "VIOLET_WORKERS": "-3"})
	for msg, want := range map[string]string{
		"--workers -3: must be 0 (all cores) or more":   ` (--workers from VIOLET_WORKERS="-3")`,
		"--key, --cert and --chain sign an attestation": ` (--key from VIOLET_KEY="k.pem")`,
		"--key-file is not --key":                       ` (--key from VIOLET_KEY="k.pem")`,
		"--keyring: no such flag":                       "",
		"cannot scan x: no such file":                   "",
	} {
		if got := EnvNote(msg, applied, lookup); got != want {
			t.Errorf("EnvNote(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestChoice(t *testing.T) {
	var v string
	c := NewChoice(&v, "text", "text", "json", "sarif")
	if v != "text" || c.Set("xml") == nil || v != "text" || c.Set("json") != nil || v != "json" {
		t.Errorf("value %q", v)
	}
	if err := c.Set("yaml"); err == nil || err.Error() != "want text, json or sarif" {
		t.Errorf("error %v", err)
	}
	var fail string
	s := severityValue{&fail}
	if s.Set("HIGH") != nil || fail != "HIGH" || s.Set("severe") == nil || !slices.Equal(s.Choices(), []string{"info", "low", "medium", "high", "critical"}) {
		t.Errorf("severity %q, choices %v", fail, s.Choices())
	}
}

func TestFailOnThreshold(t *testing.T) {
	for _, tc := range []struct{ flag, config, want string }{
		{"", "", "high"}, {"", "low", "low"}, {"critical", "low", "critical"}, {"Medium", "", "medium"},
	} {
		o := FailOnOptions{FailOn: tc.flag}
		got, err := o.Threshold(tc.config)
		if err != nil || got.String() != tc.want {
			t.Errorf("flag %q config %q: %v %v, want %s", tc.flag, tc.config, got, err, tc.want)
		}
	}
	if _, err := (&FailOnOptions{FailOn: "severe"}).Threshold(""); err == nil {
		t.Error("a bad --fail-on passed")
	}
	if _, err := (&FailOnOptions{}).Threshold("severe"); err == nil {
		t.Error("a bad fail_on passed")
	}
}

func TestOSVOptions(t *testing.T) {
	for _, o := range []OSVOptions{{DB: "x.zip", Online: true}, {CacheDir: "c"}} {
		if o.Validate() == nil {
			t.Errorf("%+v passed", o)
		}
	}
	if q, err := (&OSVOptions{}).Querier(); q != nil || err != nil {
		t.Errorf("no flags: %v %v", q, err)
	}
	if _, err := (&OSVOptions{DB: "/does/not/exist.zip"}).Querier(); err == nil {
		t.Error("a missing database passed")
	}
}

func TestSigningKeyOptions(t *testing.T) {
	for _, o := range []SigningKeyOptions{{Cert: "c.pem"}, {Key: "k.pem", Chain: []string{"ca.pem"}}, {Key: "k.pem", Cert: "c.pem", Chain: []string{""}}} {
		if o.Validate() == nil {
			t.Errorf("%+v passed", o)
		}
	}
}

// TestProgressNotOnAFile: no progress line is written anywhere but to a
// terminal, nor with --quiet.
func TestProgressNotOnAFile(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	for _, p := range []*Progress{NewProgress(f, false), NewProgress(&buf, false)} {
		if p != nil {
			t.Fatal("a progress line on a file")
		}
		p.Busy("hashing")()
		if c := p.Counter("scanned"); c != nil {
			t.Fatal("a counter on a file")
		}
	}
}

// TestBusy: the line shows what runs and for how long, and stop clears it,
// once however often it is called.
func TestBusy(t *testing.T) {
	defer func(d time.Duration) { busyInterval = d }(busyInterval)
	busyInterval = time.Millisecond
	var buf bytes.Buffer // written under p.mu; read after stop
	p := &Progress{w: &buf}
	stop := p.Busy("hashing \x1b[2Jmodel")
	time.Sleep(20 * time.Millisecond)
	stop()
	stop()
	out := buf.String()
	if !strings.Contains(out, `hashing \x1b[2Jmodel (0s)`) || !strings.HasSuffix(out, "\r\033[K") || strings.Count(out, "hashing") < 2 {
		t.Errorf("%q", out)
	}
	if strings.Contains(out, "\x1b[2J") {
		t.Error("a name's escape sequence reached the terminal")
	}
}
