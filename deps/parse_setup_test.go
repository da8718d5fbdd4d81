package deps

import (
	"reflect"
	"testing"
)

// A setup.py is read with the Python tokenizer of internal/pysrc: string
// values are what Python makes of them, escapes decoded, so a name
// spelled with escapes is the package Python installs.
func TestParseSetupPyStringValues(t *testing.T) {
	m := parseOne(t, "setup.py", map[string]string{"setup.py": `setup(
    install_requires=["tor\x63h==2.5.1", 'num\u0070y\u003e=2', "\x70eft"],
    extras_require={"x": [f"trl==0.12.0", r"vllm"]},
)
`})
	want := []string{"torch 2.5.1 index @2", "numpy >=2 index @2", "peft  index @2", "trl 0.12.0 index @3", "vllm  index @3"}
	if got := brief(m); !reflect.DeepEqual(got, want) || m.Unread != nil {
		t.Errorf("packages\n got %q\nwant %q\nunread %+v", got, want, m.Unread)
	}
}

// Bytes, templates and f-strings with fields are not known strings: the
// value holding one is unread, never guessed.
func TestParseSetupPyDynamicStrings(t *testing.T) {
	for _, src := range []string{
		"setup(install_requires=[b'torch==2.5.1'])\n",
		"setup(install_requires=[t'torch==2.5.1'])\n",
		"setup(install_requires=[f'torch=={V}'])\n",
	} {
		m := parseOne(t, "setup.py", map[string]string{"setup.py": src})
		if len(m.Packages) != 0 || len(m.Unread) != 1 {
			t.Errorf("%q: packages %q, unread %+v", src, brief(m), m.Unread)
		}
	}
}
