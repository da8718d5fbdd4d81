package pymarshal

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// expected mirrors the JSON gen_marshal.py writes from Python introspection.
type expected struct {
	Name            string     `json:"name"`
	QualName        string     `json:"qualname"`
	Filename        string     `json:"filename"`
	FirstLine       int        `json:"firstline"`
	ArgCount        int        `json:"argcount"`
	PosOnlyArgCount int        `json:"posonlyargcount"`
	KwOnlyArgCount  int        `json:"kwonlyargcount"`
	Flags           int        `json:"flags"`
	Names           []string   `json:"names"`
	Strings         []string   `json:"strings"`
	Varnames        []string   `json:"varnames"`
	Freevars        []string   `json:"freevars"`
	Cellvars        []string   `json:"cellvars"`
	Nested          []expected `json:"nested"`
	Python          string     `json:"python"`
}

func norm(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func compare(t *testing.T, where string, got *Code, want expected) {
	t.Helper()
	check := func(field string, g, w any) {
		t.Helper()
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: %s = %#v, want %#v", where, field, g, w)
		}
	}
	check("Name", got.Name, want.Name)
	check("QualName", got.QualName, want.QualName)
	check("Filename", got.Filename, want.Filename)
	check("FirstLine", got.FirstLine, want.FirstLine)
	check("ArgCount", got.ArgCount, want.ArgCount)
	check("PosOnlyArgCount", got.PosOnlyArgCount, want.PosOnlyArgCount)
	check("KwOnlyArgCount", got.KwOnlyArgCount, want.KwOnlyArgCount)
	check("Flags", got.Flags, want.Flags)
	check("Names", norm(got.Names), norm(want.Names))
	check("Strings", norm(got.Strings), norm(want.Strings))
	check("Varnames", norm(got.Varnames), norm(want.Varnames))
	check("Freevars", norm(got.Freevars), norm(want.Freevars))
	check("Cellvars", norm(got.Cellvars), norm(want.Cellvars))
	if len(got.Nested) != len(want.Nested) {
		t.Errorf("%s: %d nested codes, want %d", where, len(got.Nested), len(want.Nested))
		return
	}
	for i := range want.Nested {
		compare(t, where+"/"+want.Nested[i].Name, got.Nested[i], want.Nested[i])
	}
}

func fixtureNames(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures (run testdata/gen/gen_marshal.py): %v", err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	return names
}

func readFixture(t testing.TB, name, ext string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+ext))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPythonFixtures(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			var want expected
			if err := json.Unmarshal(readFixture(t, name, ".json"), &want); err != nil {
				t.Fatal(err)
			}
			raw := readFixture(t, name, ".marshal")
			got, err := Decode(raw, DefaultLimits())
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if want.Python >= "3.11" && got.Layout != "3.11+" {
				t.Errorf("Layout = %q for Python %s", got.Layout, want.Python)
			}
			if got.TrailingBytes != 0 {
				t.Errorf("TrailingBytes = %d", got.TrailingBytes)
			}
			compare(t, name, got, want)

			b64, err := DecodeBase64(string(readFixture(t, name, ".b64")), DefaultLimits())
			if err != nil {
				t.Fatalf("DecodeBase64: %v", err)
			}
			if !reflect.DeepEqual(b64, got) {
				t.Errorf("DecodeBase64 differs from Decode")
			}
			if s := got.String(); len(s) > maxSummary+10 || strings.ContainsAny(s, "\n\r") {
				t.Errorf("String() = %q", s)
			}
		})
	}
}

func TestSummaries(t *testing.T) {
	decode := func(name string) *Code {
		t.Helper()
		c, err := Decode(readFixture(t, name, ".marshal"), DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if got, want := decode("os_system").String(), `<lambda> (<stdin>:1) names __import__, system; strings 'os', 'id'`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := decode("exec_string").String(); !strings.Contains(got, `names exec; strings 'import os; os.system(\'id\')'`) {
		t.Errorf("String() = %q", got)
	}
	nested := decode("nested")
	if got, want := nested.AllNames(), []string{"__import__", "getoutput"}; !reflect.DeepEqual(got, want) {
		t.Errorf("AllNames() = %q, want %q", got, want)
	}
	if got := nested.String(); !strings.Contains(got, "nested {<listcomp> (<stdin>:1) strings 'q'; nested {<lambda> (<stdin>:1) names __import__, getoutput; strings 'subprocess', 'id'}}") {
		t.Errorf("String() = %q", got)
	}
}

func TestDecodeBase64Variants(t *testing.T) {
	raw := readFixture(t, "os_system", ".marshal")
	want, err := Decode(raw, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	std := base64.StdEncoding.EncodeToString(raw)
	var wrapped strings.Builder
	for i := 0; i < len(std); i += 76 {
		wrapped.WriteString(std[i:min(i+76, len(std))] + "\r\n")
	}
	for name, s := range map[string]string{
		"std":     std,
		"raw":     base64.RawStdEncoding.EncodeToString(raw),
		"url":     base64.URLEncoding.EncodeToString(raw),
		"rawurl":  base64.RawURLEncoding.EncodeToString(raw),
		"wrapped": "  " + wrapped.String() + "\n",
	} {
		got, err := DecodeBase64(s, DefaultLimits())
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded differently", name)
		}
	}
	if _, err := DecodeBase64("!!!", DefaultLimits()); err == nil {
		t.Error("no error for empty base64")
	}
	if _, err := DecodeBase64(strings.Repeat("QUFB", 1000), Limits{MaxBytes: 100}); !errors.Is(err, ErrLimit) {
		t.Errorf("oversized base64: %v, want ErrLimit", err)
	}
}

// mb assembles marshal bytes by hand.
type mb struct{ b []byte }

func (m *mb) raw(bs ...byte) *mb { m.b = append(m.b, bs...); return m }

func (m *mb) i32(vs ...int32) *mb {
	for _, v := range vs {
		m.b = binary.LittleEndian.AppendUint32(m.b, uint32(v))
	}
	return m
}

// str writes s with a 4-byte length, or a 1-byte length for 'z' and 'Z'.
func (m *mb) str(typ byte, s string) *mb {
	m.b = append(m.b, typ)
	if typ&^flagRef == 'z' || typ&^flagRef == 'Z' {
		m.b = append(m.b, byte(len(s)))
	} else {
		m.i32(int32(len(s)))
	}
	m.b = append(m.b, s...)
	return m
}

func (m *mb) tuple(n int) *mb { return m.raw('(').i32(int32(n)) }

// py38Lambda is `lambda x: __import__('os').system('id') or x` in the
// 3.8-3.10 layout, with refs: the code object takes slot 0, "os" slot 1.
func py38Lambda() []byte {
	m := &mb{}
	m.raw('c'|flagRef).i32(1, 0, 0, 1, 3, 0x43)
	m.str('s', "t\x00d\x01\x83\x01")
	m.tuple(3).raw('N').str('z'|flagRef, "os").str('z', "id")
	m.tuple(2).str('Z', "__import__").str('Z', "system")
	m.tuple(1).str('Z', "x")
	m.raw(')'|flagRef, 0).raw('r').i32(2) // empty small tuple (slot 2), then a ref to it
	m.str('u', "<stdin>").str('Z', "<lambda>").i32(1).str('s', "\x00\x01")
	return m.b
}

func TestPy38Layout(t *testing.T) {
	data := py38Lambda()
	c, err := Decode(data, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	// The ref to slot 2 only resolves to the empty tuple because the code
	// object reserved slot 0 and "os" took slot 1.
	want := &Code{Name: "<lambda>", Filename: "<stdin>", FirstLine: 1, ArgCount: 1, Flags: 0x43,
		Names: []string{"__import__", "system"}, Strings: []string{"os", "id"},
		Varnames: []string{"x"}, Freevars: []string{}, Cellvars: []string{}, Layout: "3.8-3.10"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
}

// py37Lambda is a 3.0-3.7 layout lambda whose constants hold a nested
// flagged code object; after it, refs to strings read inside it resolve.
func py37Lambda() []byte {
	inner := func(m *mb) {
		m.raw('c'|flagRef).i32(0, 0, 0, 2, 0x53)
		m.str('s', "t\x00d\x01\x83\x01S\x00")
		m.tuple(2).raw('N').str('a'|flagRef, "rm -rf /tmp/x") // slot 3
		m.tuple(1).str('A'|flagRef, "system")                 // slot 4
		m.tuple(0).raw(')', 0).raw(')', 0)
		m.str('a'|flagRef, "<stdin>").str('A', "<lambda>").i32(1).str('s', "") // <stdin> slot 5
	}
	m := &mb{}
	m.raw('c'|flagRef).i32(1, 0, 1, 2, 0x43) // slot 0
	m.str('s', "d\x01S\x00")
	m.raw('(' | flagRef).i32(2).raw('N') // slot 1
	inner(m)                             // slot 2
	m.tuple(2).raw('r').i32(4).str('t', "os")
	m.tuple(1).str('u', "x").tuple(0).tuple(0)
	m.raw('r').i32(5).str('z', "<lambda>").i32(7).str('s', "")
	return m.b
}

func TestPy37Layout(t *testing.T) {
	c, err := Decode(py37Lambda(), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if c.Layout != "3.0-3.7" || c.FirstLine != 7 || c.Filename != "<stdin>" || c.KwOnlyArgCount != 0 {
		t.Errorf("got %+v", c)
	}
	if !reflect.DeepEqual(c.Names, []string{"system", "os"}) || len(c.Nested) != 1 {
		t.Fatalf("got %+v", c)
	}
	if n := c.Nested[0]; !reflect.DeepEqual(n.Strings, []string{"rm -rf /tmp/x"}) || n.Layout != "3.0-3.7" {
		t.Errorf("nested %+v", n)
	}
	if got := c.AllNames(); !reflect.DeepEqual(got, []string{"system", "os"}) {
		t.Errorf("AllNames() = %q", got)
	}
	if got := c.String(); !strings.Contains(got, "nested {<lambda> (<stdin>:1) names system; strings 'rm -rf /tmp/x'}") {
		t.Errorf("String() = %q", got)
	}
}

// py2Lambda is a Python 2 code object using interned strings and
// TYPE_STRINGREF back-references.
func py2Lambda() []byte {
	m := &mb{}
	m.raw('c').i32(1, 1, 2, 0x43)
	m.str('s', "t\x00\x00d\x01\x00\x83\x01\x00S")
	m.tuple(2).raw('N').str('t', "id")                           // interned 0
	m.tuple(2).str('t', "os").str('t', "system")                 // interned 1, 2
	m.tuple(2).str('t', "x").raw('R').i32(1)                     // interned 3, then "os"
	m.tuple(0).tuple(0).str('s', "<stdin>").str('t', "<lambda>") // interned 4
	m.i32(3).str('s', "")
	return m.b
}

func TestPy2Layout(t *testing.T) {
	c, err := Decode(py2Lambda(), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	want := &Code{Name: "<lambda>", Filename: "<stdin>", FirstLine: 3, ArgCount: 1, Flags: 0x43,
		Names: []string{"os", "system"}, Strings: []string{"id"},
		Varnames: []string{"x", "os"}, Freevars: []string{}, Cellvars: []string{}, Layout: "2.x"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
}

func TestTrailingBytes(t *testing.T) {
	data := append(py38Lambda(), "junk"...)
	c, err := Decode(data, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if c.TrailingBytes != 4 || c.Layout != "3.8-3.10" {
		t.Errorf("TrailingBytes %d, layout %s", c.TrailingBytes, c.Layout)
	}
}

// withConsts builds a 3.11 code object whose constants tuple is consts.
func withConsts(consts []byte) []byte {
	m := &mb{}
	m.raw('c'|flagRef).i32(1, 0, 0, 2, 3)
	m.str('s', "\x97\x00")
	m.raw(consts...)
	m.tuple(0).tuple(0).str('s', "")
	m.str('z', "f").str('z', "<lambda>").str('z', "<lambda>").i32(1).str('s', "").str('s', "")
	return m.b
}

func TestHostile(t *testing.T) {
	deepTuples := &mb{}
	for range 100000 {
		deepTuples.raw(')', 1)
	}
	deepTuples.raw('N')

	// A code object nested 10000 deep through its constants.
	deepCode := &mb{}
	const depth = 10000
	for range depth {
		deepCode.raw('c').i32(0, 0, 0, 1, 3).str('s', "").raw(')', 1)
	}
	deepCode.raw('N')
	for range depth {
		deepCode.tuple(0).tuple(0).str('s', "").str('z', "f").str('z', "n").str('z', "n").i32(1).str('s', "").str('s', "")
	}

	cases := map[string]struct {
		data  []byte
		limit bool // the error must wrap ErrLimit
	}{
		"empty":            {data: nil},
		"not code":         {data: []byte("N")},
		"ref out of range": {data: withConsts((&mb{}).tuple(1).raw('r').i32(5).b)},
		"negative ref":     {data: withConsts((&mb{}).tuple(1).raw('r').i32(-1).b)},
		"ref unfilled":     {data: withConsts((&mb{}).tuple(1).raw('r').i32(0).b)},
		"self tuple ref":   {data: withConsts((&mb{}).raw('(' | flagRef).i32(1).raw('r').i32(1).b)},
		"deep tuples":      {data: withConsts(deepTuples.b), limit: true},
		"deep code":        {data: deepCode.b, limit: true},
		"huge tuple":       {data: withConsts((&mb{}).tuple(0x7fffffff).b)},
		"huge list":        {data: withConsts((&mb{}).tuple(1).raw('[').i32(0x7ffffff0).b)},
		"huge string":      {data: withConsts((&mb{}).tuple(1).raw('u').i32(0x7fffffff).b)},
		"negative string":  {data: withConsts((&mb{}).tuple(1).raw('s').i32(-5).b)},
		"huge long":        {data: withConsts((&mb{}).tuple(1).raw('l').i32(-0x7fffffff).b)},
		"min long":         {data: withConsts((&mb{}).tuple(1).raw('l').i32(-0x80000000).b)},
		"unknown type":     {data: withConsts((&mb{}).tuple(1).raw('?').b)},
		"null in tuple":    {data: withConsts((&mb{}).tuple(1).raw('0').b)},
		"endless dict":     {data: withConsts((&mb{}).tuple(1).raw('{').b)},
		"wrong field":      {data: withConsts((&mb{}).raw('N').b)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			c, err := Decode(tc.data, DefaultLimits())
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatalf("no error, got %v", c)
			}
			if tc.limit && !errors.Is(err, ErrLimit) {
				t.Errorf("error %v does not wrap ErrLimit", err)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
				t.Errorf("allocated %d bytes", grew)
			}
		})
	}

	// The same 10000-deep code decodes when the depth limit allows it.
	c, err := Decode(deepCode.b, Limits{MaxDepth: 3*depth + 10})
	if err != nil {
		t.Fatalf("deep code with high MaxDepth: %v", err)
	}
	if s := c.String(); len(s) > maxSummary+10 {
		t.Errorf("String() has %d bytes", len(s))
	}
	if _, err := Decode(deepCode.b, Limits{MaxDepth: 3*depth + 10, MaxItems: 1000}); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxItems not enforced: %v", err)
	}
	if _, err := Decode(py38Lambda(), Limits{MaxBytes: 10}); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxBytes not enforced: %v", err)
	}
}

// TestSharedConstsLinear checks that constants shared through refs are
// visited once, not once per path.
func TestSharedConstsLinear(t *testing.T) {
	// T_k = (T_(k-1), ref T_(k-1)), T_0 = "leaf": 2^80 paths, 81 objects.
	const n = 80
	m := &mb{}
	for range n {
		m.raw('(' | flagRef).i32(2) // T_n takes slot 1, T_1 slot n
	}
	m.str('z'|flagRef, "leaf") // slot n+1
	for k := 1; k <= n; k++ {
		m.raw('r').i32(int32(n + 2 - k)) // T_(k-1)'s slot
	}
	consts := (&mb{}).tuple(2).raw(m.b...).raw('N').b
	c, err := Decode(withConsts(consts), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Strings, []string{"leaf"}) {
		t.Errorf("Strings = %q", c.Strings)
	}
}

func TestTruncations(t *testing.T) {
	inputs := [][]byte{py38Lambda(), py37Lambda(), py2Lambda()}
	for _, name := range fixtureNames(t) {
		inputs = append(inputs, readFixture(t, name, ".marshal"))
	}
	for _, data := range inputs {
		for n := range len(data) {
			if c, err := Decode(data[:n], DefaultLimits()); err == nil {
				t.Errorf("prefix %d of %d bytes decoded: %v", n, len(data), c)
			}
		}
	}
}

func TestStringEscapes(t *testing.T) {
	c := &Code{Name: "f\x00", Filename: "a\nb", Strings: []string{"it's\x1b[31m", "\xff\xfe", strings.Repeat("x", 500)}}
	s := c.String()
	for _, bad := range []string{"\x00", "\n", "\x1b", "\xff"} {
		if strings.Contains(s, bad) {
			t.Errorf("String() %q contains %q", s, bad)
		}
	}
	if !strings.Contains(s, `'it\'s\x1b[31m'`) || !strings.Contains(s, `'\xff\xfe'`) {
		t.Errorf("String() = %q", s)
	}
	if len(s) > maxSummary+10 {
		t.Errorf("String() has %d bytes", len(s))
	}
}
