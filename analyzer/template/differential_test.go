package template

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// jinjaSummary is what testdata/jinja_ast.py prints for a template.
type jinjaSummary struct {
	File    string   `json:"file"`
	OK      bool     `json:"ok"`
	Error   string   `json:"error"`
	Attrs   []string `json:"attrs"`
	Filters []string `json:"filters"`
	Tests   []string `json:"tests"`
	Strings []string `json:"strings"`
}

// summarize lists the attribute, filter and test names and the string
// constants of our syntax tree, as jinja_ast.py does for jinja2's.
func summarize(tree *Tree) jinjaSummary {
	sets := [4]map[string]bool{{}, {}, {}, {}}
	var walk func(n *Node)
	walk = func(n *Node) {
		if n == nil {
			return
		}
		switch n.Kind {
		case Getattr:
			sets[0][n.Name] = true
		case Filter:
			sets[1][n.Name] = true
		case Test:
			sets[2][n.Name] = true
		case Const:
			if n.IsStr {
				sets[3][n.Value] = true
			}
		}
		for _, ch := range n.Children {
			walk(ch)
		}
		for _, kw := range n.Kwargs {
			walk(kw.Value)
		}
		for _, b := range n.Bodies {
			for _, ch := range b {
				walk(ch)
			}
		}
	}
	for _, n := range tree.Nodes {
		walk(n)
	}
	list := func(m map[string]bool) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	return jinjaSummary{OK: true, Attrs: list(sets[0]), Filters: list(sets[1]), Tests: list(sets[2]), Strings: list(sets[3])}
}

// genTemplate builds a random template from the constructs chat templates
// and template injections use: set, if, for, macros, filter blocks,
// filters, concatenations, attr calls and format strings. One in eight is
// broken on purpose, in a way both parsers must refuse.
type genTemplate struct {
	r *rand.Rand
	b strings.Builder
}

func (g *genTemplate) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g *genTemplate) expr(depth int) string {
	if depth <= 0 || g.r.IntN(4) == 0 {
		switch g.r.IntN(3) {
		case 0:
			return g.pick(`'__cla'`, `'ss__'`, `'{0.__class__}'`, `"content"`, `'\x5f\x5f'`, `'a b'`, `'%s%s'`,
				`'{}'`, `'<|im_start|>'`, `"it's"`, `'\n'`, `'{0[__builtins__]}'`, `'slabolg__'`, `'%c'`, `'{:_^11}'`, `''`)
		case 1:
			return fmt.Sprint(g.r.IntN(100))
		}
		return g.pick("x", "message", "messages", "loop", "ns", "tools", "none", "true")
	}
	a := func() string { return "(" + g.expr(depth-1) + ")" }
	switch g.r.IntN(22) {
	case 0:
		return a() + " ~ " + a()
	case 1:
		return a() + " + " + a()
	case 2:
		return a() + " % " + a()
	case 3:
		return "(" + g.expr(depth-1) + ", " + g.expr(depth-1) + ")"
	case 4:
		return "[" + g.expr(depth-1) + ", " + g.expr(depth-1) + "]"
	case 5:
		return "{'k': " + g.expr(depth-1) + ", " + g.expr(depth-1) + ": 1}"
	case 6, 7, 8:
		return a() + "|" + g.pick("join", "join('-')", "replace('a', 'b')", "reverse", "lower", "upper", "string",
			"format("+g.expr(depth-1)+")", "attr('format')", "attr('"+g.pick("content", "__init__", "role")+"')",
			"list", "trim", "length", "map(attribute='content')", "selectattr('role', 'equalto', 'user')", "tojson(indent=2)", "first")
	case 9:
		return a() + "." + g.pick("content", "role", "format", "__class__", "join", "items", "__globals__")
	case 10:
		return a() + ".format(" + g.expr(depth-1) + ", k=" + g.expr(depth-1) + ")"
	case 11:
		return "''.join(" + g.expr(depth-1) + ")"
	case 12:
		return a() + "[" + g.expr(depth-1) + "]"
	case 13:
		return a() + g.pick("[::-1]", "[1:2]", "[:-1]", "[1:]", "[0]")
	case 14:
		return g.expr(depth-1) + " if " + a() + " else " + a()
	case 15:
		return a() + g.pick(" is defined", " is not none", " is string", " is divisibleby 3", " is sameas(none)")
	case 16:
		return "not " + a()
	case 17:
		return a() + g.pick(" == ", " != ", " < ", " in ", " not in ", " and ", " or ") + a()
	case 18:
		return "-" + a()
	case 19:
		return a() + "|attr(" + g.expr(depth-1) + ")(" + g.expr(depth-1) + ")"
	case 20:
		return "f(" + g.expr(depth-1) + ", k=" + g.expr(depth-1) + ")"
	}
	return "dict(a=" + g.expr(depth-1) + ")|list|join"
}

func (g *genTemplate) ws() string { return g.pick("", "", "-") }

func (g *genTemplate) tag(body string) string {
	return "{%" + g.ws() + " " + body + " " + g.ws() + "%}"
}

func (g *genTemplate) stmts(depth, n int) {
	for range n {
		g.stmt(depth)
	}
}

func (g *genTemplate) stmt(depth int) {
	b := &g.b
	k := g.r.IntN(10)
	if depth <= 0 {
		k = g.r.IntN(3)
	}
	switch k {
	case 0:
		b.WriteString(g.pick("text ", "\n", "<|im_end|>\n", "{ not a tag } ", "} "))
	case 1:
		b.WriteString("{{" + g.ws() + " " + g.expr(3) + " " + g.ws() + "}}")
	case 2:
		b.WriteString(g.tag("set " + g.pick("v", "a", "b") + " = " + g.expr(3)))
	case 3:
		b.WriteString(g.tag("if " + g.expr(2)))
		g.stmts(depth-1, 2)
		if g.r.IntN(2) == 0 {
			b.WriteString(g.tag("elif " + g.expr(2)))
			g.stmts(depth-1, 1)
		}
		if g.r.IntN(2) == 0 {
			b.WriteString(g.tag("else"))
			g.stmts(depth-1, 1)
		}
		b.WriteString(g.tag("endif"))
	case 4:
		if g.r.IntN(2) == 0 {
			b.WriteString(g.tag("for m in " + g.expr(2)))
		} else {
			b.WriteString(g.tag("for k, v in (" + g.expr(2) + ").items() if k recursive"))
		}
		g.stmts(depth-1, 2)
		if g.r.IntN(3) == 0 {
			b.WriteString(g.tag(g.pick("break", "continue")))
		}
		if g.r.IntN(3) == 0 {
			b.WriteString(g.tag("else"))
			g.stmts(depth-1, 1)
		}
		b.WriteString(g.tag("endfor"))
	case 5:
		b.WriteString(g.tag("macro m(a, b=" + g.expr(1) + ")"))
		g.stmts(depth-1, 2)
		b.WriteString(g.tag("endmacro"))
		b.WriteString("{{ m(" + g.expr(2) + ") }}")
	case 6:
		b.WriteString(g.tag("filter " + g.pick("upper", "trim", "replace('a', 'b')")))
		g.stmts(depth-1, 1)
		b.WriteString(g.tag("endfilter"))
	case 7:
		b.WriteString(g.tag("set ns = namespace(a=" + g.expr(2) + ")"))
		b.WriteString(g.tag("set ns.a = " + g.expr(2)))
	case 8:
		b.WriteString(g.tag("set s"))
		g.stmts(depth-1, 1)
		b.WriteString(g.tag("endset"))
	default:
		b.WriteString("{# " + g.expr(2) + " #}")
		b.WriteString(g.tag("do " + g.expr(2)))
	}
}

// generate returns the n generated templates of seed.
func generate(seed uint64, n int) []string {
	out := make([]string, n)
	for i := range out {
		g := &genTemplate{r: rand.New(rand.NewPCG(seed, uint64(i)))}
		g.stmts(3, 1+g.r.IntN(5))
		if g.r.IntN(8) == 0 {
			g.b.WriteString(g.pick(`{% if x %}`, `{{ x ) }}`, `{% frobnicate %}`, `{{ 'abc }}`, `{% endfor %}`,
				`{{ }}`, `{{ x|) }}`, `{% for %}{% endfor %}`, `{{ x. }}`, `{% set %}`, `{{ x[1 }}`))
		}
		out[i] = g.b.String()
	}
	return out
}

func TestGenerateDeterministic(t *testing.T) {
	a, b := generate(7, 20), generate(7, 20)
	if !slices.Equal(a, b) {
		t.Fatal("the generator is not deterministic")
	}
}

// TestJinjaDifferential parses the real templates of the test data and
// generated ones with our parser and with Python's jinja2 (parse only),
// and compares whether they parse and the names and strings of their trees.
func TestJinjaDifferential(t *testing.T) {
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		if python, err = exec.LookPath("python3"); err != nil {
			missing(t, "python3 is not installed")
			return
		}
	}
	if err := exec.Command(python, "-c", "import jinja2").Run(); err != nil {
		missing(t, "Python's jinja2 is not installed")
		return
	}
	var paths []string
	for _, dir := range []string{"benign", "malicious"} {
		paths = append(paths, files(t, dir)...)
	}
	tmp := t.TempDir()
	for i, src := range generate(20240611, 200) {
		p := filepath.Join(tmp, fmt.Sprintf("gen%03d.jinja", i))
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	in, _ := json.Marshal(paths)
	cmd := exec.Command(python, filepath.Join("testdata", "jinja_ast.py"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jinja_ast.py: %v: %s", err, stderr.String())
	}
	var theirs []jinjaSummary
	if err := json.Unmarshal(out, &theirs); err != nil {
		t.Fatalf("jinja_ast.py output: %v", err)
	}
	if len(theirs) != len(paths) {
		t.Fatalf("jinja_ast.py summarized %d files of %d", len(theirs), len(paths))
	}
	parsed := 0
	for i, want := range theirs {
		data, err := os.ReadFile(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(paths[i])
		tree, err := Parse(string(data))
		if (err == nil) != want.OK {
			t.Errorf("%s: we parse: %v (%v), jinja2 parses: %v (%s)\n%s", name, err == nil, err, want.OK, want.Error, data)
			continue
		}
		if err != nil {
			continue
		}
		parsed++
		got := summarize(tree)
		for _, f := range []struct {
			what      string
			got, want []string
		}{{"attributes", got.Attrs, want.Attrs}, {"filters", got.Filters, want.Filters}, {"tests", got.Tests, want.Tests}, {"strings", got.Strings, want.Strings}} {
			if !slices.Equal(f.got, f.want) && !(len(f.got) == 0 && len(f.want) == 0) {
				t.Errorf("%s: %s %q, jinja2 %q\n%s", name, f.what, f.got, f.want, data)
			}
		}
	}
	if parsed < len(paths)/2 {
		t.Errorf("only %d of %d templates parsed", parsed, len(paths))
	}
}

// missing skips the test, or fails it on CI, where the tools must be there.
func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}
