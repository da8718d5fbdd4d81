package template

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// foldExpr folds the expression of a one-output template.
func foldExpr(t *testing.T, expr string) (any, bool, []Issue) {
	t.Helper()
	tree, err := Parse("{{ " + expr + " }}")
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	c := &checker{src: tree.Src, seen: map[string]bool{}, bound: map[string]bool{}, consts: map[string]any{}, multi: map[string]bool{}, memo: map[*Node]folded{}}
	c.prefoldNodes(tree.Nodes)
	v, ok := c.fold(tree.Nodes[0].Children[0], 0)
	return v, ok, c.issues
}

func TestFoldValues(t *testing.T) {
	for _, c := range []struct{ name, expr, want string }{
		{"tilde", `'__cla' ~ 'ss__'`, "__class__"},
		{"tilde_int", `'a' ~ 1 ~ none`, "a1None"},
		{"plus", `'__glo' + 'bals__'`, "__globals__"},
		{"join_list", `['__', 'globals', '__']|join`, "__globals__"},
		{"join_tuple_sep", `('', 'globals', '')|join('__')`, "__globals__"},
		{"join_string", `'abc'|join('-')`, "a-b-c"},
		{"replace", `'..globals..'|replace('.', '_')`, "__globals__"},
		{"replace_count", `'aaa'|replace('a', 'b', 2)`, "bba"},
		{"reverse", `'slabolg__'|reverse`, "__globals"},
		{"lower", `'__GLOBALS__'|lower`, "__globals__"},
		{"upper", `'popen'|upper`, "POPEN"},
		{"string_list", `['a', 1]|string`, "['a', 1]"},
		{"format_filter", `'%sglobals%s'|format('__', '__')`, "__globals__"},
		{"format_filter_kwargs", `'%(u)sglobals%(u)s'|format(u='__')`, "__globals__"},
		{"percent_tuple", `'%s%s' % ('__glo', 'bals__')`, "__globals__"},
		{"percent_c", `'%c%cglobals%c%c' % (95, 95, 95, 95)`, "__globals__"},
		{"percent_width", `'%-5s|%05d|%x' % ('ab', 42, 255)`, "ab   |00042|ff"},
		{"percent_dict", `'%(a)s' % {'a': 'x'}`, "x"},
		{"str_format", `'{}globals{}'.format('__', '__')`, "__globals__"},
		{"str_format_index", `'{0}globals{0}'.format('__')`, "__globals__"},
		{"str_format_kwargs", `'{u}globals{u}'.format(u='__')`, "__globals__"},
		{"str_format_spec_center", `'{:_^11}'.format('globals')`, "__globals__"},
		{"str_format_spec_c", `'{:c}{:c}'.format(95, 95)`, "__"},
		{"str_format_nested_spec", `'{0:{1}^11}'.format('globals', '_')`, "__globals__"},
		{"str_format_item", `'{0[1]}'.format(['a', 'b'])`, "b"},
		{"str_format_repr", `'{0!r}'.format('a')`, "'a'"},
		{"format_map", `'{a}{b}'.format_map({'a': '__', 'b': 'x'})`, "__x"},
		{"slice_reverse", `'__ssalc__'[::-1]`, "__class__"},
		{"slice_inner", `'x__slabolg__x'[-2:0:-1]`, "__globals__"},
		{"index", `'a_b'[1]`, "_"},
		{"index_negative", `'a_b'[-1]`, "b"},
		{"list_join", `'slabolg__'|list|reverse|join`, "__globals"},
		{"list_index", `('_', 'x')[0]`, "_"},
		{"method_join", `''.join(['__', 'globals', '__'])`, "__globals__"},
		{"method_replace", `'..globals..'.replace('.', '_')`, "__globals__"},
		{"method_lower", `'__GLO'.lower() ~ 'BALS__'.lower()`, "__globals__"},
		{"method_upper", `'os'.upper()`, "OS"},
		{"method_center", `'globals'.center(11, '_')`, "__globals__"},
		{"method_strip", `'xx__globals__xx'.strip('x')`, "__globals__"},
		{"method_split_join", `'_/_/globals/_/_'.split('/')|join`, "__globals__"},
		{"method_by_subscript", `'a'['upper']()`, "A"},
		{"method_by_attr", `'a'|attr('upper')()`, "A"},
		{"dict_first", `dict(__globals__=1)|first`, "__globals__"},
		{"dict_list_join", `{'__glo': 1, 'bals__': 2}|list|join`, "__globals__"},
		{"cond", `'__glo' ~ 'bals__' if true else 'x'`, "__globals__"},
		{"repeat", `'_' * 2 ~ 'globals' ~ 2 * '_'`, "__globals__"},
		{"length_int", `'%c' % ('abc'|length + 92)`, "_"},
		{"trim", `'  x '|trim`, "x"},
		{"int_filter", `'%c' % ('95'|int)`, "_"},
		{"pop", `['_', 'a'].pop(0)`, "_"},
		{"escape", `'%c'|format(95)|e`, "_"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, ok, issues := foldExpr(t, c.expr)
			if !ok {
				t.Fatalf("%s: does not fold (issues %+v)", c.expr, issues)
			}
			if got := str(v); got != c.want {
				t.Errorf("%s = %q, want %q", c.expr, got, c.want)
			}
		})
	}
}

func TestFoldUnknown(t *testing.T) {
	for _, c := range []struct{ name, expr string }{
		{"variable", `x ~ 'a'`},
		{"attribute_field", `'{0.__class__}'.format('a')`},
		{"bad_format", `'{'.format(1)`},
		{"missing_arg", `'{1}'.format(1)`},
		{"percent_too_few", `'%s%s' % ('a',)`},
		{"percent_too_many", `'%s' % ('a', 'b')`},
		{"unknown_method", `'a'.encode()`},
		{"unknown_filter", `'a'|tojson`},
		{"index_out_of_range", `'a'[5]`},
		{"zero_step", `'abc'[::0]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if v, ok, _ := foldExpr(t, c.expr); ok {
				t.Errorf("%s folds to %#v", c.expr, v)
			}
		})
	}
}

// TestEvasions checks that each way of building a name from strings is
// judged as the literal name would be, with the folded value in the
// evidence.
func TestEvasions(t *testing.T) {
	for _, c := range []struct {
		name, src string
		// value is the folded value the evidence must show ("" for a
		// literal judged as such).
		value string
	}{
		{"tilde", `{{ cycler|attr('__in' ~ 'it__')|attr('__glo' ~ 'bals__') }}`, "'__globals__'"},
		{"plus", `{{ x|attr('__glo' + 'bals__') }}`, "'__globals__'"},
		{"join_list", `{{ x|attr(['__', 'glo', 'bals', '__']|join) }}`, "'__globals__'"},
		{"join_tuple_separator", `{{ x|attr(('', 'globals', '')|join('__')) }}`, "'__globals__'"},
		{"replace", `{{ x|attr('..globals..'|replace('.', '_')) }}`, "'__globals__'"},
		{"reverse", `{{ x|attr('slabolg__'|reverse ~ '__') }}`, "'__globals__'"},
		{"lower", `{{ x|attr(('__GLO' ~ 'BALS__')|lower) }}`, "'__globals__'"},
		{"upper_lower", `{% set n = 'POPEN'|lower %}{{ m|attr(n)('id') }}`, "'popen'"},
		{"string", `{{ x|attr((('__glo', 'bals__')|join)|string) }}`, "'__globals__'"},
		{"format_filter", `{{ x|attr('%sglobals%s'|format('__', '__')) }}`, "'__globals__'"},
		{"percent", `{{ x|attr('%s%s' % ('__glo', 'bals__')) }}`, "'__globals__'"},
		{"percent_c", `{{ x|attr('%c%cglobals%c%c' % (95, 95, 95, 95)) }}`, "'__globals__'"},
		{"str_format", `{{ x|attr('{}globals{}'.format('__', '__')) }}`, "'__globals__'"},
		{"str_format_spec", `{{ x|attr('{:_^11}'.format('globals')) }}`, "'__globals__'"},
		{"str_format_kwargs", `{{ x|attr('{u}globals{u}'.format(u='__')) }}`, "'__globals__'"},
		{"slice", `{{ x|attr('x__slabolg__x'[-2:0:-1]) }}`, "'__globals__'"},
		{"index", `{% set u = 'a_b'[1] %}{{ x|attr(u ~ u ~ 'globals' ~ u ~ u) }}`, "'__globals__'"},
		{"list_join", `{{ x|attr(('_', '_', 'glo')|list|join ~ 'bals__') }}`, "'__globals__'"},
		{"string_list_reverse_join", `{{ x|attr('slabolg__'|list|reverse|join ~ '__') }}`, "'__globals__'"},
		{"method_join", `{{ x|attr(''.join(['__', 'globals', '__'])) }}`, "'__globals__'"},
		{"method_replace", `{{ x|attr('..globals..'.replace('.', '_')) }}`, "'__globals__'"},
		{"method_lower", `{{ x|attr('__GLO'.lower() ~ 'BALS__'.lower()) }}`, "'__globals__'"},
		{"method_upper", `{{ x['o'.upper()|lower ~ 's'] }}`, "'os'"},
		{"method_center", `{{ x|attr('globals'.center(11, '_')) }}`, "'__globals__'"},
		{"subscript", `{{ x['__glo' ~ 'bals__'] }}`, "'__globals__'"},
		{"map_attribute", `{{ xs|map(attribute='__glo' ~ 'bals__')|list }}`, "'__globals__'"},
		{"set_variables", `{% set a = '__glo' %}{% set b = a ~ 'bals__' %}{{ x|attr(b) }}`, "'__globals__'"},
		{"dict_keys", `{{ x|attr(dict(__globals__=1)|first) }}`, "'__globals__'"},
		{"conditional", `{{ x|attr('__glo' ~ 'bals__' if true else 'a') }}`, "'__globals__'"},
		{"os_popen", `{{ x|attr('o' ~ 's')|attr('po' ~ 'pen')('id') }}`, "'popen'"},
		{"getattr", `{{ getattr(x, '__glo' ~ 'bals__') }}`, "'__globals__'"},
		// Format strings whose fields reach attributes.
		{"format_literal", `{{ '{0.__init__.__globals__}'.format(cycler) }}`, ""},
		{"format_literal_item", `{{ '{0[__builtins__]}'.format(g) }}`, ""},
		{"format_literal_nested", `{{ '{0:{1.__class__}}'.format(x, y) }}`, ""},
		{"format_literal_attr_format", `{{ '{0.__call__.__globals__}'|attr('format')(x) }}`, ""},
		{"format_literal_os", `{{ '{0.os.popen}'.format(g) }}`, ""},
		{"format_built", `{{ ('{0.__init' ~ '__.__glo' ~ 'bals__}').format(cycler) }}`, "'{0.__init__.__globals__}'"},
		{"format_built_attr", `{{ ('{0.__in' ~ 'it__}')|attr('format')(x) }}`, "'{0.__init__}'"},
		{"format_built_item", `{{ ('{0[__built' ~ 'ins__]}').format(x) }}`, "'{0[__builtins__]}'"},
		{"format_built_subscript", `{{ ('{0.__cl' ~ 'ass__}')['format'](x) }}`, "'{0.__class__}'"},
		{"format_map", `{{ ('{a.__cl' ~ 'ass__}').format_map({'a': x}) }}`, "'{a.__class__}'"},
		{"format_set", `{% set f = '{0.__glo' %}{% set f2 = f ~ 'bals__}' %}{{ f2.format(x) }}`, "'{0.__globals__}'"},
		{"format_percent_built", `{{ ('{0.%s}' % '__class__').format(x) }}`, ""},
		{"format_percent_pieces", `{{ ('{0.%s%s}' % ('__cla', 'ss__')).format(x) }}`, "'{0.__class__}'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			issues, err := CheckTemplate(c.src)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, is := range issues {
				if is.Kind != Injection {
					continue
				}
				if c.value == "" || is.Value == c.value {
					found = true
				}
				if !strings.Contains(c.src, excerpt(is)) || is.Offset < 0 || is.Offset >= len(c.src) {
					t.Errorf("bad evidence %q at %d", is.Evidence, is.Offset)
				}
				if is.Value != "" && !strings.HasSuffix(is.Evidence, " = "+is.Value) {
					t.Errorf("evidence %q does not show the value %s", is.Evidence, is.Value)
				}
			}
			if !found {
				t.Errorf("no injection with the value %s: %+v", c.value, issues)
			}
		})
	}
}

// TestEvidence checks the evidence of a folded name word for word.
func TestEvidence(t *testing.T) {
	issues, err := CheckTemplate(`{{ ()|attr('__cla' ~ 'ss__') }}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, is := range issues {
		if is.Evidence == `()|attr('__cla' ~ 'ss__') = '__class__'` && is.Kind == Injection {
			return
		}
	}
	t.Errorf("no evidence attr('__cla' ~ 'ss__') = '__class__': %+v", issues)
}

// TestFoldBenign checks that the strings real templates build are not
// judged.
func TestFoldBenign(t *testing.T) {
	for _, c := range []struct{ name, src string }{
		{"json_braces", `{{ '{"name": "' ~ tool.name ~ '", "arguments": ' ~ args|tojson ~ '}' }}`},
		{"format_plain", `{{ '{0} and {1}'.format('a', 'b') }}`},
		{"format_item_index", `{{ '{0[0]}'.format(x) }}`},
		{"format_attr_plain", `{{ '{0.content}'.format(message) }}`},
		{"roles", `{{ '<|' ~ message['role'] ~ '|>' }}{{ messages[0]['role'] == 'system' }}`},
		{"system_key", `{% set k = 'sys' ~ 'tem' %}{{ roles[k] }}`},
		{"percent_text", `{{ 'Today is %s.' % date }}{{ '%d%%' % 5 }}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			issues, err := CheckTemplate(c.src)
			if err != nil {
				t.Fatal(err)
			}
			for _, is := range issues {
				if is.Kind == Injection {
					t.Errorf("%s %s (%q)", is.Kind, is.Message, is.Evidence)
				}
			}
		})
	}
}

// TestFoldLimits checks that expressions over the folder's limits are
// reported, quickly.
func TestFoldLimits(t *testing.T) {
	big := "{% set a = 'a' * 60000 %}" + strings.Repeat("{{ x[a ~ 'b'] }}", 1000)
	for _, c := range []struct{ name, src, want string }{
		{"repeat", `{{ x|attr('_' * 70000) }}`, "more than 65536 bytes"},
		{"repeat_huge", `{{ x|attr('_' * 100000 * 100000) }}`, "more than 65536 bytes"},
		{"replace", `{{ ('a' * 60000)|replace('a', 'bbbbbbbbbb') }}`, "more than 65536 bytes"},
		{"join_separator", `{{ (('a',) * 1000)|join('b' * 1000) }}`, "more than 65536 bytes"},
		{"format_width", `{{ '{:_^99999999}'.format('x') }}`, ""},
		{"percent_width", `{{ '%99999999s' % 'x' }}`, "more than 65536 bytes"},
		{"center", `{{ 'x'.center(99999999, '_') }}`, "more than 65536 bytes"},
		{"work", big, "the rest were not"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			issues, err := CheckTemplate(c.src)
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			if c.want == "" {
				return
			}
			for _, is := range issues {
				if is.Kind == Suspicious && strings.Contains(is.Message, c.want) {
					return
				}
			}
			t.Errorf("no report %q: %+v", c.want, issues)
		})
	}
}

// foldSeeds are evasion forms for the fuzz targets.
var foldSeeds = []string{
	`{{ x|attr('__cla' ~ 'ss__') }}`,
	`{{ ('{0.__in' ~ 'it__}')|attr('format')(x) }}`,
	`{{ '{0:{1.__class__}}'.format(x, y) }}`,
	`{{ '%(a)-5s%c' % {'a': 1} }}{{ '%c' % (95,) }}`,
	`{{ '{:_^11}'.format('globals') }}{{ '{0!r:>{1}}'.format('a', 3) }}`,
	`{{ 'x__slabolg__x'[-2:0:-1] }}{{ ('a',)*3|join(',') }}`,
	`{{ dict(a=1)|list|reverse|join }}{{ 'a'.center(5, '_') }}`,
	`{{ '{0[__builtins__]}'.format(x) }}{{ '{' }}{{ '}' }}{{ '{{}}'.format() }}`,
}

func FuzzFold(f *testing.F) {
	for _, s := range foldSeeds {
		f.Add(s)
	}
	m, _ := filepath.Glob(filepath.Join("testdata", "malicious", "*.jinja"))
	for _, p := range m {
		data, _ := os.ReadFile(p)
		f.Add(string(data))
	}
	f.Fuzz(func(t *testing.T, src string) {
		// Format strings on their own: no panic, bounded output.
		c := &checker{memo: map[*Node]folded{}}
		if v, ok := c.braceFormat(src, []any{"a", int64(95)}, &dict{keys: []string{"a"}, vals: []any{"b"}}); ok && size(v) > 2*MaxFoldLen {
			t.Fatalf("format result of %d bytes", size(v))
		}
		if v, ok := c.percentFormat(src, tuple{"a", int64(95)}); ok && size(v) > 2*MaxFoldLen {
			t.Fatalf("percent result of %d bytes", size(v))
		}
		judgeFields(src)
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
