package template

import (
	"fmt"
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
	// Evidence is the offending excerpt of the template source; when the
	// issue is about a constant the excerpt folds to, it is followed by
	// " = " and Value.
	Evidence string
	// Value is the Python repr of the folded constant the issue is about
	// (a name built from strings, a format string), or "".
	Value string
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
	// steps and work count the folder's expressions and bytes.
	steps, work int
	// exhausted is set once the folder's budget is spent.
	exhausted bool
	// tooLong is set by an operation whose result would exceed MaxFoldLen.
	tooLong bool
}

// Check returns the issues of a parsed template. Every branch counts,
// whether or not it would render.
func Check(t *Tree) []Issue {
	c := &checker{src: t.Src, seen: map[string]bool{}, bound: map[string]bool{}, consts: map[string]any{}, multi: map[string]bool{}, memo: map[*Node]folded{}}
	c.bind(t.Nodes)
	c.prefoldNodes(t.Nodes)
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

// cut shortens s to at most n bytes, on a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func (c *checker) report(k IssueKind, n *Node, format string, args ...any) {
	c.reportValue(k, n, nil, format, args...)
}

// reportValue reports an issue about n, which folds to value (nil: the
// issue is not about a folded constant).
func (c *checker) reportValue(k IssueKind, n *Node, value any, format string, args ...any) {
	ev := cut(c.src[n.Pos:min(n.End, len(c.src))], 200)
	val := ""
	if value != nil {
		val = cut(repr(value), 200)
		ev += " = " + val
	}
	msg := fmt.Sprintf(format, args...)
	key := fmt.Sprintf("%d/%d/%s", k, n.Pos, msg)
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.issues = append(c.issues, Issue{Kind: k, Message: msg, Evidence: ev, Value: val, Offset: n.Pos})
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
				c.prefold(n.Children[1])
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
	c.memberName(n, name, false, nil)
}

// memberName checks a name reached as an attribute, or as a subscript (where
// the dictionary keys "system" and "open" are common); value is the folded
// constant the name was built as, or nil for a literal name.
func (c *checker) memberName(n *Node, name string, subscript bool, value any) {
	if msg := judgeMember(name, subscript); msg != "" {
		c.reportValue(Injection, n, value, "%s", msg)
	}
}

// judgeMember says how a member name reaches Python internals, or "".
func judgeMember(name string, subscript bool) string {
	switch {
	case looksDunder(name):
		return "reaches the Python internal attribute " + strings.TrimSpace(name)
	case subscript && (name == "system" || name == "open"):
	case attrInternals[name]:
		return "reaches the Python internal " + name
	}
	return ""
}

// judgeFields says how the replacement fields of s, read as a str.format
// string, reach Python internals: {0.__class__}, {0[__builtins__]},
// {0.__init__.__globals__} reach them as the dotted access would.
func judgeFields(s string) []string {
	if !strings.ContainsRune(s, '{') {
		return nil
	}
	segs, _ := parseFormat(s, 0)
	var out []string
	for _, f := range fields(segs) {
		for _, a := range f.path {
			if msg := judgeMember(a.name, !a.attr); msg != "" {
				out = append(out, fmt.Sprintf("whose field %s %s", cut(f.src, 80), msg))
			}
		}
	}
	return out
}

// judgeBuilt checks a string n folds to: a Python internal name, or a
// format string whose fields reach internals.
func (c *checker) judgeBuilt(n *Node) {
	v, ok := c.fold(n, 0)
	s, isStr := v.(string)
	if !ok || !isStr {
		return
	}
	if looksDunder(s) {
		c.reportValue(Injection, n, s, "builds the Python internal name %s", strings.TrimSpace(s))
	}
	for _, msg := range judgeFields(s) {
		c.reportValue(Injection, n, s, "builds a format string %s", msg)
	}
}

// formatUse checks recv, the receiver of a str.format or str.format_map
// reached as .format, ['format'] or |attr('format'): when it folds to a
// string built from pieces, its fields are judged (a literal one is judged
// as a constant already).
func (c *checker) formatUse(recv *Node, method string) {
	if method != "format" && method != "format_map" || recv == nil || recv.Kind == Const {
		return
	}
	v, ok := c.fold(recv, 0)
	s, isStr := v.(string)
	if !ok || !isStr {
		return
	}
	for _, msg := range judgeFields(s) {
		c.reportValue(Injection, recv, s, "uses as a format string a constant %s", msg)
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
		if n.IsStr {
			for _, msg := range judgeFields(n.Value) {
				c.report(Injection, n, "holds a format string %s", msg)
			}
		}
	case Getattr:
		c.attrName(n, n.Name)
		c.formatUse(n.Children[0], n.Name)
		if x := n.Children[0]; x.Kind == Name && helpers[x.Name] && !c.bound[x.Name] {
			c.report(Suspicious, n, "takes an attribute of the global helper %s", x.Name)
		}
	case Getitem:
		arg := n.Children[1]
		if v, ok := c.fold(arg, 0); ok {
			if s, isStr := v.(string); isStr {
				var shown any
				if arg.Kind != Const || arg.Escaped {
					shown = s
				}
				c.memberName(n, s, true, shown)
				c.formatUse(n.Children[0], s)
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
		c.judgeBuilt(n)
		if x := n.Children[0]; x.Kind == Name && helpers[x.Name] && !c.bound[x.Name] {
			c.report(Suspicious, n, "subscripts the global helper %s", x.Name)
		}
	case Filter:
		c.filter(n)
	case BinOp, Unary, CondExpr:
		c.judgeBuilt(n)
	case Call:
		c.judgeBuilt(n)
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
			if v, ok := c.fold(args[0], 0); ok {
				if s, isStr := v.(string); isStr {
					c.formatUse(n.Children[0], s)
				}
			}
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
	}
	c.judgeBuilt(n)
}

// nameArg checks an attribute name given as an argument.
func (c *checker) nameArg(n, arg *Node, what string) {
	v, ok := c.fold(arg, 0)
	s, isStr := v.(string)
	switch {
	case ok && isStr:
		var shown any
		if arg.Kind != Const || arg.Escaped {
			shown = s
		}
		for _, part := range strings.Split(s, ".") {
			c.memberName(n, part, false, shown)
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
