package template

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

func files(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join("testdata", dir, "*.jinja"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no test data in %s: %v", dir, err)
	}
	return m
}

func TestBenign(t *testing.T) {
	for _, f := range files(t, "benign") {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		issues, err := CheckTemplate(string(data))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, is := range issues {
			t.Errorf("%s: %s %s (%q at %d)", f, is.Kind, is.Message, is.Evidence, is.Offset)
		}
	}
}

func TestMalicious(t *testing.T) {
	for _, f := range files(t, "malicious") {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		issues, err := CheckTemplate(string(data))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		found := false
		for _, is := range issues {
			if is.Kind == Injection {
				found = true
			}
			if is.Offset < 0 || is.Offset >= len(data) || !strings.Contains(string(data), excerpt(is)) {
				t.Errorf("%s: bad evidence %q at %d", f, is.Evidence, is.Offset)
			}
		}
		if !found {
			t.Errorf("%s: no injection found; issues: %+v", f, issues)
		}
	}
}

// excerpt is the part of an issue's evidence quoted from the template.
func excerpt(is Issue) string {
	if is.Value != "" {
		return strings.TrimSuffix(is.Evidence, " = "+is.Value)
	}
	return is.Evidence
}

func TestCases(t *testing.T) {
	cases := []struct {
		src        string
		injection  bool
		suspicious bool
	}{
		{`{% set ns = namespace(found=false) %}{% set ns.found = true %}{{ ns.found }}`, false, false},
		{`{{ message['content'] }}{{ loop.index }}{{ x|tojson }}`, false, false},
		{`{{ namespace }}`, false, true},
		{`{{ cycler(1,2).next() }}`, false, false},
		{`{{ f(cycler) }}`, false, true},
		{`{{ self._TemplateReference__context }}`, false, true},
		{`{{ x|attr(y) }}`, false, true},
		{`{{ x[y ~ 'z'] }}`, false, true},
		{`{{ config.items() }}`, false, true},
		{`{{ x|map(attribute=y) }}`, false, true},
		{`{{ x['__cla' + 'ss__'] }}`, true, false},
		{`{{ x["__cla\x73s__"] }}`, true, false},
		{`{{ x['{}{}class{}{}'.format('_','_','_','_')] }}`, true, false},
		{`{{ x['__ssalc__'[::-1]] }}`, true, false},
		{`{% set a = '__cla' %}{{ x[a ~ 'ss__'] }}`, true, false},
		{`{{ os.system('id') }}`, true, false},
		{`{% for os in xs %}{{ os }}{% endfor %}`, false, false},
		{`{% macro m(a, b=1) %}{{ a }}{% endmacro %}{% call(x) m(1) %}{{ x }}{% endcall %}`, false, false},
		{`{% filter upper %}hi{% endfilter %}{% set x | trim %} a {% endset %}`, false, false},
		{`{% include 'a' ignore missing with context %}{% import 'b' as b %}{% from 'c' import d as e, f %}`, false, false},
		{`{% extends 'base' %}{% block body scoped %}{{ super() }}{% endblock body %}`, false, false},
		{`{{ {'a': {'b': 1}} }}{{ (1, 2) }}{{ [1, 2][0] }}{{ 1 if a else 2 }}{{ x is not none }}{{ 2 ** 3 // 1 }}`, false, false},
		{`{% if x %}{{ y.__dict__ }}{% elif z %}{% else %}{% endif %}`, true, false},
		{`{# comment {{ x.__class__ }} #}`, false, false},
		{`{{ x|attr('content') }}`, false, false},
	}
	for _, c := range cases {
		issues, err := CheckTemplate(c.src)
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		var inj, sus bool
		for _, is := range issues {
			if is.Kind == Injection {
				inj = true
			} else {
				sus = true
			}
		}
		if inj != c.injection || !c.injection && sus != c.suspicious {
			t.Errorf("%s: injection %v suspicious %v, want %v %v: %+v", c.src, inj, sus, c.injection, c.suspicious, issues)
		}
	}
}

func TestMalformed(t *testing.T) {
	for _, src := range []string{
		`{{ x `, `{% if x %}`, `{% for %}{% endfor %}`, `{{ 'abc }}`, `{# x`, `{% endif %}`, `{% unknown %}`,
		`{{ x) }}`, `{{ "\x4" }}`, `{% raw %}x`,
		"{{ " + strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100) + " }}",
		"{{ " + strings.Repeat("-", 1000) + "1 }}",
		strings.Repeat("{{ x }}", 70000),
		strings.Repeat("{% if x %}", 100) + strings.Repeat("{% endif %}", 100),
	} {
		if _, err := CheckTemplate(src); err == nil {
			t.Errorf("%.60q: no error", src)
		}
	}
}

type collect struct {
	findings []finding.Finding
	formats  []string
}

func (c *collect) Report(f finding.Finding)                      { c.findings = append(c.findings, f) }
func (c *collect) Member(context.Context, analyzer.Member) error { return nil }
func (c *collect) Format(name string)                            { c.formats = append(c.formats, name) }

func TestAnalyzer(t *testing.T) {
	mal, _ := os.ReadFile("testdata/malicious/cve_2024_34359.jinja")
	ben, _ := os.ReadFile("testdata/benign/chatml.jinja")
	cases := []struct {
		name, data string
		rule       string
		n          int
	}{
		{"chat_template.jinja", string(mal), finding.TemplateInjection, 1},
		{"chat_template.jinja", string(ben), "", 0},
		{"tokenizer_config.json", `{"bos_token": "<s>", "chat_template": ` + quote(string(mal)) + `}`, finding.TemplateInjection, 1},
		{"tokenizer_config.json", `{"chat_template": [{"name": "default", "template": ` + quote(string(ben)) + `}, {"name": "tool_use", "template": ` + quote(string(mal)) + `}]}`, finding.TemplateInjection, 1},
		{"chat_template.json", `{"chat_template": "{% if %}"}`, finding.FormatMalformed, 1},
		{"tokenizer_config.json", `{"model_max_length": 10}`, "", 0},
	}
	for _, c := range cases {
		in := analyzer.NewBytesInput(c.name, []byte(c.data))
		a := Analyzer{}
		if !a.Sniff(in) {
			t.Errorf("%s: not sniffed", c.name)
			continue
		}
		out := &collect{}
		if err := a.Analyze(context.Background(), in, out); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		rules := map[string]bool{}
		for _, f := range out.findings {
			rules[f.Rule] = true
		}
		if c.n == 0 && len(out.findings) > 0 || c.n > 0 && !rules[c.rule] {
			t.Errorf("%s %.40q: findings %+v, want %s", c.name, c.data, out.findings, c.rule)
		}
	}
	if (Analyzer{}).Sniff(analyzer.NewBytesInput("notes.txt", []byte("{{ x }}"))) {
		t.Error("sniffed a .txt file")
	}
	if (Analyzer{}).Sniff(analyzer.NewBytesInput("config.json", []byte(`{"a": 1}`))) {
		t.Error("sniffed an unrelated JSON file")
	}
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func FuzzParse(f *testing.F) {
	for _, dir := range []string{"benign", "malicious"} {
		m, _ := filepath.Glob(filepath.Join("testdata", dir, "*.jinja"))
		for _, p := range m {
			data, _ := os.ReadFile(p)
			f.Add(string(data))
		}
	}
	f.Add(`{% raw %}{{{% endraw %}{{ a[1:2:3]|f(*a, **k) }}`)
	f.Fuzz(func(t *testing.T, src string) {
		tree, err := Parse(src)
		if err != nil {
			return
		}
		for _, is := range Check(tree) {
			if is.Offset < 0 || is.Offset > len(src) {
				t.Fatalf("offset %d out of range", is.Offset)
			}
		}
	})
}

func TestPathological(t *testing.T) {
	for _, src := range []string{
		"{{ '" + strings.Repeat("x", 60000) + "'" + strings.Repeat(" ~ ''", 150000) + " }}",
		"{{ a" + strings.Repeat(".b", 90000) + " }}",
		"{{ '_' * 100000 * 100000 ~ x[" + strings.Repeat("'a' ~ ", 60000) + "'b'] }}",
		"{{ " + strings.Repeat("'%s%s' % (", 30) + "'a'" + strings.Repeat(", 'b')", 30) + " }}",
	} {
		start := time.Now()
		_, err := CheckTemplate(src)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%.40q: took %v (err %v)", src, d, err)
		}
	}
}

func TestMore(t *testing.T) {
	for _, c := range []struct {
		src  string
		kind IssueKind
		none bool
	}{
		{`{{ roles['system'] }}`, 0, true},
		{`{{ x.system('id') }}`, Injection, false},
		{`{{ x|attr('\x73ystem') }}`, Injection, false},
		{`{% set x %}{{ a.__class__ }}{% endset %}`, Injection, false},
		{`{% macro m(x) %}{{ x }}{% endmacro %}{{ m(lipsum) }}`, Suspicious, false},
		{`{{ ''['__cl' 'ass__'] }}`, Injection, false},
		{`{{ x[('__'~'class'~'__')|lower] }}`, Injection, false},
		{`{{ x['__CLASS__'|lower] }}`, Injection, false},
		{`{{ x[['_','_','class','_','_']|join] }}`, Injection, false},
		{`{{ x[('_' ~ '_')*1 ~ 'class__'] }}`, Injection, false},
		{`{% with a = '__class__' %}{{ x[a] }}{% endwith %}`, Injection, false},
		{`{{ x.f_globals }}`, Injection, false},
		{`{{ sys.modules }}`, Injection, false},
		{`{{ url_for.__globals__ }}`, Injection, false},
		{`{{ g }}`, Suspicious, false},
		{`{%- for m in messages -%}{{- m.content if m.content is string else m.content|map(attribute='text')|join -}}{%- endfor -%}`, 0, true},
		{`{{ x is divisibleby 3 }}{{ x is defined and y }}{% for k, v in d.items() if k != 'x' recursive %}{{ loop(v) }}{% break %}{% endfor %}`, 0, true},
		{`{{ '}}' }}{{ "{%" }}{{ x[1:] }}{{ x[:-1] }}{{ x[::2] }}`, 0, true},
		{`{% generation %}{{ x }}{% endgeneration %}`, 0, true},
	} {
		issues, err := CheckTemplate(c.src)
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		if c.none {
			if len(issues) > 0 {
				t.Errorf("%s: %+v", c.src, issues)
			}
			continue
		}
		ok := false
		for _, is := range issues {
			if is.Kind == c.kind {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: no %s: %+v", c.src, c.kind, issues)
		}
	}
}
