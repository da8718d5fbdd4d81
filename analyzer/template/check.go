package template

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/violet-mlsecops/violet/finding"
)

// IssueKind is the kind of an issue.
type IssueKind int

const (
	// Injection: the template reaches Python internals.
	Injection IssueKind = iota
	// Suspicious: the template uses constructs real chat templates do not.
	Suspicious
)

// Rule returns the finding rule id of the kind.
func (k IssueKind) Rule() string {
	if k == Injection {
		return finding.TemplateInjection
	}
	return finding.TemplateSuspicious
}

// String names the kind.
func (k IssueKind) String() string {
	if k == Injection {
		return "injection"
	}
	return "suspicious"
}

// Issue is one problem found in a template.
type Issue struct {
	Kind IssueKind
	// Message says what was found.
	Message string
	// Evidence is the offending excerpt of the template source.
	Evidence string
	// Offset is the byte offset of the excerpt in the template.
	Offset int
}

// internals are names of Python modules, builtins and frame attributes a
// template never needs.
var internals = map[string]bool{
	"os": true, "sys": true, "subprocess": true, "builtins": true, "eval": true, "exec": true,
	"popen": true, "system": true, "import_module": true, "importlib": true, "func_globals": true,
	"gi_frame": true, "gi_code": true, "f_locals": true, "f_globals": true, "f_back": true, "f_builtins": true,
	"co_code": true, "tb_frame": true, "tb_next": true, "cr_frame": true, "ag_frame": true, "func_code": true,
	"getattr": true, "compile": true, "globals": true, "locals": true, "open": true, "spawn": true,
}

// attrInternals are the internals flagged when reached as attributes.
var attrInternals = internals

// helpers are Jinja's global helper objects.
var helpers = map[string]bool{"cycler": true, "joiner": true, "lipsum": true, "namespace": true}

// flaskGlobals are Flask's template globals.
var flaskGlobals = map[string]bool{"request": true, "config": true, "url_for": true, "g": true, "session": true, "get_flashed_messages": true}

func isDunder(s string) bool {
	return len(s) > 4 && strings.HasPrefix(s, "__") && strings.HasSuffix(s, "__")
}

// looksDunder also catches names padded or with a fullwidth low line.
func looksDunder(s string) bool {
	t := strings.TrimSpace(strings.ReplaceAll(s, "＿", "_"))
	return isDunder(t)
}

type checker struct {
	src    string
	issues []Issue
	seen   map[string]bool
	bound  map[string]bool
	consts map[string]any
	multi  map[string]bool
	memo   map[*Node]folded
}

type folded struct {
	v  any
	ok bool
}

// Check returns the issues of a parsed template. Every branch counts,
// whether or not it would render.
func Check(t *Tree) []Issue {
	c := &checker{src: t.Src, seen: map[string]bool{}, bound: map[string]bool{}, consts: map[string]any{}, multi: map[string]bool{}, memo: map[*Node]folded{}}
	c.bind(t.Nodes)
	c.nodes(t.Nodes)
	return c.issues
}

// CheckTemplate parses and checks a template source.
func CheckTemplate(src string) ([]Issue, error) {
	t, err := Parse(src)
	if err != nil {
		return nil, err
	}
	return Check(t), nil
}

func (c *checker) report(k IssueKind, n *Node, format string, args ...any) {
	ev := c.src[n.Pos:min(n.End, len(c.src))]
	if len(ev) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(ev[cut]) {
			cut--
		}
		ev = ev[:cut] + "..."
	}
	msg := fmt.Sprintf(format, args...)
	key := fmt.Sprintf("%d/%d/%s", k, n.Pos, msg)
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.issues = append(c.issues, Issue{Kind: k, Message: msg, Evidence: ev, Offset: n.Pos})
}

// bind collects the names the template binds itself (set, for, macro
// parameters, imports), and the constant values of set names.
func (c *checker) bind(nodes []*Node) {
	for _, n := range nodes {
		if n == nil {
			continue
		}
		if n.Kind == Stmt {
			c.bindTargets(n)
			for _, b := range n.Bodies {
				c.bind(b)
			}
		}
	}
}

func (c *checker) bindTargets(n *Node) {
	var mark func(t *Node)
	mark = func(t *Node) {
		if t == nil {
			return
		}
		switch t.Kind {
		case Name:
			c.bound[t.Name] = true
		case Tuple:
			for _, x := range t.Children {
				mark(x)
			}
		}
	}
	switch n.Name {
	case "for":
		if len(n.Children) > 0 {
			mark(n.Children[0])
		}
	case "set", "with":
		for i, ch := range n.Children {
			if n.Name == "with" && i%2 == 1 || n.Name == "set" && i > 0 {
				continue
			}
			mark(ch)
			if n.Name == "set" && ch.Kind == Name && len(n.Children) > 1 && len(n.Bodies) == 0 {
				v, ok := c.fold(n.Children[1], 0)
				if old, had := c.consts[ch.Name]; !ok || had && fmt.Sprint(old) != fmt.Sprint(v) {
					c.multi[ch.Name] = true
				} else {
					c.consts[ch.Name] = v
				}
			}
		}
	case "macro", "call", "import", "from":
		for i, ch := range n.Children {
			if ch.Kind == Name && (len(ch.Ops) > 0 && ch.Ops[0] != "" || n.Name == "macro" && i == 0) {
				c.bound[ch.Name] = true
			}
		}
	}
}

func (c *checker) nodes(nodes []*Node) {
	for _, n := range nodes {
		switch n.Kind {
		case Output:
			c.expr(n.Children[0], nil)
		case Stmt:
			for _, ch := range n.Children {
				if ch.Kind == Name && len(ch.Ops) > 0 {
					if ch.Ops[0] == "import" {
						c.attrName(ch, ch.Name)
					}
					continue // a bound name, not a use
				}
				c.expr(ch, nil)
			}
			for _, b := range n.Bodies {
				c.nodes(b)
			}
		}
	}
}

// attrName checks a name reached as an attribute or a subscript.
func (c *checker) attrName(n *Node, name string) {
	c.memberName(n, name, false)
}

// memberName checks a name reached as an attribute, or as a subscript (where
// the dictionary keys "system" and "open" are common).
func (c *checker) memberName(n *Node, name string, subscript bool) {
	switch {
	case looksDunder(name):
		c.report(Injection, n, "reaches the Python internal attribute %s", strings.TrimSpace(name))
	case subscript && (name == "system" || name == "open"):
	case attrInternals[name]:
		c.report(Injection, n, "reaches the Python internal %s", name)
	}
}

// expr checks expression n whose parent is parent.
func (c *checker) expr(n, parent *Node) {
	if n == nil {
		return
	}
	switch n.Kind {
	case Name:
		if len(n.Ops) > 0 && n.Ops[0] == "store" {
			return
		}
		switch {
		case isDunder(n.Name):
			c.report(Injection, n, "reaches the Python internal %s", n.Name)
		case c.bound[n.Name]:
		case internals[n.Name] && n.Name != "open" && n.Name != "system":
			c.report(Injection, n, "reaches the Python internal %s", n.Name)
		case n.Name == "self":
			c.report(Suspicious, n, "uses the template object self")
		case helpers[n.Name]:
			if parent == nil || parent.Kind != Call || parent.Children[0] != n {
				c.report(Suspicious, n, "uses the global helper %s as an object", n.Name)
			}
		case flaskGlobals[n.Name]:
			c.report(Suspicious, n, "uses the Flask global %s", n.Name)
		}
	case Const:
		if n.IsStr && isDunder(n.Value) {
			c.report(Injection, n, "holds the Python internal name %s", n.Value)
		}
	case Getattr:
		c.attrName(n, n.Name)
		if x := n.Children[0]; x.Kind == Name && helpers[x.Name] && !c.bound[x.Name] {
			c.report(Suspicious, n, "takes an attribute of the global helper %s", x.Name)
		}
	case Getitem:
		arg := n.Children[1]
		if v, ok := c.fold(arg, 0); ok {
			if s, isStr := v.(string); isStr {
				c.memberName(n, s, true)
				if arg.Kind != Const && isIdent(s) && !isDunder(s) {
					c.report(Suspicious, n, "subscripts with the computed name %q", s)
				}
				if arg.Kind == Const && arg.Escaped && isIdent(s) {
					c.report(Suspicious, n, "subscripts with the escaped name %q", s)
				}
			}
		} else if c.computedString(arg) {
			c.report(Suspicious, n, "subscripts with a name built from strings")
		}
		if x := n.Children[0]; x.Kind == Name && helpers[x.Name] && !c.bound[x.Name] {
			c.report(Suspicious, n, "subscripts the global helper %s", x.Name)
		}
	case Filter:
		c.filter(n)
	case BinOp:
		if n.Name == "~" || n.Name == "+" || n.Name == "%" || n.Name == "*" {
			if v, ok := c.fold(n, 0); ok {
				if s, isStr := v.(string); isStr && looksDunder(s) {
					c.report(Injection, n, "builds the Python internal name %s", strings.TrimSpace(s))
				}
			}
		}
	case Call:
		if fn := n.Children[0]; fn.Kind == Getattr {
			if v, ok := c.fold(n, 0); ok {
				if s, isStr := v.(string); isStr && looksDunder(s) {
					c.report(Injection, n, "builds the Python internal name %s", strings.TrimSpace(s))
				}
			}
		}
		if fn := n.Children[0]; fn.Kind == Name && (fn.Name == "getattr" || fn.Name == "setattr") && len(n.Children) > 2 {
			c.nameArg(n, n.Children[2], "getattr")
		}
	}
	for _, ch := range n.Children {
		c.expr(ch, n)
	}
	for _, kw := range n.Kwargs {
		c.expr(kw.Value, n)
	}
}

func (c *checker) filter(n *Node) {
	args := n.Children[1:]
	switch n.Name {
	case "attr":
		if len(args) > 0 {
			c.nameArg(n, args[0], "attr filter")
		}
	case "map", "selectattr", "rejectattr", "groupby", "sort", "sum", "unique", "min", "max":
		var names []*Node
		for _, kw := range n.Kwargs {
			if kw.Name == "attribute" {
				names = append(names, kw.Value)
			}
		}
		if n.Name != "map" && len(args) > 0 {
			names = append(names, args[0])
		}
		if n.Name == "map" && len(args) > 0 {
			if v, ok := c.fold(args[0], 0); ok && v == "attr" && len(args) > 1 {
				names = append(names, args[1])
			}
		}
		for _, a := range names {
			c.nameArg(n, a, n.Name+" filter")
		}
	case "join", "replace", "format", "reverse", "lower", "upper", "string", "trim", "first", "last", "title", "capitalize":
		if v, ok := c.fold(n, 0); ok {
			if s, isStr := v.(string); isStr && looksDunder(s) {
				c.report(Injection, n, "builds the Python internal name %s", strings.TrimSpace(s))
			}
		}
	}
}

// nameArg checks an attribute name given as an argument.
func (c *checker) nameArg(n, arg *Node, what string) {
	v, ok := c.fold(arg, 0)
	s, isStr := v.(string)
	switch {
	case ok && isStr:
		for _, part := range strings.Split(s, ".") {
			c.attrName(n, part)
		}
		if arg.Kind != Const || arg.Escaped {
			c.report(Suspicious, n, "%s with the computed or escaped name %q", what, s)
		}
	case !ok:
		c.report(Suspicious, n, "%s with a computed name", what)
	}
}

// computedString reports whether n builds a string from string pieces.
func (c *checker) computedString(n *Node) bool {
	switch n.Kind {
	case BinOp:
		if n.Name == "~" || (n.Name == "+" || n.Name == "%") && (hasString(n.Children[0]) || hasString(n.Children[1])) {
			return true
		}
	case Filter:
		switch n.Name {
		case "join", "format", "replace", "reverse", "string", "lower", "upper":
			return true
		}
	case Call:
		if fn := n.Children[0]; fn.Kind == Getattr {
			switch fn.Name {
			case "format", "join", "replace", "lower", "upper":
				return true
			}
		}
	}
	return false
}

// hasString reports whether n is a string constant or an expression built
// directly from one.
func hasString(n *Node) bool {
	if n == nil {
		return false
	}
	switch n.Kind {
	case Const:
		return n.IsStr
	case BinOp, Filter:
		for _, ch := range n.Children {
			if hasString(ch) {
				return true
			}
		}
	}
	return false
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

const maxFold = 1 << 16

// foldAll folds every node of ns, or reports that one cannot be folded.
func (c *checker) foldAll(ns []*Node, depth int) ([]any, bool) {
	out := make([]any, 0, len(ns))
	for _, a := range ns {
		v, ok := c.fold(a, depth)
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// fold evaluates n when it is built from constants only: string, int64,
// float64, bool, nil or []any.
func (c *checker) fold(n *Node, depth int) (any, bool) {
	if n == nil || depth > MaxDepth*2 {
		return nil, false
	}
	if r, ok := c.memo[n]; ok {
		return r.v, r.ok
	}
	v, ok := c.fold1(n, depth)
	c.memo[n] = folded{v, ok}
	return v, ok
}

func (c *checker) fold1(n *Node, depth int) (any, bool) {
	d := depth + 1
	switch n.Kind {
	case Const:
		switch {
		case n.IsStr:
			return n.Value, true
		case n.Num != "":
			if i, err := strconv.ParseInt(n.Num, 10, 64); err == nil {
				return i, true
			}
			f, ok := number(n.Num)
			return f, ok
		case n.Name == "true" || n.Name == "True":
			return true, true
		case n.Name == "false" || n.Name == "False":
			return false, true
		}
		return nil, true
	case Name:
		if v, ok := c.consts[n.Name]; ok && !c.multi[n.Name] {
			return v, true
		}
	case List, Tuple:
		out := make([]any, 0, len(n.Children))
		for _, ch := range n.Children {
			v, ok := c.fold(ch, d)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	case BinOp:
		a, ok1 := c.fold(n.Children[0], d)
		b, ok2 := c.fold(n.Children[1], d)
		if !ok1 || !ok2 {
			return nil, false
		}
		return binop(n.Name, a, b)
	case Getitem:
		x, ok := c.fold(n.Children[0], d)
		s, isStr := x.(string)
		if !ok || !isStr {
			return nil, false
		}
		arg := n.Children[1]
		if arg.Kind == Slice {
			var idx [3]any
			for i, p := range arg.Children {
				if p != nil {
					v, ok := c.fold(p, d)
					if !ok {
						return nil, false
					}
					idx[i] = v
				}
			}
			return slice(s, idx)
		}
		v, ok := c.fold(arg, d)
		i, isInt := v.(int64)
		r := []rune(s)
		if !ok || !isInt {
			return nil, false
		}
		if i < 0 {
			i += int64(len(r))
		}
		if i < 0 || i >= int64(len(r)) {
			return nil, false
		}
		return string(r[i]), true
	case Filter:
		if n.Children[0] == nil {
			return nil, false
		}
		x, ok := c.fold(n.Children[0], d)
		if !ok {
			return nil, false
		}
		args, ok := c.foldAll(n.Children[1:], d)
		if !ok {
			return nil, false
		}
		return applyFilter(n.Name, x, args)
	case Call:
		fn := n.Children[0]
		if fn.Kind != Getattr {
			return nil, false
		}
		x, ok := c.fold(fn.Children[0], d)
		s, isStr := x.(string)
		if !ok || !isStr {
			return nil, false
		}
		args, ok := c.foldAll(n.Children[1:], d)
		if !ok {
			return nil, false
		}
		switch fn.Name {
		case "format":
			return braceFormat(s, args)
		case "join", "replace", "lower", "upper":
			if fn.Name == "join" && len(args) == 1 {
				return applyFilter("join", args[0], []any{s})
			}
			return applyFilter(fn.Name, s, args)
		case "strip":
			return strings.TrimSpace(s), len(args) == 0
		}
	}
	return nil, false
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if s, ok := e.(string); ok {
				parts[i] = "'" + s + "'"
			} else {
				parts[i] = str(e)
			}
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}

func binop(op string, a, b any) (any, bool) {
	as, aStr := a.(string)
	bs, bStr := b.(string)
	ai, aInt := a.(int64)
	bi, bInt := b.(int64)
	switch op {
	case "~":
		r := str(a) + str(b)
		return r, len(r) <= maxFold
	case "+":
		switch {
		case aStr && bStr:
			return as + bs, len(as)+len(bs) <= maxFold
		case aInt && bInt:
			return ai + bi, true
		}
		if al, ok := a.([]any); ok {
			if bl, ok := b.([]any); ok && len(al)+len(bl) <= maxFold {
				return append(append([]any{}, al...), bl...), true
			}
		}
	case "*":
		if bStr && aInt {
			as, bi, aStr, bInt = bs, ai, true, true
		}
		switch {
		case aStr && bInt:
			if bi < 0 {
				bi = 0
			}
			if int64(len(as))*bi > maxFold {
				return nil, false
			}
			return strings.Repeat(as, int(bi)), true
		case aInt && bInt && ai < math.MaxInt32 && bi < math.MaxInt32 && ai > -math.MaxInt32 && bi > -math.MaxInt32:
			return ai * bi, true
		}
	case "-":
		if aInt && bInt {
			return ai - bi, true
		}
	case "%":
		if aStr {
			return percentFormat(as, b)
		}
	}
	return nil, false
}

// percentFormat applies Python's % formatting for %s, %r, %c, %d and %%.
func percentFormat(f string, arg any) (any, bool) {
	args, isList := arg.([]any)
	if !isList {
		args = []any{arg}
	}
	var b strings.Builder
	k := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		i++
		if i >= len(f) {
			return nil, false
		}
		if f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		if k >= len(args) {
			return nil, false
		}
		a := args[k]
		k++
		switch f[i] {
		case 's', 'r', 'd', 'i':
			b.WriteString(str(a))
		case 'c':
			switch x := a.(type) {
			case int64:
				if x < 0 || x > 0x10ffff {
					return nil, false
				}
				b.WriteRune(rune(x))
			case string:
				b.WriteString(x)
			default:
				return nil, false
			}
		default:
			return nil, false
		}
		if b.Len() > maxFold {
			return nil, false
		}
	}
	return b.String(), true
}

// braceFormat applies str.format for {} and {N}.
func braceFormat(f string, args []any) (any, bool) {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(f); i++ {
		switch {
		case f[i] == '{' && i+1 < len(f) && f[i+1] == '{':
			b.WriteByte('{')
			i++
		case f[i] == '}' && i+1 < len(f) && f[i+1] == '}':
			b.WriteByte('}')
			i++
		case f[i] == '{':
			j := strings.IndexByte(f[i:], '}')
			if j < 0 {
				return nil, false
			}
			field := f[i+1 : i+j]
			idx := auto
			if field == "" {
				auto++
			} else {
				n, err := strconv.Atoi(field)
				if err != nil {
					return nil, false
				}
				idx = n
			}
			if idx < 0 || idx >= len(args) {
				return nil, false
			}
			b.WriteString(str(args[idx]))
			if b.Len() > maxFold {
				return nil, false
			}
			i += j
		default:
			b.WriteByte(f[i])
		}
	}
	return b.String(), true
}

func slice(s string, idx [3]any) (any, bool) {
	r := []rune(s)
	n := int64(len(r))
	get := func(v any, def int64) (int64, bool) {
		if v == nil {
			return def, true
		}
		i, ok := v.(int64)
		return i, ok
	}
	step, ok := get(idx[2], 1)
	if !ok || step == 0 {
		return nil, false
	}
	var start, stop int64
	if step > 0 {
		start, ok = get(idx[0], 0)
		if !ok {
			return nil, false
		}
		stop, ok = get(idx[1], n)
	} else {
		start, ok = get(idx[0], n-1)
		if !ok {
			return nil, false
		}
		stop, ok = get(idx[1], -n-1)
	}
	if !ok {
		return nil, false
	}
	norm := func(i int64, lo, hi int64) int64 {
		if i < 0 {
			i += n
		}
		return max(lo, min(i, hi))
	}
	var out []rune
	if step > 0 {
		start, stop = norm(start, 0, n), norm(stop, 0, n)
		for i := start; i < stop; i += step {
			out = append(out, r[i])
		}
	} else {
		start, stop = norm(start, -1, n-1), norm(stop, -1, n-1)
		for i := start; i > stop; i += step {
			out = append(out, r[i])
		}
	}
	return string(out), true
}

func applyFilter(name string, x any, args []any) (any, bool) {
	s, isStr := x.(string)
	switch name {
	case "join":
		sep := ""
		if len(args) > 0 {
			sep, _ = args[0].(string)
		}
		var parts []string
		switch l := x.(type) {
		case []any:
			for _, e := range l {
				parts = append(parts, str(e))
			}
		case string:
			for _, r := range l {
				parts = append(parts, string(r))
			}
		default:
			return nil, false
		}
		r := strings.Join(parts, sep)
		return r, len(r) <= maxFold
	case "replace":
		if !isStr || len(args) < 2 {
			return nil, false
		}
		old, ok1 := args[0].(string)
		nw, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return nil, false
		}
		count := -1
		if len(args) > 2 {
			c, ok := args[2].(int64)
			if !ok {
				return nil, false
			}
			count = int(c)
		}
		if len(s)*(len(nw)+1) > maxFold {
			return nil, false
		}
		return strings.Replace(s, old, nw, count), true
	case "format":
		if !isStr {
			return nil, false
		}
		if len(args) == 1 {
			return percentFormat(s, args[0])
		}
		return percentFormat(s, args)
	case "reverse":
		if isStr {
			r := []rune(s)
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
			return string(r), true
		}
	case "lower":
		return strings.ToLower(s), isStr
	case "upper":
		return strings.ToUpper(s), isStr
	case "trim":
		return strings.TrimSpace(s), isStr
	case "string":
		return str(x), true
	case "first", "last":
		if l, ok := x.([]any); ok && len(l) > 0 {
			if name == "first" {
				return l[0], true
			}
			return l[len(l)-1], true
		}
	}
	return nil, false
}
